// Configuration errors as data: each problem names the field path, says why, and gives the line when the
// field is in the file. All problems are reported at once, so one edit fixes them all.
import type { z } from 'zod';
import { show } from './show.ts';

export interface ConfigProblem {
  /** Dotted field path, `[i]` for list items: `hosts.baard-entrance.port`, `defaults.tags[1]`; '' for the file. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
}

export interface ConfigFailure {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];
}

export type ConfigResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ConfigFailure };

export type PathSegment = string | number;

export function pathText(path: readonly PathSegment[]): string {
  let text = '';
  for (const seg of path) text += typeof seg === 'number' ? `[${seg}]` : text === '' ? seg : `.${seg}`;
  return text;
}

/** `hosts.baard-entrance.port: expected an integer from 1 to 65535, got "x"` */
export function problemText(problem: ConfigProblem): string {
  return problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;
}

/** One line per problem, each prefixed `FILE:LINE:` (or `FILE:`) the way editors and compilers do. */
export function formatConfigError(error: ConfigFailure): string {
  const lines = error.problems.map(
    (p) => `${error.file}${p.line === undefined ? '' : `:${p.line}`}: ${problemText(p)}`,
  );
  if (lines.length === 1) return lines[0]!;
  return [
    `${error.file}: ${lines.length} problems in the configuration:`,
    ...lines.map((l) => `  ${l}`),
  ].join('\n');
}

export function failure<T>(file: string, problems: readonly ConfigProblem[]): ConfigResult<T> {
  return { ok: false, error: { file, problems: sortByLine(problems) } };
}

function sortByLine(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) => (a.p.line ?? Number.MAX_SAFE_INTEGER) - (b.p.line ?? Number.MAX_SAFE_INTEGER) || a.i - b.i,
    )
    .map(({ p }) => p);
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Messages for the issues a field's own schema leaves to the parse (types of lists and mappings, enums). */
export function defaultMessage(iss: z.core.$ZodRawIssue): string {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'required';
    return `expected ${ARTICLE[iss.expected] ?? iss.expected}, got ${show(iss.input)}`;
  }
  if (iss.code === 'invalid_value') {
    return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${show(iss.input)}`;
  }
  return `not valid: got ${show(iss.input)}`;
}

export interface RawProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/** Zod's issues as problems: an unknown field becomes one problem per field, listing the known ones. */
export function issueProblems(issues: readonly z.core.$ZodIssue[]): RawProblem[] {
  const out: RawProblem[] = [];
  for (const iss of issues) {
    const path = iss.path.filter((s): s is PathSegment => typeof s === 'string' || typeof s === 'number');
    if (iss.code === 'unrecognized_keys') {
      const known = iss.message.split(', ').filter((k) => k !== '');
      for (const key of iss.keys) out.push({ path: [...path, key], message: unknownField(key, known) });
    } else if (iss.code === 'invalid_key') {
      for (const inner of iss.issues) out.push({ path, message: inner.message });
    } else {
      out.push({ path, message: iss.message });
    }
  }
  return out;
}

function unknownField(key: string, known: readonly string[]): string {
  // The nearest: other capitals, a field's beginning (`signingKey`), then within two edits, closest first.
  const near =
    known.find((k) => k.toLowerCase() === key.toLowerCase()) ??
    known.find((k) => key.length >= 4 && k.toLowerCase().startsWith(key.toLowerCase())) ??
    known
      .map((k) => ({ k, d: editDistance(k, key) }))
      .filter((x) => x.d <= 2)
      .sort((a, b) => a.d - b.d)[0]?.k;
  return `unknown field${near ? `; did you mean ${near}?` : ''} (known fields here: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
