// `nix path-info --json` in every shape the fleet's Nix versions print. Pure: no I/O.
//
//   list     Nix 2.4 to 2.18, Debian's 2.8, Lix: `[{"path": P, "narSize": ..., "references": [P...]}]`;
//            a path that is not valid is `{"path": P, "valid": false}`.
//   keyed    Nix 2.19 to 2.32: `{P: {...}}`, the path only as the key; a path that is not valid maps to null.
//   keyed v1 Nix 2.33+ with `--json` alone or `--json-format 1`: keyed, each entry also has `version: 1`
//            and `storeDir`.
//   v2       Nix 2.33+ with `--json-format 2`: `{"version": 2, "storeDir": D, "info": {BASE: {...}}}` where
//            keys and references are base names (`<hash>-<name>`) relative to D, and hashes are objects.
//   v3       as v2, with signatures as `{"keyName": K, "sig": S}` objects instead of `K:S` strings.
// Signatures are `signatures` everywhere Nix writes them; `sigs` (the narinfo and daemon name) is read too.
// Fields this project does not use (narHash, ca, deriver, ...) are not checked, so their churn is harmless.
import { z } from 'zod';
import { isStorePath, STORE_DIR } from '../../core/storepath.ts';
import type { PathInfo, StorePath } from '../../core/types.ts';

export class PathInfoError extends Error {
  override readonly name = 'PathInfoError';
}

export interface PathInfoResult {
  readonly valid: PathInfo[];
  /** Paths Nix was asked about that the store does not hold. */
  readonly invalid: StorePath[];
}

const signature = z.union([
  z.string(),
  z.looseObject({ keyName: z.string(), sig: z.string() }).transform((s) => `${s.keyName}:${s.sig}`),
]);

const validInfo = z.looseObject({
  path: z.string().optional(),
  storeDir: z.string().optional(),
  narSize: z.number({ error: 'expected a number of bytes' }).int().nonnegative(),
  references: z.array(z.string(), { error: 'expected a list of store paths' }),
  signatures: z.array(signature).nullish(),
  sigs: z.array(signature).nullish(),
});

const invalidInfo = z.looseObject({ path: z.string().optional(), valid: z.literal(false) });

const wrapped = z.looseObject({
  version: z.number(),
  storeDir: z.string().optional(),
  info: z.record(z.string(), z.unknown()),
});

/** Parses the stdout of `nix path-info --json [-r] ...`; throws PathInfoError on anything else. */
export function parsePathInfoDetailed(stdout: string): PathInfoResult {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (e) {
    throw new PathInfoError(`nix path-info printed no JSON (${(e as Error).message}): ${excerpt(stdout)}`);
  }
  const entries: [key: string | null, value: unknown][] = [];
  let storeDir = STORE_DIR;
  if (Array.isArray(json)) {
    for (const item of json) entries.push([null, item]);
  } else if (json !== null && typeof json === 'object') {
    const w = wrapped.safeParse(json);
    if (w.success) {
      storeDir = w.data.storeDir ?? STORE_DIR;
      entries.push(...Object.entries(w.data.info));
    } else {
      entries.push(...Object.entries(json));
    }
  } else {
    throw new PathInfoError(`nix path-info printed ${excerpt(stdout)}, not a list or an object`);
  }

  const valid: PathInfo[] = [];
  const invalid: StorePath[] = [];
  for (const [key, value] of entries) {
    const where =
      key ??
      (isObject(value) && typeof value.path === 'string'
        ? value.path
        : `entry ${valid.length + invalid.length + 1}`);
    if (value === null) {
      invalid.push(fullPath(key ?? '', storeDir, where));
      continue;
    }
    const notValid = invalidInfo.safeParse(value);
    if (notValid.success) {
      invalid.push(fullPath(key ?? notValid.data.path ?? '', storeDir, where));
      continue;
    }
    const info = validInfo.safeParse(value);
    if (!info.success) {
      const issue = info.error.issues[0];
      const at = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      throw new PathInfoError(`nix path-info: ${where}: ${at}${issue?.message ?? 'unexpected shape'}`);
    }
    const dir = info.data.storeDir ?? storeDir;
    const path = fullPath(key ?? info.data.path ?? '', dir, where);
    valid.push({
      path,
      narSize: info.data.narSize,
      references: info.data.references.map((r) => fullPath(r, dir, `${where}: reference`)),
      signatures: info.data.signatures ?? info.data.sigs ?? [],
    });
  }
  return { valid, invalid };
}

/** The valid paths only; a path Nix reports as not valid is an error here. */
export function parsePathInfo(stdout: string): PathInfo[] {
  const { valid, invalid } = parsePathInfoDetailed(stdout);
  if (invalid.length > 0) {
    const more = invalid.length > 1 ? ` (and ${invalid.length - 1} more)` : '';
    throw new PathInfoError(`path ${invalid[0]} is not valid in that store${more}`);
  }
  return valid;
}

/** A full store path from a full path or a base name; only the default store directory is accepted. */
function fullPath(p: string, storeDir: string, where: string): StorePath {
  if (storeDir !== STORE_DIR) {
    throw new PathInfoError(`nix path-info: ${where}: store directory ${storeDir} is not ${STORE_DIR}`);
  }
  const full = p.startsWith('/') ? p : `${storeDir}/${p}`;
  if (!isStorePath(full)) throw new PathInfoError(`nix path-info: ${where}: not a store path: ${excerpt(p)}`);
  return full;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

function excerpt(s: string): string {
  const t = s.trim();
  return JSON.stringify(t.length > 120 ? `${t.slice(0, 117)}...` : t);
}
