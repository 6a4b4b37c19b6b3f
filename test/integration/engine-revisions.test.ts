// Fleet revisions on the simulated office, with the fleet as a real git repository (`git+file://`): a branch
// on one screen and main on the others, a branch moved between two runs, a push in the middle of a rollout,
// a rollback to an older commit, status against main's head, and the rules for revisions off main. Every
// host is checked directly for the system its commit builds to, built independently with plain `nix build`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/core/events.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { NotAllowed } from '../../src/engine/errors.ts';
import { type GitFleet, makeGitFleet } from '../office/git-fleet.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeEngine } from '../support/office-bot.ts';
import { outcomeOf } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const [LAB, HALL, DESK] = ['baard-lab', 'baard-hall', 'baard-desk'];
const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

describe.skipIf(unavailable !== null)('fleet revisions on the office, from a git repository', () => {
  let office: Office;
  let fleet: GitFleet;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  let firstMain: string;

  const running = async (host: string) =>
    (await office.onHost(host, ['readlink', '/run/current-system'])).stdout.trim();
  const statusText = async (host: string) =>
    (await bot.engine.status([host], asker))[0]?.revision?.text ?? '(no revision in status)';

  beforeAll(async () => {
    office = await startOffice({ hosts: [LAB, HALL, DESK], scale: 0.05 });
    fleet = await makeGitFleet(office.fleet, 'Fleet for the office');
    firstMain = await fleet.head('main');
    bot = await officeEngine(office, {
      flake: fleet.url,
      tags: (h) => (h === LAB ? ['experiment'] : ['lobby']),
    });
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('deploys a branch to one host and main to the rest, each host running its commit', async () => {
    const branch = await fleet.commit('my-branch', 101, 'Brighter lobby screen');
    const onBranch = await bot.engine.deploy(
      [LAB],
      { until: 'switch', restart: 'no', ref: 'my-branch' },
      asker,
    );
    expect(onBranch.status, outcomeOf(onBranch)).toBe('ok');
    expect(onBranch.revision).toMatchObject({
      requested: 'my-branch',
      rev: branch,
      subject: 'Brighter lobby screen',
      author: 'Ada Lovelace',
      onDefault: false,
      defaultBranch: 'main',
      dirty: false,
    });
    const onMain = await bot.engine.deploy([HALL, DESK], { until: 'switch', restart: 'no' }, asker);
    expect(onMain.status, outcomeOf(onMain)).toBe('ok');
    expect(onMain.revision).toMatchObject({ requested: null, rev: firstMain, onDefault: true });

    expect(await running(LAB)).toBe(await fleet.buildAt(branch, LAB));
    expect(await running(HALL)).toBe(await fleet.buildAt(firstMain, HALL));
    expect(await running(DESK)).toBe(await fleet.buildAt(firstMain, DESK));
    expect(await running(LAB)).not.toBe(await fleet.buildAt(firstMain, LAB));

    // The deployment record names the commit, and the audit log the locked flake each host was built from.
    expect(bot.store.lastDeployment(LAB)?.revision?.rev).toBe(branch);
    const audit = bot.store.auditLog({ runId: onBranch.runId, limit: 100 });
    expect(audit.some((a) => a.host === LAB && a.argv.join(' ').includes(`rev=${branch}`))).toBe(true);
  });

  it('says per host whether it runs main, is behind it, or runs another branch', async () => {
    expect(await statusText(LAB)).toMatch(
      /^on my-branch, not main: my-branch @ [0-9a-f]{12} "Brighter lobby screen"/,
    );
    expect(await statusText(HALL)).toMatch(/^in sync with main: /);
    await fleet.commit('main', 102, 'Newer kiosk');
    await fleet.commit('main', 103, 'Newest kiosk');
    expect(await statusText(HALL)).toMatch(/^behind main by 2 commits: /);
    expect(await statusText(DESK)).toMatch(/^behind main by 2 commits: /);
  });

  it('picks up a branch moved since the last run (no stale fetch cache)', async () => {
    const before = await running(LAB);
    const moved = await fleet.commit('my-branch', 111, 'Even brighter');
    const result = await bot.engine.deploy(
      [LAB],
      { until: 'switch', restart: 'no', ref: 'my-branch' },
      asker,
    );
    expect(result.status, outcomeOf(result)).toBe('ok');
    expect(result.revision?.rev).toBe(moved);
    expect(await running(LAB)).toBe(await fleet.buildAt(moved, LAB));
    expect(await running(LAB)).not.toBe(before);
  });

  it('builds every host of a rollout from the commit it started with, whatever is pushed meanwhile', async () => {
    const atStart = await fleet.head('main');
    let pushed = '';
    const events: EngineEvent[] = [];
    const pushing: Asker = {
      ...asker,
      onEvent: (e) => {
        events.push(e);
        // A push lands the moment the run starts, before any host is built: synchronously, so it is in the
        // repository before the run can take another step.
        if (e.type === 'run.started') {
          execFileSync('git', ['-C', fleet.dir, 'checkout', '-q', '-b', 'pushed-now', 'main']);
          const file = join(fleet.dir, 'fleet.json');
          const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
          writeFileSync(file, `${JSON.stringify({ ...json, revision: 120 }, null, 2)}\n`);
          execFileSync('git', [
            '-C',
            fleet.dir,
            '-c',
            'user.name=Bo',
            '-c',
            'user.email=bo@office.test',
            'commit',
            '-q',
            '-a',
            '-m',
            'Pushed mid-rollout',
          ]);
          execFileSync('git', ['-C', fleet.dir, 'checkout', '-q', 'main']);
          execFileSync('git', ['-C', fleet.dir, 'merge', '-q', '--ff-only', 'pushed-now']);
          pushed = execFileSync('git', ['-C', fleet.dir, 'rev-parse', 'main']).toString().trim();
        }
      },
    };
    const result = await bot.engine.deploy([HALL, DESK], { until: 'switch', restart: 'no' }, pushing);
    expect(result.status, outcomeOf(result)).toBe('ok');
    expect(pushed).not.toBe('');
    expect(pushed).not.toBe(atStart);
    expect(result.revision?.rev).toBe(atStart);
    for (const host of [HALL, DESK]) {
      expect(await running(host)).toBe(await fleet.buildAt(atStart, host));
      expect(await running(host)).not.toBe(await fleet.buildAt(pushed, host));
    }
    expect(events.find((e) => e.type === 'run.started')).toMatchObject({ revision: { rev: atStart } });
    expect(await statusText(HALL)).toMatch(/^behind main by 1 commit: /);
  });

  it('rolls a host back to an older commit of main like any deploy, and counts it as main', async () => {
    const result = await bot.engine.deploy([HALL], { until: 'switch', restart: 'no', ref: firstMain }, asker);
    expect(result.status, outcomeOf(result)).toBe('ok');
    expect(result.revision).toMatchObject({ rev: firstMain, onDefault: true });
    expect(result.hosts[0]?.switched?.changed, outcomeOf(result)).toBe(true);
    expect(await running(HALL)).toBe(await fleet.buildAt(firstMain, HALL));
    expect(await statusText(HALL)).toMatch(/^behind main by 3 commits: /);
  });

  it('refuses a branch on hosts the rules keep on main, naming the rule, before anything runs', async () => {
    const strict = await officeEngine(office, {
      flake: fleet.url,
      tags: (h) => (h === LAB ? ['experiment'] : ['lobby']),
      refs: { hostsTagged: ['experiment'] },
    });
    try {
      const before = await running(DESK);
      const refused = strict.engine.deploy(
        [DESK],
        { until: 'switch', restart: 'no', ref: 'my-branch' },
        asker,
      );
      await expect(refused).rejects.toBeInstanceOf(NotAllowed);
      await expect(refused).rejects.toThrow(
        /refs\.hostsTagged is \[experiment\]: my-branch @ [0-9a-f]{12}.* \(not main\) may go only to hosts tagged @experiment; baard-desk is not/,
      );
      expect(strict.store.recentRuns({ limit: 10 })).toEqual([]);
      expect(await running(DESK)).toBe(before);
      // Main goes anywhere, and a branch to a host tagged for experiments.
      const ok = await strict.engine.deploy([LAB], { until: 'plan', restart: 'no', ref: 'my-branch' }, asker);
      expect(ok.status, outcomeOf(ok)).toBe('ok');
      const lab = await strict.engine.deploy(
        [LAB],
        { until: 'copy', restart: 'no', ref: 'my-branch' },
        asker,
      );
      expect(lab.status, outcomeOf(lab)).not.toBe('failed');
    } finally {
      await strict.dispose();
    }
  });

  it('refuses a ref that does not exist, with what Nix says, before any host is touched', async () => {
    const before = bot.store.recentRuns({ limit: 50 }).length;
    await expect(
      bot.engine.deploy([DESK], { until: 'switch', restart: 'no', ref: 'no-such-branch' }, asker),
    ).rejects.toThrow(/no-such-branch/);
    expect(bot.store.recentRuns({ limit: 50 }).length).toBe(before);
  });
});
