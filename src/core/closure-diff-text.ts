// How a closure diff reads, the same in a terminal, in Slack and in the restart question: one line per
// package as `nix store diff-closures` prints it (`dolphin: 20.08.1 → 20.08.2, +13.9 KiB`, ∅ for absent,
// ε for an empty version), and a one-line summary. Pure.
import { formatBytes } from './bytes.ts';
import type { ChangeKind, ClosureDiff, DiffOutcome, PackageChange } from './closure-diff.ts';
import { SIZE_THRESHOLD } from './closure-diff.ts';

/** nvd's letters: what happened to a package, at a glance. */
export const KIND_MARK: Readonly<Record<ChangeKind, string>> = {
  upgraded: 'U',
  downgraded: 'D',
  added: 'A',
  removed: 'R',
  changed: 'C',
};

const KIND_ORDER: readonly ChangeKind[] = ['upgraded', 'downgraded', 'added', 'removed', 'changed'];

export function signedBytes(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : n < 0 ? formatBytes(n) : '±0 B';
}

function versions(vs: readonly string[]): string {
  if (vs.length === 0) return '∅';
  return vs.map((v) => (v === '' ? 'ε' : v)).join(', ');
}

/** `chromium: 131.0.6778.85 → 131.0.6778.86, +12 KiB`; the size only when it moved more than Nix's threshold. */
export function changeText(c: PackageChange): string {
  const delta = c.bytesAfter - c.bytesBefore;
  const size = Math.abs(delta) > SIZE_THRESHOLD || c.kind === 'changed' ? signedBytes(delta) : '';
  const moved =
    c.kind === 'changed' && sameList(c.before, c.after) ? '' : `${versions(c.before)} → ${versions(c.after)}`;
  return `${c.name}: ${[moved, size].filter((s) => s !== '').join(', ')}`;
}

/** `2 upgraded, 1 added · 3 rebuilt · 84 MiB → 85 MiB (+1.2 MiB)`. */
export function diffSummary(d: ClosureDiff): string {
  const kinds = KIND_ORDER.filter((k) => d.counts[k] > 0).map((k) => `${d.counts[k]} ${k}`);
  const parts = [kinds.length > 0 ? kinds.join(', ') : 'no package changes'];
  if (d.rebuilt > 0) parts.push(`${d.rebuilt} rebuilt`);
  if (d.from === null) parts.push('no system running yet');
  parts.push(
    `${formatBytes(d.bytesBefore)} → ${formatBytes(d.bytesAfter)} (${signedBytes(d.bytesAfter - d.bytesBefore)})`,
  );
  return parts.join(' · ');
}

/** A one-line account of a diff, or of why there is none. */
export function outcomeSummary(o: DiffOutcome): string {
  return o.known ? diffSummary(o.diff) : `changes unknown: ${o.reason}`;
}

/** The first `n` changes as lines, and how many were left out. */
export function changeLines(d: ClosureDiff, n = Number.POSITIVE_INFINITY): { lines: string[]; more: number } {
  const shown = d.changes.slice(0, n);
  return {
    lines: shown.map((c) => `[${KIND_MARK[c.kind]}] ${changeText(c)}`),
    more: d.changes.length - shown.length,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
