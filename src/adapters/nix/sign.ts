// Signs closures with the builder's key so that hosts, and peers copying from each other, accept them. Only
// the key file's path is handled here: its content is read by Nix alone and never appears in a message.
import { access, constants } from 'node:fs/promises';
import type { StorePath } from '../../core/types.ts';
import type { NixCallOptions } from './closure.ts';
import { BUILDER_FEATURES, checkFilePath, checkStorePaths } from './inputs.ts';
import { invalidInput, runNix } from './run.ts';

export interface SignResult {
  /** Signatures Nix added (0 when every path already had this key's signature); null if it did not say. */
  readonly added: number | null;
}

export async function signClosure(
  keyFile: string,
  paths: readonly StorePath[],
  opts: NixCallOptions = {},
): Promise<SignResult> {
  const base = [
    'nix',
    ...BUILDER_FEATURES,
    'store',
    'sign',
    '--key-file',
    String(keyFile),
    '--recursive',
    '--',
  ];
  const file = checkFilePath(keyFile, 'the signing key file');
  if (!file.ok) throw invalidInput(base, file.error);
  const checked = checkStorePaths(paths);
  if (!checked.ok) throw invalidInput(base, checked.error);
  try {
    await access(file.value, constants.R_OK);
  } catch {
    throw invalidInput(base, `the signing key file ${file.value} cannot be read`);
  }
  const out = await runNix([...base, ...checked.value], opts);
  const m = /added (\d+) signatures?/.exec(out.stderrTail);
  return { added: m ? Number(m[1]) : null };
}
