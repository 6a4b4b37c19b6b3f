// GC roots on the builder for what each host runs: one symlink per host under the bot's state directory,
// registered with Nix as an indirect root (Nix keeps a link to the link in gcroots/auto), so the deployed
// system and its closure survive `nix-collect-garbage` for as long as the link exists. Replacing a host's
// root releases the previous system to the collector.
import { lstat, mkdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';
import type { NixCallOptions } from './closure.ts';
import { checkFilePath, checkStorePaths } from './inputs.ts';
import { invalidInput, runNix } from './run.ts';

// A file name for the host's link: nothing that could leave the directory or hide as a dot-file.
const LINK_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** `<rootsDir>/<host>`; throws on a directory that is not absolute or a host name unfit for a file name. */
export function gcRootLink(rootsDir: string, host: string): string {
  const dir = checkFilePath(rootsDir, 'the GC roots directory');
  if (!dir.ok) throw new TypeError(dir.error);
  if (!LINK_NAME.test(host)) throw new TypeError(`host name ${JSON.stringify(host)} cannot name a GC root`);
  return join(dir.value, host);
}

/** Points the host's root at `toplevel` (which must be valid in the builder's store); returns the link. */
export async function addGcRoot(
  rootsDir: string,
  host: string,
  toplevel: StorePath,
  opts: NixCallOptions = {},
): Promise<string> {
  const base = ['nix-store', '--realise'];
  let link: string;
  try {
    link = gcRootLink(rootsDir, host);
  } catch (e) {
    throw invalidInput(base, (e as Error).message);
  }
  const checked = checkStorePaths([toplevel], 'toplevel');
  if (!checked.ok) throw invalidInput(base, checked.error);
  await mkdir(rootsDir, { recursive: true });
  // --realise of a valid path builds nothing; --add-root makes the link and registers it (indirect is the
  // default since Nix 2.4, and the flag is deprecated in later versions, so it is not passed).
  await runNix([...base, '--add-root', link, '--', toplevel], opts);
  return link;
}

/** Drops the host's root; false when there was none. */
export async function removeGcRoot(rootsDir: string, host: string): Promise<boolean> {
  const link = gcRootLink(rootsDir, host);
  const existed = await lstat(link).then(
    () => true,
    () => false,
  );
  await rm(link, { force: true });
  return existed;
}

/** What the host's root points at, or null without one. */
export async function readGcRoot(rootsDir: string, host: string): Promise<StorePath | null> {
  try {
    const target = await readlink(gcRootLink(rootsDir, host));
    return isStorePath(target) ? target : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
