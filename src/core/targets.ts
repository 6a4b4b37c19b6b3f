// Which hosts a command is about: host names, `@tag` for every host with that tag, or `all`. An unknown name
// is an error that suggests the nearest names and lists the valid ones, so a typo costs one more message.
import type { HostSpec } from './types.ts';

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

export function resolveTargets(selectors: readonly string[], hosts: readonly HostSpec[]): HostSpec[] {
  if (selectors.length === 0) throw new TargetError('name a host, @tag or all');
  const chosen = new Map<string, HostSpec>();
  for (const sel of selectors) {
    for (const h of select(sel, hosts)) chosen.set(h.name, h);
  }
  // Configuration order, not typing order: the same request always runs the same way.
  return hosts.filter((h) => chosen.has(h.name));
}

function select(sel: string, hosts: readonly HostSpec[]): readonly HostSpec[] {
  if (sel === 'all') return hosts;
  if (sel.startsWith('@')) {
    const tag = sel.slice(1);
    const tagged = hosts.filter((h) => h.tags.includes(tag));
    if (tagged.length > 0) return tagged;
    const tags = [...new Set(hosts.flatMap((h) => h.tags))].sort();
    const meant = tag === 'all' ? ' (every host is `all`, without @)' : hint(tag, tags, '@');
    throw new TargetError(
      `no host has the tag ${tag}${meant}; tags: ${tags.length ? tags.map((t) => `@${t}`).join(', ') : '(none)'}`,
    );
  }
  const host = hosts.find((h) => h.name === sel);
  if (host) return [host];
  const names = hosts.map((h) => h.name);
  throw new TargetError(`unknown host ${sel}${hint(sel, names, '')}; hosts: ${names.join(', ') || '(none)'}`);
}

function hint(word: string, candidates: readonly string[], prefix: string): string {
  const near = nearest(word, candidates);
  return near.length > 0 ? ` (did you mean ${near.map((n) => prefix + n).join(' or ')}?)` : '';
}

/** Candidates within a small edit distance, or sharing the typed prefix, closest first. */
export function nearest(word: string, candidates: readonly string[], max = 3): string[] {
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return candidates
    .map((c) => ({
      c,
      d:
        c.startsWith(word) && word.length >= 3
          ? 0.5
          : c.toLowerCase() === word.toLowerCase()
            ? 0.25
            : distance(word, c),
    }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, max)
    .map((x) => x.c);
}

/** Levenshtein distance, with the two-row table. */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}
