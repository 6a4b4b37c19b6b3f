// `npm run bench [-- --only deploy,planner,ssh,slack,slack-updates,activation,control] [--hosts 4 --scale 0.5
// --uplink-kbit 16000 --reps 1] [--ssh-runs 3 --ssh-paths 1000 --ssh-rtt 10] [--control-hosts 10,30
// --control-paths 2000 --control-scale 0.05]`: the benchmarks side by side, then one summary table. A quick
// look at control traffic: `--only control --control-hosts 3,6 --control-paths 200`. The realistic office:
// `--only realistic [--realistic hosts=5,uplink-kbit=8000,rtt=60,lan-kbit=100000,lan-rtt=4,parts=1200,kernel=1,
// chromium=0]` (bench/realistic.ts; it fetches the Debian packages it needs first).
// A benchmark, not a test: it prints what it measured; only a failure to measure makes it exit non-zero.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formatBytes, formatDuration } from '../src/core/bytes.ts';
import { officeUnavailable } from '../test/office/index.ts';
import { officeNixVersions } from '../test/office/nix-versions.ts';
import { concurrentRuns } from '../test/support/concurrent-runs.ts';
import { benchActivation } from './activation.ts';
import { benchControl, decimalBytes, formatControl } from './control.ts';
import { benchDeployCompare, formatDeployComparison } from './deploy-compare.ts';
import { benchPlannerCases, plannerRows } from './planner.ts';
import { realistic } from './realistic-section.ts';
import { benchSsh, formatSsh, type SshSection } from './run-ssh.ts';
import { table } from './table.ts';
import { wireSizes } from './wire-sizes.ts';

const SLACK_ACK = new URL('./slack-ack.ts', import.meta.url).href;
const SECTIONS = [
  'deploy',
  'planner',
  'ssh',
  'slack',
  'slack-updates',
  'activation',
  'control',
  'realistic',
] as const;
type Section = (typeof SECTIONS)[number];
const NEEDS_OFFICE: readonly Section[] = ['deploy', 'ssh', 'slack', 'activation', 'control', 'realistic'];

const flagsSchema = z.object({
  only: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(SECTIONS, { error: `sections are ${SECTIONS.join(', ')}` })).min(1)),
  hosts: z.coerce.number().int().min(2).max(12),
  scale: z.coerce.number().positive().max(2),
  'uplink-kbit': z.coerce.number().int().min(0).max(10_000_000),
  reps: z.coerce.number().int().min(1).max(20),
  'ssh-runs': z.coerce.number().int().min(1).max(20),
  'ssh-paths': z.coerce.number().int().min(10).max(5000),
  'ssh-rtt': z.coerce.number().min(0).max(500),
  'control-hosts': z
    .string()
    .transform((s) => s.split(',').map((x) => Number(x.trim())))
    .pipe(z.array(z.number().int().min(2).max(60)).min(1).max(6)),
  'control-paths': z.coerce.number().int().min(0).max(5000),
  'control-scale': z.coerce.number().positive().max(2),
  realistic: z.string(),
});

function flags(): z.infer<typeof flagsSchema> {
  const str = (d: string) => ({ type: 'string' as const, default: d });
  try {
    const { values } = parseArgs({
      options: {
        only: str(SECTIONS.join(',')),
        hosts: str('4'),
        scale: str('0.5'),
        'uplink-kbit': str('16000'),
        reps: str('1'),
        'ssh-runs': str('3'),
        'ssh-paths': str('1000'),
        'ssh-rtt': str('10'),
        'control-hosts': str('10,30'),
        'control-paths': str('2000'),
        'control-scale': str('0.05'),
        realistic: str(''),
      },
      strict: true,
    });
    const parsed = flagsSchema.safeParse(values);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new Error(`--${String(i.path[0])}: ${i.message}`);
    }
    return parsed.data;
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    process.exit(2);
  }
}

const heading = (title: string) =>
  console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}\n`);
const ms = (n: number) => (n < 10 ? `${n.toFixed(2)} ms` : formatDuration(n));

async function main(): Promise<number> {
  const f = flags();
  const only = new Set<Section>(f.only);
  const why = officeUnavailable();
  const needing = NEEDS_OFFICE.filter((s) => only.has(s));
  if (why !== null && needing.length > 0) {
    console.error(`bench: cannot run ${needing.join(', ')}: ${why}. Run ./scripts/setup first (as root),`);
    console.error(`       or choose sections that need no office, e.g. --only planner,slack`);
    return 2;
  }
  const summary: string[][] = [];
  let failed = false;
  const section = async (name: Section, title: string, body: () => Promise<void>) => {
    if (!only.has(name)) return;
    heading(title);
    try {
      await body();
    } catch (e) {
      failed = true;
      console.log(`FAILED: ${(e as Error).stack ?? e}`);
      summary.push([name, 'failed', (e as Error).message.slice(0, 80)]);
    }
  };

  await section(
    'deploy',
    'a. Deploy: nixos-rebuild against the engine, same change, same office',
    async () => {
      const c = await benchDeployCompare({
        hosts: f.hosts,
        scale: f.scale,
        uplinkKbit: f['uplink-kbit'],
        reps: f.reps,
        log: (l) => console.log(`  ${l}`),
      });
      console.log(`\n${formatDeployComparison(c)}`);
      const m = c.median;
      summary.push(
        [
          'deploy',
          'uplink bytes, nixos-rebuild / engine',
          `${formatBytes(m['nixos-rebuild'].uplinkBytes)} / ${formatBytes(m.engine.uplinkBytes)} (${c.ratios.uplink.toFixed(2)}×)`,
        ],
        ['deploy', 'LAN bytes, engine', formatBytes(m.engine.lanBytes)],
        [
          'deploy',
          'wall time, nixos-rebuild / engine (noisy)',
          `${formatDuration(m['nixos-rebuild'].wallMs)} / ${formatDuration(m.engine.wallMs)} (${c.ratios.wall.toFixed(2)}×)`,
        ],
      );
    },
  );

  await section('planner', 'b. Planner: one target, 5,000 paths × 50 hosts and 60,000 × 200', async () => {
    const rows = plannerRows(await benchPlannerCases());
    console.log(table(['case', 'planning time'], rows));
    summary.push(...rows.map((r) => ['planner', r[0]!, r[1]!]));
  });

  await section('ssh', 'c. Peer copies: ssh:// against ssh-ng://', async () => {
    const s: SshSection = await benchSsh({
      runs: f['ssh-runs'],
      paths: f['ssh-paths'],
      scale: f.scale,
      rttMs: f['ssh-rtt'],
    });
    console.log(formatSsh(s));
    summary.push(...s.summary.map((r) => ['ssh', r[0], r[1]]));
  });

  await section('slack', 'd. Slack: time to acknowledge a command', async () => {
    type SlackAck = { benchSlackAck?: () => Promise<{ commands: number; worstMs: number; p50Ms: number }> };
    // Written separately; a variable specifier keeps this file compiling while it is absent.
    const mod: SlackAck = existsSync(fileURLToPath(SLACK_ACK)) ? await import(SLACK_ACK) : {};
    if (typeof mod.benchSlackAck !== 'function') {
      console.log('skipped: bench/slack-ack.ts (benchSlackAck) is not there yet');
      summary.push(['slack', 'ack latency', 'skipped: bench/slack-ack.ts not there yet']);
      return;
    }
    const r = await mod.benchSlackAck();
    console.log(
      `${r.commands} commands: worst ${ms(r.worstMs)}, p50 ${ms(r.p50Ms)} (Slack wants an ack within 3 s)`,
    );
    summary.push([
      'slack',
      `ack latency over ${r.commands} commands, worst / p50`,
      `${ms(r.worstMs)} / ${ms(r.p50Ms)}`,
    ]);
  });

  await section('slack-updates', "e. Slack: 10 concurrent runs within Slack's rate limits", async () => {
    const r = await concurrentRuns({ runs: 10, durationMs: 20_000 });
    const worst = Math.max(...r.finalShownAfterMs);
    console.log(
      `${r.runs} runs, ${r.events} events: ${r.updatesDelivered} updates and ${r.postsDelivered} posts delivered, ` +
        `${r.rateLimited} 429s; each run's end shown after at most ${ms(worst)}`,
    );
    summary.push(
      ['slack', '10 concurrent runs: updates delivered / 429s', `${r.updatesDelivered} / ${r.rateLimited}`],
      ['slack', '10 concurrent runs: end shown after, worst', ms(worst)],
    );
  });

  await section('activation', 'f. Activation: confirm-or-revert against the plain switch', async () => {
    const a = await benchActivation({ rounds: f.reps, log: (l) => console.log(`  ${l}`) });
    const extra = a.sequenceMs - a.plainMs;
    console.log(
      `median of ${a.rounds}: plain switch ${ms(a.plainMs)}; activation to confirmed ${ms(a.activationToConfirmedMs)}; whole switch stage ${ms(a.sequenceMs)} (${ms(extra)} more than the plain switch)`,
    );
    summary.push(
      ['activation', 'activation to confirmed', ms(a.activationToConfirmedMs)],
      [
        'activation',
        'switch: plain / confirm-or-revert (extra)',
        `${ms(a.plainMs)} / ${ms(a.sequenceMs)} (+${ms(extra)})`,
      ],
    );
  });

  await section(
    'control',
    'g. Control traffic over the uplink: questions and commands, not store paths',
    async () => {
      const n = f['control-paths'] || 2000;
      console.log(`The validity question's encodings for ${n} paths (computed):\n`);
      console.log(`${table(['encoding', 'bytes'], wireSizes(n))}\n`);
      const c = await benchControl({
        sizes: f['control-hosts'],
        paths: f['control-paths'],
        scale: f['control-scale'],
        log: (l) => console.log(`  ${l}`),
      });
      console.log(`\n${formatControl(c)}`);
      summary.push(
        ...c.rows.map((r) => [
          'control',
          `${r.screens} screens, ${r.kind} (${r.closurePaths} paths): control / wall time`,
          `${decimalBytes(r.control)} / ${formatDuration(r.wallMs)}`,
        ]),
      );
    },
  );

  await section('realistic', 'h. The realistic office: one change deployed five ways', () =>
    realistic(f.realistic, summary),
  );

  heading('Summary');
  // Which Nix ran: each office also names its builder's and hosts' versions when it starts.
  summary.push(['nix', 'versions (builder; hosts alternate)', officeNixVersions()]);
  console.log(table(['section', 'figure', 'value'], summary));
  return failed ? 1 : 0;
}

process.exitCode = await main();
