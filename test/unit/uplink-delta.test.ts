// The pure parts of deltas in the uplink stream: the narinfo a delta path carries, the batch manifest, the
// window, the importer's command and its parameter checks.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  deltaManifest,
  deltaNarinfo,
  deltaWindowLog,
  rebuiltNarName,
} from '../../src/adapters/nix/uplink-delta.ts';
import { IMPORT_SCRIPT, uplinkImportCommand } from '../../src/adapters/nix/uplink-import.ts';
import type { StorePath } from '../../src/core/types.ts';
import { uplinkBatches } from '../../src/core/uplink-batches.ts';
import { uplinkSentText } from '../../src/core/uplink-sent-text.ts';
import { hostLine } from '../../src/verbs/render-run.ts';

const P = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-libssl3-3.0.22' as StorePath;
const BASE = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-libssl3-3.0.17' as StorePath;
const ZSTD = '/nix/store/00000000000000000000000000000000-zstd-1.5.4/bin/zstd';

const NARINFO = [
  `StorePath: ${P}`,
  'URL: nar/1abc.nar.zst',
  'Compression: zstd',
  'FileHash: sha256:1abc',
  'FileSize: 2417713',
  'NarHash: sha256:0xyz',
  'NarSize: 5939200',
  `References: ${BASE.slice(11)}`,
  'Deriver: abc-libssl3.drv',
  'Sig: builder-1:c2lnbmF0dXJl',
  'Sig: other:c2ln',
  '',
].join('\n');

describe('a delta path’s narinfo', () => {
  it('names the NAR the host rebuilds, uncompressed, drops the file’s hash and size, and keeps the rest', () => {
    const out = deltaNarinfo(NARINFO, P);
    const lines = out.trimEnd().split('\n');
    expect(lines).toContain(`URL: ${rebuiltNarName(P)}`);
    expect(rebuiltNarName(P)).toBe('nar/0123456789abcdfghijklmnpqrsvwxyz.nar');
    expect(lines).toContain('Compression: none');
    expect(lines.some((l) => l.startsWith('FileHash') || l.startsWith('FileSize'))).toBe(false);
    for (const kept of NARINFO.split('\n').filter(
      (l) => l !== '' && !/^(URL|Compression|FileHash|FileSize):/.test(l),
    ))
      expect(lines).toContain(kept);
    expect(lines.filter((l) => l.startsWith('Sig: '))).toEqual([
      'Sig: builder-1:c2lnbmF0dXJl',
      'Sig: other:c2ln',
    ]);
    expect(out.endsWith('\n')).toBe(true);
  });

  it('lists each delta of a batch with its base', () => {
    expect(deltaManifest([{ path: P, base: BASE }])).toBe(`0123456789abcdfghijklmnpqrsvwxyz ${BASE}\n`);
    expect(deltaManifest([])).toBe('');
  });

  it('takes a window that reaches over the base and the new NAR, within zstd’s bounds', () => {
    expect(deltaWindowLog(0, 0)).toBe(10);
    expect(deltaWindowLog(5_918_720, 5_939_200)).toBe(24);
    expect(2 ** deltaWindowLog(5_918_720, 5_939_200)).toBeGreaterThanOrEqual(5_918_720 + 5_939_200);
    expect(deltaWindowLog(3 * 2 ** 30, 2 ** 30)).toBe(31);
  });
});

describe('the importer with deltas', () => {
  it('takes the store’s zstd as its third parameter, or - for none', () => {
    expect(uplinkImportCommand({ sudo: false }, 10, 20).slice(3)).toEqual([
      'signage-import',
      '10',
      '20',
      '-',
    ]);
    expect(uplinkImportCommand({ sudo: true }, 10, 20, ZSTD).slice(-4)).toEqual([
      'signage-import',
      '10',
      '20',
      ZSTD,
    ]);
    for (const bad of [
      '/usr/bin/zstd',
      '/nix/store/00000000000000000000000000000000-zstd/bin/zstd; rm -rf /',
      '/nix/store/00000000000000000000000000000000-zstd/../../bin/zstd',
      '/nix/store/short-zstd/bin/zstd',
      '-',
    ])
      expect(() => uplinkImportCommand({ sudo: false }, 1, 1, bad), bad).toThrow(/bin\/zstd/);
  });

  it('is a script sh reads, and refuses a zstd that is no store path’s before reading anything', () => {
    execFileSync('sh', ['-n', '-c', IMPORT_SCRIPT]);
    const refused = (() => {
      try {
        execFileSync('sh', ['-c', IMPORT_SCRIPT, 'signage-import', '1', '1', '/usr/bin/zstd'], {
          input: '',
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        return null;
      } catch (e) {
        return e as { status: number; stderr: Buffer };
      }
    })();
    expect(refused?.status).toBe(64);
    expect(String(refused?.stderr)).toContain("the zstd named is not a store path's bin/zstd");
  });

  it('counts a delta’s temporary space in the batching: delta, base NAR and rebuilt NAR', () => {
    // Two paths of 1 MB each as deltas of 100 kB against bases of 1 MB take 2.1 MB each on the host.
    const b = uplinkBatches(
      [
        { path: P, bytes: 100_000 + 1_000_000 + 1_000_000 },
        { path: BASE, bytes: 100_000 + 1_000_000 + 1_000_000 },
      ],
      3_000_000,
    );
    expect(b.ok && b.batches.length).toBe(2);
  });
});

describe('the uplink’s bytes in words', () => {
  it('says what crossed compressed and how much of it as deltas', () => {
    const MB = 1024 * 1024;
    expect(uplinkSentText({ uplinkBytes: 12 * MB, uplinkSentBytes: 12 * MB })).toBe('');
    expect(uplinkSentText({ uplinkBytes: 12 * MB, uplinkSentBytes: 3 * MB })).toMatch(
      /^ \(3(\.0)? MiB compressed\)$/,
    );
    expect(
      uplinkSentText({
        uplinkBytes: 12 * MB,
        uplinkSentBytes: 3 * MB,
        uplinkDeltaBytes: MB / 2,
        uplinkDeltaPaths: 61,
      }),
    ).toMatch(/^ \(3(\.0)? MiB compressed, 512(\.0)? KiB of it as 61 deltas\)$/);
    expect(
      uplinkSentText({
        uplinkBytes: 12 * MB,
        uplinkSentBytes: 3 * MB,
        uplinkDeltaBytes: 139,
        uplinkDeltaPaths: 1,
      }),
    ).toContain('of it as 1 delta)');
  });
});

describe('a host’s line', () => {
  const MB = 1024 * 1024;
  const plan = {
    totalPaths: 100,
    totalBytes: 20 * MB,
    presentPaths: 40,
    presentBytes: 8 * MB,
    sources: [{ source: 'builder', paths: 60, bytes: 12 * MB }],
    lanBytes: 0,
    uplinkBytes: 12 * MB,
  };
  it('says what plan measured would cross the uplink, and as how many deltas', () => {
    const line = hostLine({
      host: 'a',
      status: 'ok',
      plan: { ...plan, uplinkSentBytes: 3 * MB, uplinkDeltaBytes: MB / 2, uplinkDeltaPaths: 61 },
    });
    expect(line).toMatch(
      /12(\.0)? MiB over the uplink \(3(\.0)? MiB compressed, 512(\.0)? KiB of it as 61 deltas\)/,
    );
    expect(hostLine({ host: 'a', status: 'ok', plan })).toMatch(/12(\.0)? MiB over the uplink$/);
  });
  it('says what the copy sent as deltas', () => {
    const line = hostLine({
      host: 'a',
      status: 'ok',
      copy: {
        bySource: { builder: 12 * MB },
        lanBytes: 0,
        uplinkBytes: 12 * MB,
        uplinkSentBytes: 3 * MB,
        uplinkDeltaBytes: MB / 2,
        uplinkDeltaPaths: 61,
        fellBack: [],
      },
    });
    expect(line).toContain('of it as 61 deltas)');
  });
});
