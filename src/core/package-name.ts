// A store path's name as a package: `coreutils-9.5-man` is coreutils, version 9.5, output man. Nix itself
// splits names this way for `nix store diff-closures` and `nix-env` (DrvName: the version starts at the first
// `-` not followed by a letter), and orders versions with compareVersions; both are repeated here so the
// bot's closure diff reads the way Nix users know. Pure, no I/O.

export interface PackageId {
  /** `python3`, `linux`, `nixos-system-baard-entrance`, `system-path`. */
  readonly name: string;
  /** `3.12.4`, `unstable-2024-01-01`; empty when the name carries none (`etc`). */
  readonly version: string;
  /** A non-default output (`man`, `dev`, `lib`, ...); empty for the default one. */
  readonly output: string;
}

/**
 * Output names nixpkgs uses, plus `modules` (a kernel's modules: a package of their own, read as one with the
 * kernel). Nix's diff-closures takes any trailing lowercase word for an output, which turns `system-path` into
 * `system` and `linux-6.6.51-rpi` into version 6.6.51 of an output `rpi`; only known names are outputs here.
 */
const OUTPUTS = new Set([
  'bin',
  'data',
  'debug',
  'dev',
  'devdoc',
  'doc',
  'info',
  'lib',
  'lib32',
  'lib64',
  'man',
  'modules',
  'out',
  'py',
  'static',
  'terminfo',
]);

/** Splits a store path's name (the part after `<hash>-`) into package name, version and output. */
export function packageId(storeName: string): PackageId {
  let rest = storeName.endsWith('.drv') ? storeName.slice(0, -'.drv'.length) : storeName;
  let output = '';
  const dash = rest.lastIndexOf('-');
  if (dash > 0 && OUTPUTS.has(rest.slice(dash + 1))) {
    output = rest.slice(dash + 1);
    rest = rest.slice(0, dash);
  }
  let { name, version } = splitVersion(rest);
  // `foo-unstable-2024-01-01` is foo at an unstable snapshot (nixpkgs' older convention; the newer
  // `foo-0-unstable-2024-01-01` splits by itself): the word belongs to the version.
  if (version !== '' && name.endsWith('-unstable') && name.length > '-unstable'.length) {
    name = name.slice(0, -'-unstable'.length);
    version = `unstable-${version}`;
  }
  return { name, version, output };
}

/** Nix's DrvName: the version starts after the first `-` followed by anything but a letter. */
function splitVersion(s: string): { name: string; version: string } {
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] === '-' && !isLetter(s[i + 1]!)) return { name: s.slice(0, i), version: s.slice(i + 1) };
  }
  return { name: s, version: '' };
}

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** The components of a version as Nix reads them: runs of digits, or runs of anything but digits, `.` and `-`. */
export function versionComponents(v: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < v.length) {
    while (i < v.length && (v[i] === '.' || v[i] === '-')) i++;
    if (i >= v.length) break;
    const start = i;
    if (isDigit(v[i]!)) while (i < v.length && isDigit(v[i]!)) i++;
    else while (i < v.length && !isDigit(v[i]!) && v[i] !== '.' && v[i] !== '-') i++;
    parts.push(v.slice(start, i));
  }
  return parts;
}

/** Numeric comparison of digit runs of any length (a date stamp overflows no integer here). */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=.)/, '');
  const y = b.replace(/^0+(?=.)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Nix's componentsLT: numbers by value, `pre` before anything, a missing part before a number, `2.3a` < `2.3.1`. */
function componentLess(c1: string, c2: string): boolean {
  const n1 = c1 !== '' && isDigit(c1[0]!);
  const n2 = c2 !== '' && isDigit(c2[0]!);
  if (n1 && n2) return compareDigits(c1, c2) < 0;
  if (c1 === '' && n2) return true;
  if (c1 === 'pre' && c2 !== 'pre') return true;
  if (c2 === 'pre') return false;
  if (n2) return true;
  if (n1) return false;
  return c1 < c2;
}

/** Nix's compareVersions: -1, 0 or 1. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = versionComponents(a);
  const y = versionComponents(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const c1 = x[i] ?? '';
    const c2 = y[i] ?? '';
    if (componentLess(c1, c2)) return -1;
    if (componentLess(c2, c1)) return 1;
  }
  return 0;
}
