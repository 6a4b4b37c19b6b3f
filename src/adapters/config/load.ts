// The configuration file from disk: read, checked, and its relative paths resolved against its directory.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Env, parseConfig } from './parse.ts';
import { resolveConfigPaths } from './paths.ts';
import { type ConfigResult, failure } from './problems.ts';
import type { Config } from './schema.ts';

export async function loadConfig(path: string, env: Env): Promise<ConfigResult<Config>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file; write one (docs/configuration.md), or name another with --config or $SIGNAGE_CONFIG'
        : err.code === 'EISDIR'
          ? 'a directory, not a file'
          : `cannot be read (${err.code ?? err.message})`;
    return failure(path, [{ path: '', message: why }]);
  }
  const parsed = parseConfig(text, path, env);
  if (!parsed.ok) return parsed;
  return { ok: true, value: resolveConfigPaths(parsed.value, dirname(resolve(path))) };
}
