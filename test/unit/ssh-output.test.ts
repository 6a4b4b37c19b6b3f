// How a command's output is handed on and kept: whole lines whatever the chunking, a bounded tail that starts
// on a character boundary, and the wrapper's process-group line taken out of stderr.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputStream } from '../../src/adapters/ssh/output.ts';
import { PgidFilter } from '../../src/adapters/ssh/wrapper.ts';

/** Cuts bytes into chunks at the given positions. */
function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

const text = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('\n', 'é\n', '😀', '\r\n')), {
    maxLength: 30,
  })
  .map((parts) => parts.join(''));

describe('OutputStream', () => {
  it('hands on the same lines however the bytes are chunked, multi-byte characters included', () => {
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 10 }), (s, cuts) => {
        const seen: string[] = [];
        const out = new OutputStream(1 << 20, (l) => seen.push(l));
        for (const c of chunked(Buffer.from(s, 'utf8'), cuts)) out.push(c);
        out.end();
        const expected = s.split('\n');
        if (expected.at(-1) === '') expected.pop();
        expect(seen).toEqual(expected);
        expect(out.text()).toBe(s);
        expect(out.truncated).toBe(false);
      }),
    );
  });

  it('keeps only the last bytes, flags the cut and starts on a whole character', () => {
    fc.assert(
      fc.property(
        text,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 4, max: 64 }),
        (s, cuts, keep) => {
          const out = new OutputStream(keep);
          const bytes = Buffer.from(s, 'utf8');
          for (const c of chunked(bytes, cuts)) out.push(c);
          out.end();
          const kept = out.text();
          expect(out.truncated).toBe(bytes.length > keep);
          expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(keep);
          expect(s.endsWith(kept)).toBe(true);
          // At most one partial character (up to 3 bytes) is given up at the cut.
          expect(Buffer.byteLength(kept)).toBeGreaterThanOrEqual(Math.min(bytes.length, keep) - 3);
        },
      ),
    );
  });

  it('stays bounded in memory while gigabytes pass', () => {
    const out = new OutputStream(1024);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 2000; i++) out.push(chunk);
    out.push(Buffer.from('\nlast line\n'));
    expect(out.total).toBe(2000 * 64 * 1024 + 11);
    expect(out.text().length).toBe(1024);
    expect(out.tail(1)).toBe('last line');
    expect(out.truncated).toBe(true);
  });

  it('hands a last line without a newline on at the end, and survives a listener that throws', () => {
    const seen: string[] = [];
    const out = new OutputStream(1024, (l) => {
      seen.push(l);
      throw new Error('listener bug');
    });
    out.push(Buffer.from('one\ntw'));
    out.push(Buffer.from('o'));
    expect(seen).toEqual(['one']);
    out.end();
    expect(seen).toEqual(['one', 'two']);
  });
});

describe('PgidFilter', () => {
  it('takes out the marker line, keeping what a login shell printed before it and everything after', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 30 }).map((l) => l.replaceAll('\n', '')),
          { maxLength: 3 },
        ),
        text,
        fc.array(fc.nat(), { maxLength: 8 }),
        (before, after, cuts) => {
          const noise = before.map((l) => `${l}\n`).join('');
          const all = Buffer.from(`${noise}signage-pgid 4242\n${after}`, 'utf8');
          const found: number[] = [];
          const f = new PgidFilter((p) => found.push(p));
          const passed = Buffer.concat([...chunked(all, cuts).map((c) => f.push(c)), f.flush()]);
          expect(found).toEqual([4242]);
          expect(f.pgid).toBe(4242);
          expect(passed.toString('utf8')).toBe(`${noise}${after}`);
        },
      ),
    );
  });

  it('removes only the first marker: the command printing one is its own business', () => {
    const f = new PgidFilter();
    const passed = Buffer.concat([f.push(Buffer.from('signage-pgid 1\nsignage-pgid 2\n')), f.flush()]);
    expect(f.pgid).toBe(1);
    expect(passed.toString()).toBe('signage-pgid 2\n');
  });

  it('passes everything through when no marker comes', () => {
    const f = new PgidFilter();
    const passed = Buffer.concat([f.push(Buffer.from('sh: not found\npartial')), f.flush()]);
    expect(f.pgid).toBe(null);
    expect(passed.toString()).toBe('sh: not found\npartial');
  });
});
