// Store paths are the one kind of input that reaches host commands as arguments (`nix copy ... ROOTS`), so
// they are checked strictly here, against the shape Nix itself accepts, before anything else sees them.
import type { StorePath } from './types.ts';

export const STORE_DIR = '/nix/store';

/** Nix refuses store path names longer than this. */
export const MAX_NAME_LENGTH = 211;

const HASH_LENGTH = 32;
// Nix's base32 leaves out e, o, t and u.
const HASH_RE = /^[0-9a-df-np-sv-z]{32}$/;
const NAME_CHAR_RE = /^[A-Za-z0-9+\-._?=]$/;
const NAME_RE = /^[A-Za-z0-9+\-._?=]+$/;
const PREFIX = `${STORE_DIR}/`;
// Every rule below in one expression: most paths are valid, and a closure has tens of thousands of them, so
// they pass in one test; only a path that fails it goes through the checks that say what is wrong.
const VALID_RE = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-(?!\.)[A-Za-z0-9+\-._?=]{1,211}$/;

export type ParsedStorePath =
  | { readonly ok: true; readonly path: StorePath; readonly hash: string; readonly name: string }
  | { readonly ok: false; readonly error: string };

export class StorePathError extends Error {
  override name = 'StorePathError';
}

export function parseStorePath(s: unknown): ParsedStorePath {
  if (typeof s !== 'string') return fail(`a store path must be a string, not ${typeof s}`);
  if (VALID_RE.test(s)) {
    return {
      ok: true,
      path: s,
      hash: s.slice(PREFIX.length, PREFIX.length + HASH_LENGTH),
      name: s.slice(PREFIX.length + HASH_LENGTH + 1),
    };
  }
  if (!s.startsWith(PREFIX)) return fail(`${show(s)} is not in ${STORE_DIR}`);
  const base = s.slice(PREFIX.length);
  const slash = base.indexOf('/');
  if (slash !== -1) {
    return fail(
      `${show(s)} is a path inside a store path, not a store path (drop ${show(base.slice(slash))})`,
    );
  }
  const hash = base.slice(0, HASH_LENGTH);
  if (!HASH_RE.test(hash)) {
    return fail(`${show(s)} does not start with a ${HASH_LENGTH}-character Nix base32 hash after ${PREFIX}`);
  }
  if (base[HASH_LENGTH] !== '-') return fail(`${show(s)} lacks the '-' between hash and name`);
  const name = base.slice(HASH_LENGTH + 1);
  if (name.length === 0) return fail(`${show(s)} has an empty name`);
  if (name.length > MAX_NAME_LENGTH) {
    return fail(`${show(s)} has a name of ${name.length} characters (at most ${MAX_NAME_LENGTH})`);
  }
  if (name.startsWith('.')) return fail(`${show(s)} has a name starting with '.'`);
  if (!NAME_RE.test(name)) {
    const bad = [...name].find((c) => !NAME_CHAR_RE.test(c)) ?? '';
    return fail(`${show(s)} has ${JSON.stringify(bad)} in its name (allowed: A-Z a-z 0-9 + - . _ ? =)`);
  }
  return { ok: true, path: s, hash, name };
}

/** What is wrong with a store path, or null when nothing is: the check alone, for many paths at once. */
export function storePathProblem(s: unknown): string | null {
  if (typeof s === 'string' && VALID_RE.test(s)) return null;
  const parsed = parseStorePath(s);
  return parsed.ok ? null : parsed.error;
}

export function isStorePath(s: unknown): s is StorePath {
  return parseStorePath(s).ok;
}

/** The path itself when valid; throws StorePathError saying what is wrong otherwise. */
export function toStorePath(s: unknown): StorePath {
  const parsed = parseStorePath(s);
  if (!parsed.ok) throw new StorePathError(parsed.error);
  return parsed.path;
}

/** `hello-2.12` of `/nix/store/<hash>-hello-2.12`; throws StorePathError for anything else. */
export function storePathName(p: StorePath): string {
  const parsed = parseStorePath(p);
  if (!parsed.ok) throw new StorePathError(parsed.error);
  return parsed.name;
}

function fail(error: string): ParsedStorePath {
  return { ok: false, error };
}

// Errors quote the input, but a hostile or huge value must not flood a Slack message or a log line.
function show(s: string): string {
  const cut = s.length > 120 ? `${s.slice(0, 120)}…` : s;
  return JSON.stringify(cut);
}
