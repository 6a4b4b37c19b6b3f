// `--ref` in the terminal front end, as a user runs it (`node bin/signage.ts ...` as a child process):
// hostile refs are refused before the configuration is even read; on the office, with the fleet as a git
// repository and branches limited to hosts tagged for experiments, a branch on another host exits 5 naming
// the rule and runs nothing, and a plan of the branch shows which commit it is of, in text and JSON.
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/adapters/state/open.ts';
import { type GitFleet, makeGitFleet } from '../office/git-fleet.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';

const unavailable = officeUnavailable();
const ROOT = join(import.meta.dirname, '..', '..');
const [LAB, HALL] = ['baard-lab', 'baard-hall'];

function signage(args: string[]) {
  return execa(process.execPath, [join(ROOT, 'bin', 'signage.ts'), ...args], {
    reject: false,
    stdin: 'ignore',
  });
}

describe('hostile refs in a terminal', () => {
  it.each([
    ['--ref=$(id)', 'not a branch, tag or commit'],
    ['--ref=../../etc/passwd', 'contains ".."'],
    ['--ref=-x', 'starts with "-"'],
    ['--ref=--upload-pack=touch', 'not a branch, tag or commit'],
    ['--ref=main@{1}', 'not a branch, tag or commit'],
    ['--ref=a\nb', 'not a branch, tag or commit'],
  ])('refuses %j before reading any configuration, exit 2', async (flag, why) => {
    const out = await signage(['--config', '/nonexistent/signage.yml', 'deploy', 'baard-lab', flag]);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain(`--ref: `);
    expect(out.stderr).toContain(why);
    expect(out.stderr).not.toContain('/nonexistent');
  });

  it('refuses an option as the value of --ref', async () => {
    const out = await signage([
      '--config',
      '/nonexistent/signage.yml',
      'deploy',
      'baard-lab',
      '--ref',
      '--restart',
    ]);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain('usage: signage deploy');
  });
});

describe.skipIf(unavailable !== null)('--ref in a terminal on the office', () => {
  let office: Office;
  let fleet: GitFleet;
  let config: ReturnType<typeof officeConfig>;
  let branch: string;
  beforeAll(async () => {
    office = await startOffice({ hosts: [LAB, HALL], scale: 0.05 });
    fleet = await makeGitFleet(office.fleet);
    branch = await fleet.commit('my-branch', 301, 'Larger clock');
    config = officeConfig(office, {
      flake: fleet.url,
      tags: (h) => (h === LAB ? ['experiment'] : []),
      refs: { hostsTagged: ['experiment'] },
    });
  });
  afterAll(async () => {
    await office?.close();
    config?.cleanup();
  });

  it('exits 5 naming the rule for a branch on a host not tagged for experiments, and runs nothing', async () => {
    const out = await signage(['--config', config.file, 'switch', HALL, '--ref', 'my-branch']);
    expect(out.exitCode).toBe(5);
    expect(out.stderr).toMatch(
      /refs\.hostsTagged is \[experiment\]: my-branch @ [0-9a-f]{12} "Larger clock" \(Ada Lovelace\) \(not main\) may go only to hosts tagged @experiment; baard-hall is not/,
    );
    const opened = openStateStore({ stateDir: config.stateDir, now: new Date() });
    if (!opened.ok) throw new Error(opened.message);
    try {
      expect(opened.state.store.recentRuns({ limit: 10 })).toEqual([]);
      expect(opened.state.store.auditLog({ limit: 10 })).toEqual([]);
    } finally {
      opened.state.close();
    }
    expect(await office.switchLog(HALL)).toEqual([]);
  });

  it('shows the commit a run builds, in text and in JSON', async () => {
    const text = await signage(['--config', config.file, 'plan', LAB, '--ref', 'my-branch']);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      `fleet: my-branch @ ${branch.slice(0, 12)} "Larger clock" (Ada Lovelace) (not main)`,
    );
    const json = await signage(['--config', config.file, '--json', 'plan', LAB]);
    expect(json.exitCode, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout) as {
      revision: { rev: string; onDefault: boolean; requested: null };
    };
    expect(result.revision).toMatchObject({
      rev: await fleet.head('main'),
      onDefault: true,
      requested: null,
    });
  });
});
