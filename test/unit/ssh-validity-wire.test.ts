// The validity question's encoding and the reading of its answer, without a host: hashes and their 8-digit
// prefixes packed 5 bits a digit and back, and every way an answer can be wrong refused with a reason (never read as "not held").
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  baseNameOf,
  decodeAnswer,
  hashOf,
  namesDigest,
  PACKED_HASH_BYTES,
  PREFIX_CHARS,
  packedBytes,
  packHashes,
  unpackHashes,
  VALIDITY_SCRIPT,
} from '../../src/adapters/ssh/validity-wire.ts';

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
const hashArb = fc
  .array(fc.integer({ min: 0, max: 31 }), { minLength: 32, maxLength: 32 })
  .map((ds) => ds.map((d) => NIX32[d]).join(''));

/** What a well-behaved host prints for these names and bits. */
function answer(names: readonly string[], bits: string): string {
  const held = names.filter((_, i) => bits[i] === '1');
  const digest = createHash('sha256')
    .update(held.map((n) => `${n}\n`).join(''))
    .digest('hex');
  return `${digest}\n${gzipSync(Buffer.from(bits)).toString('base64')}\n`;
}

const NAMES = [
  '0c7c3a4dg0dx3vs3rdmvg8wjbw4khbl0-glibc-2.40-66',
  '1f2pmm7r8xv53nds6qglkl3xc3q5cdcv-zlib-1.3.1',
  '9yz5wl7vy0z5l6kvk6q0crzcnb8jx6ai-nixos-system-a-26.05',
];

describe('packing store path hashes', () => {
  it('puts each digit in 5 bits, most significant first, 20 bytes a hash', () => {
    expect([...packHashes(['0'.repeat(32)])]).toEqual(Array(20).fill(0));
    expect([...packHashes(['z'.repeat(32)])]).toEqual(Array(20).fill(255));
    // 1 is 00001: the first byte is 00001000.
    expect(packHashes([`1${'0'.repeat(31)}`])[0]).toBe(0b00001000);
    // 8 digits are 40 bits, 5 bytes: 0123 4567 in 5 bits each.
    expect([...packHashes([`01234567${'0'.repeat(24)}`]).slice(0, 5)]).toEqual([
      0b00000000, 0b01000100, 0b00110010, 0b00010100, 0b11000111,
    ]);
    expect(packHashes(NAMES.map((n) => n.slice(0, 32)))).toHaveLength(3 * PACKED_HASH_BYTES);
  });

  it('unpacks to the same hashes in the same order, for any hashes', () => {
    fc.assert(
      fc.property(fc.array(hashArb, { maxLength: 50 }), (hashes) => {
        expect(unpackHashes(packHashes(hashes))).toEqual(hashes);
      }),
    );
  });

  it('refuses what is not a 32-digit Nix base32 hash', () => {
    expect(() => packHashes(['0'.repeat(31)])).toThrow(/32-digit/);
    // e, o, t and u are not Nix base32 digits.
    expect(() => packHashes([`e${'0'.repeat(31)}`])).toThrow(/not a Nix base32 digit/);
  });

  it('sends 8-digit prefixes as 5 bytes a path, the first 5 bytes of the whole hash packed', () => {
    expect(PREFIX_CHARS).toBe(8);
    expect(packedBytes(PREFIX_CHARS)).toBe(5);
    expect(packedBytes(32)).toBe(PACKED_HASH_BYTES);
    const hash = `01234567${'z'.repeat(24)}`;
    expect([...packHashes([hash], PREFIX_CHARS)]).toEqual([
      0b00000000, 0b01000100, 0b00110010, 0b00010100, 0b11000111,
    ]);
    // 2,000 paths: 10 kB, a quarter of the whole hashes' 40 kB.
    const many = Array.from({ length: 2000 }, () => hash);
    expect(packHashes(many, PREFIX_CHARS)).toHaveLength(10_000);
    expect(packHashes(many)).toHaveLength(40_000);
  });

  it('unpacks prefixes to the first 8 digits of each hash, in order, for any hashes', () => {
    fc.assert(
      fc.property(fc.array(hashArb, { maxLength: 50 }), (hashes) => {
        const packed = packHashes(hashes, PREFIX_CHARS);
        expect(packed).toHaveLength(hashes.length * 5);
        expect(unpackHashes(packed, PREFIX_CHARS)).toEqual(hashes.map((h) => h.slice(0, 8)));
        // A prefix's bytes are the whole hash's first five.
        hashes.forEach((h, i) => {
          expect([...packed.slice(i * 5, i * 5 + 5)]).toEqual([...packHashes([h]).slice(0, 5)]);
        });
      }),
    );
  });

  it('checks the whole hash even when it sends only a prefix', () => {
    expect(() => packHashes([`${'0'.repeat(31)}e`], PREFIX_CHARS)).toThrow(/not a Nix base32 digit/);
    expect(() => packHashes(['0'.repeat(8)], PREFIX_CHARS)).toThrow(/32-digit/);
    expect(() => unpackHashes(new Uint8Array(7), PREFIX_CHARS)).toThrow(/no whole hash count/);
  });

  it('runs a host script that takes only 8 or 32 digits a hash, as its one argument', () => {
    expect(VALIDITY_SCRIPT).toContain('case $1 in 8|32) d=$1 ;; *)');
    expect(VALIDITY_SCRIPT).toContain('base32 -w "$d"');
    expect(VALIDITY_SCRIPT).toContain('cut -c1-"$d"');
  });

  it('takes the hash and the base name of a store path', () => {
    const p = `/nix/store/${NAMES[0]}`;
    expect(hashOf(p)).toBe('0c7c3a4dg0dx3vs3rdmvg8wjbw4khbl0');
    expect(baseNameOf(p)).toBe(NAMES[0]);
  });
});

describe('reading the answer', () => {
  it('reads one bit a path in the order asked', () => {
    expect(decodeAnswer(answer(NAMES, '101'), NAMES)).toEqual({ ok: true, held: [true, false, true] });
    expect(decodeAnswer(answer(NAMES, '000'), NAMES)).toEqual({ ok: true, held: [false, false, false] });
    expect(namesDigest([])).toBe(createHash('sha256').update('').digest('hex'));
  });

  it('refuses too few or too many bits', () => {
    expect(decodeAnswer(answer(NAMES.slice(0, 2), '10'), NAMES)).toMatchObject({
      ok: false,
      error: '2 answers for 3 paths asked',
    });
    const more = answer([...NAMES, 'x'], '1011');
    expect(decodeAnswer(more, NAMES)).toMatchObject({ ok: false });
    // A bitmap far longer than asked is cut off while unzipping rather than read whole.
    const huge = `${namesDigest([])}\n${gzipSync(Buffer.alloc(10_000_000, '0')).toString('base64')}\n`;
    expect(decodeAnswer(huge, NAMES)).toMatchObject({ ok: false, error: /does not unzip/ });
  });

  it('refuses garbage: no digest, not base64, not gzip, other digits, extra lines, nothing', () => {
    const good = answer(NAMES, '110').split('\n');
    const cases = [
      '',
      '\n',
      good[1]!,
      `not a digest\n${good[1]}\n`,
      `${good[0]}\nnot base64!\n`,
      `${good[0]}\n${Buffer.from('110').toString('base64')}\n`,
      `${good[0]}\n${gzipSync(Buffer.from('1x0')).toString('base64')}\n`,
      `${good[0]}\n${good[1]}\nmore\n`,
      'error: cannot open the store\n',
    ];
    for (const stdout of cases) {
      const d = decodeAnswer(stdout, NAMES);
      expect(d.ok, JSON.stringify(stdout)).toBe(false);
    }
  });

  it('refuses an answer whose held names are not the ones asked (a hash held under another name)', () => {
    const asked = [...NAMES.slice(0, 2), '9yz5wl7vy0z5l6kvk6q0crzcnb8jx6ai-something-else'];
    expect(decodeAnswer(answer(NAMES, '101'), asked)).toMatchObject({ ok: false, error: /another name/ });
    // A bit flipped without its digest following is caught too.
    const [digest, bitmap] = answer(NAMES, '101').split('\n');
    const flipped = `${digest}\n${answer(NAMES, '100').split('\n')[1]}\n`;
    expect(bitmap).not.toBe(flipped.split('\n')[1]);
    expect(decodeAnswer(flipped, NAMES)).toMatchObject({ ok: false, error: /another name/ });
  });

  it('says when only the digest disagrees (a prefix shared with another held path), so the bot asks again', () => {
    // Asked by prefix for a path the host lacks; it holds another under the same 8 digits and lists that.
    const lacking = `0c7c3a4d${'0'.repeat(24)}-glibc-2.40-66`;
    const asked = [lacking, ...NAMES.slice(1)];
    const held = [NAMES[0]!, NAMES[1]!];
    const digest = createHash('sha256')
      .update(held.map((n) => `${n}\n`).join(''))
      .digest('hex');
    const collided = `${digest}\n${gzipSync(Buffer.from('110')).toString('base64')}\n`;
    expect(decodeAnswer(collided, asked)).toMatchObject({ ok: false, digestMismatch: true });
    // The same prefix held twice: both names in the digest, still never "held".
    const both = createHash('sha256').update(`${lacking}\n${NAMES[0]}\n${NAMES[1]}\n`).digest('hex');
    expect(
      decodeAnswer(`${both}\n${gzipSync(Buffer.from('110')).toString('base64')}\n`, asked),
    ).toMatchObject({ ok: false, digestMismatch: true });
    // Any other fault is no reason to ask again.
    const short = decodeAnswer(answer(NAMES.slice(0, 2), '11'), NAMES);
    expect(short.ok).toBe(false);
    expect(short).not.toHaveProperty('digestMismatch');
  });
});
