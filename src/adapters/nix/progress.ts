// Reading Nix's `--log-format internal-json` stderr: each line is `@nix {json}` (activities that start, stop
// and report results, and messages), or plain text from something else that writes to the same stderr (ssh,
// or a Nix on the other end of an ssh store). Used for the builder's own copies and builds, and for peer copies
// that run on a target, whose stderr streams back through SSH filtered down to messages and path counts
// (peer-log-filter.ts). Pure: no I/O.
//
// The format has been stable since Nix 2.0 (CppNix and Lix alike): `start` carries `id`, `type`, `text`,
// `fields` (and `parent` in newer versions); `stop` only the `id`; `result` an `id`, a `type` and `fields`;
// `msg` a `level` and `msg` (2.4+ also `raw_msg`, `file`, `line`, `column`, later `trace`). So a `stop` says
// nothing about which path it ends: a reader remembers what each activity was, one reader per copy, since
// activity ids are only unique within one Nix process. A stop is also not a success: a path refused by the
// destination still stops its activity, and the error message follows.
import { z } from 'zod';
import { isStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';

/** Nix's ActivityType numbers (libutil/logging.hh), the ones this project reads. */
export const ACTIVITY = {
  unknown: 0,
  copyPath: 100,
  fileTransfer: 101,
  realise: 102,
  copyPaths: 103,
  builds: 104,
  build: 105,
  substitute: 108,
  queryPathInfo: 109,
} as const;

/** Nix's ResultType numbers. */
export const RESULT = {
  buildLogLine: 101,
  untrustedPath: 102,
  corruptedPath: 103,
  setPhase: 104,
  progress: 105,
  setExpected: 106,
  postBuildLogLine: 107,
} as const;

/** Nix's verbosity levels as used in `msg`: 0 error, 1 warn, 2 notice, 3 info, ... */
export const LEVEL = { error: 0, warn: 1, notice: 2, info: 3 } as const;

const field = z.union([z.string(), z.number()]);
const idSchema = z.number().int().nonnegative();
const entry = z.discriminatedUnion('action', [
  z.looseObject({
    action: z.literal('start'),
    id: idSchema,
    type: z.number().int(),
    level: z.number().int().optional(),
    text: z.string().optional(),
    fields: z.array(field).optional(),
    parent: idSchema.optional(),
  }),
  z.looseObject({ action: z.literal('stop'), id: idSchema }),
  z.looseObject({
    action: z.literal('result'),
    id: idSchema,
    type: z.number().int(),
    fields: z.array(z.union([field, z.null()])).optional(),
  }),
  z.looseObject({ action: z.literal('msg'), level: z.number().int(), msg: z.string() }),
]);

export type NixLogLine =
  | {
      readonly kind: 'start';
      readonly id: number;
      readonly type: number;
      readonly level: number;
      readonly text: string;
      readonly fields: readonly (string | number)[];
      readonly parent: number;
    }
  | { readonly kind: 'stop'; readonly id: number }
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly type: number;
      readonly fields: readonly (string | number | null)[];
    }
  /** A Nix message, colours removed; may span several lines. */
  | { readonly kind: 'msg'; readonly level: number; readonly text: string }
  /** A line that is not `@nix {...}` (or one whose JSON Nix would not have written): kept as text. */
  | { readonly kind: 'text'; readonly text: string };

const PREFIX = '@nix ';

/** Decodes one stderr line; null for a blank line. Never throws. */
export function decodeLogLine(line: string): NixLogLine | null {
  const trimmed = line.replace(/\r$/, '');
  if (trimmed.trim() === '') return null;
  if (!trimmed.startsWith(PREFIX)) return { kind: 'text', text: stripAnsi(trimmed) };
  let json: unknown;
  try {
    json = JSON.parse(trimmed.slice(PREFIX.length));
  } catch {
    return { kind: 'text', text: stripAnsi(trimmed) };
  }
  const parsed = entry.safeParse(json);
  if (!parsed.success) return { kind: 'text', text: stripAnsi(trimmed) };
  const e = parsed.data;
  switch (e.action) {
    case 'start':
      return {
        kind: 'start',
        id: e.id,
        type: e.type,
        level: e.level ?? LEVEL.info,
        text: stripAnsi(e.text ?? ''),
        fields: e.fields ?? [],
        parent: e.parent ?? 0,
      };
    case 'stop':
      return { kind: 'stop', id: e.id };
    case 'result':
      return { kind: 'result', id: e.id, type: e.type, fields: e.fields ?? [] };
    case 'msg':
      return { kind: 'msg', level: e.level, text: stripAnsi(e.msg) };
  }
}

// Built from a character code: a literal escape in a regular expression reads as a mistake to linters.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[ -/]*[@-~]`, 'g');

/** Nix colours its messages even in JSON and when stderr is not a terminal. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

const ERROR_LINE = /^error:\s*(.*)$/;
const NESTED_ERROR_LINE = /^\s+error:\s*(\S.*)$/;

/**
 * Nix's own error message from stderr lines (plain or internal-json): the first `error:` that says
 * something. Newer Nix prints `error:` alone, then a trace, then the cause indented as `error: ...`; the
 * cause is what a user needs. Null when there is none.
 */
export function firstNixError(lines: readonly string[]): string | null {
  const texts: string[] = [];
  for (const line of lines) {
    const decoded = decodeLogLine(line);
    if (decoded === null) continue;
    if (decoded.kind === 'msg' && decoded.level === LEVEL.error) texts.push(...decoded.text.split('\n'));
    else if (decoded.kind === 'text') texts.push(decoded.text);
  }
  return pickError(texts);
}

/** The message of one (possibly multi-line) error text, by the same rule as `firstNixError`. */
export function errorMessage(text: string): string {
  const lines = stripAnsi(text).split('\n');
  if (!ERROR_LINE.test(lines[0] ?? '')) lines[0] = `error: ${lines[0] ?? ''}`;
  return pickError(lines) ?? text.trim();
}

function pickError(texts: readonly string[]): string | null {
  let pending = false;
  let fallback: string | null = null;
  for (const text of texts) {
    const top = ERROR_LINE.exec(text);
    if (top) {
      const message = top[1]!.trim();
      if (message !== '') return message;
      pending = true;
      continue;
    }
    if (!pending) continue;
    const nested = NESTED_ERROR_LINE.exec(text);
    if (nested) return nested[1]!.trim();
    const cont = text.trim().replace(/^…\s*/, '');
    if (fallback === null && cont !== '') fallback = cont;
  }
  return fallback;
}

// ---- copies ------------------------------------------------------------------------------------------------

export type CopyEvent =
  /** `copying N paths`: how many paths this copy moves (Nix counts what the destination lacks). */
  | { readonly kind: 'copying'; readonly paths: number }
  | { readonly kind: 'path-started'; readonly path: StorePath; readonly from: string; readonly to: string }
  /** Bytes of one path so far (Nix versions that report it; 2.8 does not). */
  | {
      readonly kind: 'path-progress';
      readonly path: StorePath;
      readonly done: number;
      readonly expected: number;
    }
  | { readonly kind: 'path-done'; readonly path: StorePath }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'warning'; readonly message: string }
  /** Plain text on stderr, e.g. from ssh. */
  | { readonly kind: 'text'; readonly message: string };

export interface CopyProgressSnapshot {
  /** Paths whose copy activity ended (all of them, once the copy exits 0). */
  readonly pathsDone: number;
  /** From `copying N paths`; null until Nix says it. */
  readonly pathsTotal: number | null;
  readonly bytesDone: number;
  /** What the caller expects to move, or what Nix announces; null when neither is known. */
  readonly bytesTotal: number | null;
  readonly running: readonly StorePath[];
  readonly errors: readonly string[];
}

export interface CopyLogReaderOptions {
  /** narSize by path: what a finished path adds to the bytes done (2.8 reports no byte counts). */
  readonly sizes?: ReadonlyMap<StorePath, number>;
  /** Bytes the copy is expected to move (e.g. the planned paths' narSizes), when the caller knows. */
  readonly totalBytes?: number;
}

const COPYING_PATHS = /^copying (\d+) paths?/;

/** One reader per copy: it remembers which activity copies which path. */
export class CopyLogReader {
  private readonly sizes: ReadonlyMap<StorePath, number>;
  private readonly givenTotal: number | null;
  private readonly activities = new Map<number, StorePath>();
  private readonly copyPathsIds = new Set<number>();
  private readonly inFlight = new Map<StorePath, number>();
  private readonly done = new Set<StorePath>();
  private readonly errorList: string[] = [];
  private doneBytes = 0;
  private pathsTotal: number | null = null;
  private announcedBytes: number | null = null;
  /** Paths done by Nix's own count on the copyPaths activity (all a filtered peer copy's log says). */
  private counted = 0;

  constructor(opts: CopyLogReaderOptions = {}) {
    this.sizes = opts.sizes ?? new Map();
    this.givenTotal = opts.totalBytes ?? null;
  }

  /** Feeds one stderr line; returns what it meant (often nothing). */
  feed(line: string): CopyEvent[] {
    const d = decodeLogLine(line);
    if (d === null) return [];
    switch (d.kind) {
      case 'start':
        return this.onStart(d.id, d.type, d.text, d.fields);
      case 'stop':
        return this.onStop(d.id);
      case 'result':
        return this.onResult(d.id, d.type, d.fields);
      case 'msg':
        if (d.level === LEVEL.error) {
          const message = errorMessage(d.text);
          this.errorList.push(message);
          return [{ kind: 'error', message }];
        }
        return d.level === LEVEL.warn
          ? [{ kind: 'warning', message: d.text.replace(/^warning:\s*/, '') }]
          : [];
      case 'text': {
        const top = ERROR_LINE.exec(d.text);
        return [{ kind: 'text', message: top ? `error: ${top[1]}` : d.text }];
      }
    }
  }

  snapshot(): CopyProgressSnapshot {
    let running = 0;
    for (const bytes of this.inFlight.values()) running += bytes;
    return {
      pathsDone: Math.max(this.done.size, this.counted),
      pathsTotal: this.pathsTotal,
      bytesDone: this.doneBytes + running,
      bytesTotal: this.givenTotal ?? this.announcedBytes,
      running: [...this.activities.values()],
      errors: [...this.errorList],
    };
  }

  private onStart(id: number, type: number, text: string, fields: readonly (string | number)[]): CopyEvent[] {
    if (type === ACTIVITY.copyPaths) {
      this.copyPathsIds.add(id);
      const m = COPYING_PATHS.exec(text);
      if (!m) return [];
      this.pathsTotal = (this.pathsTotal ?? 0) + Number(m[1]);
      return [{ kind: 'copying', paths: Number(m[1]) }];
    }
    if (type !== ACTIVITY.copyPath) return [];
    const [path, from, to] = fields;
    if (typeof path !== 'string' || !isStorePath(path)) return [];
    this.activities.set(id, path);
    this.inFlight.set(path, 0);
    return [{ kind: 'path-started', path, from: String(from ?? ''), to: String(to ?? '') }];
  }

  private onStop(id: number): CopyEvent[] {
    const path = this.activities.get(id);
    if (path === undefined) return [];
    this.activities.delete(id);
    const seen = this.inFlight.get(path) ?? 0;
    this.inFlight.delete(path);
    if (this.done.has(path)) return [];
    this.done.add(path);
    this.doneBytes += this.sizes.get(path) ?? seen;
    return [{ kind: 'path-done', path }];
  }

  private onResult(id: number, type: number, fields: readonly (string | number | null)[]): CopyEvent[] {
    if (type === RESULT.progress && this.copyPathsIds.has(id)) {
      const [done] = fields;
      if (typeof done === 'number' && Number.isSafeInteger(done)) this.counted = Math.max(this.counted, done);
      return [];
    }
    if (type === RESULT.progress) {
      const path = this.activities.get(id);
      const [done, expected] = fields;
      if (path === undefined || typeof done !== 'number') return [];
      this.inFlight.set(path, done);
      return [{ kind: 'path-progress', path, done, expected: typeof expected === 'number' ? expected : 0 }];
    }
    // `setExpected(copyPath, bytes)` on the copyPaths activity: newer Nix announces the bytes it will move.
    if (type === RESULT.setExpected && this.copyPathsIds.has(id)) {
      const [what, bytes] = fields;
      if (what === ACTIVITY.copyPath && typeof bytes === 'number' && bytes > 0) this.announcedBytes = bytes;
    }
    return [];
  }
}

export interface CopyLineReport {
  readonly started?: StorePath;
  readonly done?: StorePath;
  /** Paths finished since the last count, from a count on the copyPaths activity (a filtered peer copy's log). */
  readonly copied?: number;
  readonly error?: string;
}

/**
 * A line-at-a-time reader for one copy, for callers that only want "path done" and errors: remembers which
 * activity copies which path (at most `maxActivities`, oldest forgotten first) and reports each stop as done.
 * A copy whose log names no path (peer-log-filter.ts) reports counts instead: progress results on the
 * `copying N paths` activity, read as the paths finished since the last one.
 */
export function copyLineReader(maxActivities = 20_000): (line: string) => CopyLineReport | null {
  const activities = new Map<number, StorePath>();
  const counted = new Map<number, number>();
  return (line) => {
    const d = decodeLogLine(line);
    if (d === null) return null;
    if (d.kind === 'start' && d.type === ACTIVITY.copyPaths && COPYING_PATHS.test(d.text)) {
      counted.set(d.id, 0);
      return null;
    }
    if (d.kind === 'result' && d.type === RESULT.progress && counted.has(d.id)) {
      const done = d.fields[0];
      const before = counted.get(d.id)!;
      if (typeof done !== 'number' || !Number.isSafeInteger(done) || done <= before) return null;
      counted.set(d.id, done);
      return { copied: done - before };
    }
    if (d.kind === 'start' && d.type === ACTIVITY.copyPath) {
      const path = d.fields[0];
      if (typeof path !== 'string' || !isStorePath(path)) return null;
      activities.set(d.id, path);
      if (activities.size > maxActivities) activities.delete(activities.keys().next().value!);
      return { started: path };
    }
    if (d.kind === 'stop') {
      const path = activities.get(d.id);
      if (path === undefined) return null;
      activities.delete(d.id);
      return { done: path };
    }
    if (d.kind === 'msg' && d.level === LEVEL.error) return { error: errorMessage(d.text) };
    return null;
  };
}
