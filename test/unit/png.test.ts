// The screenshot check (src/core/png.ts) against real PNGs and the things a host's command may print instead,
// and the office's PNG encoder and font: what a test reads back is what was drawn.
import { describe, expect, it } from 'vitest';
import { checkPng } from '../../src/core/png.ts';
import { decodePng, encodePng, GLYPHS, readText, renderText } from '../office/png.ts';

const SYSTEM = '4r0vq1fl8nx2vmb6sg9z3hhjcyw5pkda-nixos-system-baard-entrance-24.11';

describe('checkPng', () => {
  const png = encodePng(renderText(SYSTEM));

  it('accepts a PNG and reads its size', () => {
    const image = decodePng(png);
    expect(checkPng(png, 1_000_000)).toEqual({
      ok: true,
      width: image.width,
      height: image.height,
      bytes: png.length,
    });
  });

  it('refuses empty output, text, a PNG cut short and one over the bound, saying which', () => {
    const problem = (bytes: Uint8Array, max = 1_000_000) => {
      const r = checkPng(bytes, max);
      return r.ok ? 'accepted' : r.problem;
    };
    expect(problem(new Uint8Array())).toBe('it printed nothing');
    expect(problem(Buffer.from('grim: failed to create display\n'))).toBe(
      'it printed something that is not a PNG: "grim: failed to create display."',
    );
    expect(problem(png.subarray(0, png.length - 5))).toMatch(/cut short/);
    expect(problem(png.subarray(0, 20))).toMatch(/cut short/);
    expect(problem(png, png.length - 1)).toMatch(/more than \d+ bytes/);
  });
});

describe('the office screenshot', () => {
  it('has one pattern per glyph', () => {
    expect(new Set(Object.values(GLYPHS)).size).toBe(Object.keys(GLYPHS).length);
  });

  it('reads back the text it drew, through a PNG', () => {
    expect(readText(decodePng(encodePng(renderText(SYSTEM))))).toBe(SYSTEM);
    expect(readText(decodePng(encodePng(renderText('no-system'))))).toBe('no-system');
  });

  it('refuses a PNG with a damaged chunk', () => {
    const png = Buffer.from(encodePng(renderText('x')));
    png[40] = (png[40] ?? 0) ^ 0xff;
    expect(() => decodePng(png)).toThrow(/CRC/);
  });
});
