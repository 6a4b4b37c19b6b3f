// The choices for the validity question's wire format, in bytes for one question of N paths: what went into
// validity-wire.ts. Computed, not measured on a host: the encodings are deterministic, and the office section
// measures the chosen one on the uplink.
import { randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  PACKED_HASH_BYTES,
  PREFIX_CHARS,
  packedBytes,
  packHashes,
  VALIDITY_SCRIPT,
} from '../src/adapters/ssh/validity-wire.ts';
import { decimalBytes } from './control.ts';

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
// Names of the lengths and kinds a NixOS closure has.
const NAMES = [
  'glibc-2.40-66',
  'python3.12-requests-2.32.3',
  'perl5.40.0-Net-SSLeay-1.94',
  'unit-systemd-journald.service',
  'linux-6.6.51-modules-shrunk',
  'etc-hosts',
  'X-Restart-Triggers-dbus',
  'nixos-system-screen-26.05.20241201.abcdef0',
];

export function wireSizes(n: number): string[][] {
  const hashes = Array.from({ length: n }, () =>
    Array.from({ length: 32 }, () => NIX32[randomInt(32)]).join(''),
  );
  const paths = hashes.map((h, i) => `/nix/store/${h}-${NAMES[i % NAMES.length]}`);
  const names = Buffer.from(`${paths.join('\n')}\n`);
  const text = Buffer.from(`${hashes.join('\n')}\n`);
  const packed = packHashes(hashes);
  const prefixes = packHashes(hashes, PREFIX_CHARS);
  const answer = (bits: string) =>
    gzipSync(Buffer.from(bits), { level: 6 }).toString('base64').length + 65 + 1;
  const bits = (p: number) => Array.from({ length: n }, () => (Math.random() < p ? '1' : '0')).join('');
  return [
    ['question: path names (before)', decimalBytes(names.length)],
    ['question: path names, gzipped', decimalBytes(gzipSync(names).length)],
    ['question: hashes as text', decimalBytes(text.length)],
    ['question: hashes as text, gzipped', decimalBytes(gzipSync(text).length)],
    [`question: hashes packed, ${PACKED_HASH_BYTES} bytes each`, decimalBytes(packed.length)],
    ['question: hashes packed, gzipped', decimalBytes(gzipSync(packed).length)],
    [
      `question: ${PREFIX_CHARS}-digit prefixes packed, ${packedBytes(PREFIX_CHARS)} bytes each (chosen)`,
      decimalBytes(prefixes.length),
    ],
    ['question: prefixes packed, gzipped', decimalBytes(gzipSync(prefixes).length)],
    ['question: the fixed host script, sent with each', decimalBytes(VALIDITY_SCRIPT.length)],
    ['answer before (the invalid names): none held', decimalBytes(names.length)],
    ['answer before: 3 % missing', decimalBytes(Math.round(names.length * 0.03))],
    ['answer: all or none held (digest and gzipped bitmap)', decimalBytes(answer('1'.repeat(n)))],
    ['answer: 97 % held at random', decimalBytes(answer(bits(0.97)))],
    ['answer: half held at random (the worst)', decimalBytes(answer(bits(0.5)))],
  ];
}
