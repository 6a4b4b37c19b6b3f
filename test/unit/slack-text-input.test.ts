import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRequestText, MAX_REQUEST_CHARS } from '../../src/slack/text-input.ts';

describe('checkRequestText', () => {
  it('accepts ordinary requests, trimmed', () => {
    expect(checkRequestText('  deploy baard-entrance --dry-run ')).toEqual({
      ok: true,
      text: 'deploy baard-entrance --dry-run',
    });
    expect(checkRequestText('status @lobby, ålesund-1')).toEqual({
      ok: true,
      text: 'status @lobby, ålesund-1',
    });
    expect(checkRequestText('')).toEqual({ ok: true, text: '' });
  });

  it('reads tabs and line breaks as spaces', () => {
    expect(checkRequestText('deploy\tlobby-1\nlobby-2\r\nlobby-3')).toEqual({
      ok: true,
      text: 'deploy lobby-1 lobby-2  lobby-3',
    });
  });

  it('refuses more than 1,000 characters, counting characters rather than UTF-16 units', () => {
    expect(checkRequestText('x'.repeat(MAX_REQUEST_CHARS)).ok).toBe(true);
    expect(checkRequestText('😀'.repeat(MAX_REQUEST_CHARS)).ok).toBe(true);
    const refused = checkRequestText('x'.repeat(MAX_REQUEST_CHARS + 1));
    expect(refused).toEqual({
      ok: false,
      reason: 'The request is 1001 characters long; at most 1000 are accepted.',
    });
  });

  it('names the code point and position of a control or bidirectional character', () => {
    expect(checkRequestText('status a\u0007b')).toEqual({
      ok: false,
      reason:
        'The request contains U+0007 (a control character) at position 9; retype it without that character.',
    });
    expect(checkRequestText('deploy baard\u202Eecnartne')).toMatchObject({
      ok: false,
      reason: expect.stringContaining(
        'U+202E (RIGHT-TO-LEFT OVERRIDE, a bidirectional formatting character) at position 13',
      ),
    });
    expect(checkRequestText('x\u2066y').ok).toBe(false);
    expect(checkRequestText('x\u009by').ok).toBe(false);
    expect(checkRequestText('x\u007fy').ok).toBe(false);
    // Positions count characters: the emoji before is one.
    expect(checkRequestText('😀\u200f')).toMatchObject({ reason: expect.stringContaining('at position 2') });
  });

  it('refuses a lone surrogate', () => {
    expect(checkRequestText('a\ud800b')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('U+D800'),
    });
  });

  it('lets nothing through that contains a forbidden character', () => {
    const forbidden = fc.oneof(
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0x0e, max: 0x1f }),
      fc.constantFrom(0x7f, 0x9b, 0x202e, 0x2066, 0x200e, 0x061c),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), forbidden, fc.string({ maxLength: 50 }), (a, cp, b) => {
        const result = checkRequestText(`${a}${String.fromCodePoint(cp)}${b}`);
        expect(result.ok).toBe(false);
      }),
    );
  });
});
