// The office's fleet as a real git repository, as a team keeps its fleet: commits on `main`, branches for
// experiments, pushes while the bot works. Turns an office's fleet directory into a repository and makes
// commits with plain git (fixed argv, no shell), so tests can move branches under the bot's feet.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fleet } from './fleet.ts';
import { run } from './run.ts';

const AUTHOR = ['-c', 'user.name=Ada Lovelace', '-c', 'user.email=ada@office.test'];

export interface GitFleet {
  readonly dir: string;
  /** `git+file://DIR`: the configured flake, whose default branch is the checked-out `main`. */
  readonly url: string;
  /**
   * Commits `revision` of the fleet on `branch` (created from `from`, or main, when new) with `subject`,
   * leaving `main` checked out and clean; returns the commit id.
   */
  commit(branch: string, revision: number, subject: string, from?: string): Promise<string>;
  /** The commit a branch points at now. */
  head(branch: string): Promise<string>;
  /** Builds a host's toplevel at a commit with plain `nix build`, independently of the bot. */
  buildAt(rev: string, host: string): Promise<string>;
}

async function git(dir: string, args: readonly string[]): Promise<string> {
  return (await run(['git', '-C', dir, ...AUTHOR, ...args])).stdout.trim();
}

export async function makeGitFleet(fleet: Fleet, subject = 'Fleet for the office'): Promise<GitFleet> {
  const dir = fleet.dir;
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', subject]);
  const url = `git+file://${dir}`;

  const setRevision = async (revision: number) => {
    const file = join(dir, 'fleet.json');
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, `${JSON.stringify({ ...json, revision }, null, 2)}\n`);
  };

  return {
    dir,
    url,
    async commit(branch, revision, message, from = 'main') {
      const exists = (await run(['git', '-C', dir, 'branch', '--list', branch])).stdout.trim() !== '';
      if (branch !== 'main')
        await git(dir, exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch, from]);
      try {
        await setRevision(revision);
        await git(dir, ['commit', '-q', '-a', '-m', message]);
        return await git(dir, ['rev-parse', 'HEAD']);
      } finally {
        if (branch !== 'main') await git(dir, ['checkout', '-q', 'main']);
      }
    },
    head: (branch) => git(dir, ['rev-parse', `refs/heads/${branch}`]),
    async buildAt(rev, host) {
      const installable = `${url}?rev=${rev}#nixosConfigurations.${host}.config.system.build.toplevel`;
      const out = await run(['nix', 'build', '--json', '--no-link', installable]);
      const path = (JSON.parse(out.stdout) as { outputs: { out: string } }[])[0]?.outputs.out;
      if (!path) throw new Error(`nix build printed no output path for ${host} at ${rev}: ${out.stdout}`);
      return path;
    },
  };
}
