// The README's main job, end to end: a simulated office of three screens, driven by the real `signage`
// command exactly as a user types it. The first screen gets everything over the uplink; the other two pull
// what they share with it over the office LAN. The summary sets the bot's account of the bytes it moved next
// to the kernel's counters, which know nothing of the bot.
// `npm run demo [-- --scale 0.2 --uplink-kbit 40000]` (0: no limit). Needs root and ./scripts/setup.
// Exit: 0 every step succeeded and the counts agree · 1 otherwise · 2 cannot run · 130 interrupted.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseRunJson, type RunJson, signage } from '../bench/signage-cli.ts';
import { table } from '../bench/table.ts';
import { agrees, between, snapshot, type Traffic } from '../bench/traffic.ts';
import { formatBytes, formatDuration } from '../src/core/bytes.ts';
import type { RunResult } from '../src/engine/engine.ts';
import { runText } from '../src/verbs/render-run.ts';
import { type Office, officeUnavailable, startOffice } from '../test/office/index.ts';
import { officeConfig } from '../test/support/office-bot.ts';

const HOSTS = [
  { name: 'baard-entrance' },
  { name: 'baard-kitchen', touch: true },
  { name: 'baard-open-space' },
];
const TAGS: Record<string, string[]> = {
  'baard-entrance': ['lobby'],
  'baard-kitchen': ['floor', 'touch'],
  'baard-open-space': ['floor'],
};
const FIRST = 'baard-entrance';
const REST = ['baard-kitchen', 'baard-open-space'];

interface Step {
  readonly label: string;
  readonly narration: string;
  readonly args: readonly string[];
  /** Runs with --json: the bot's account of what it moved comes from this output. */
  readonly json?: boolean;
}

const STEPS: readonly Step[] = [
  {
    label: 'hosts',
    narration: 'The fleet as the bot sees it: three screens at one site, tagged by where they hang.',
    args: ['hosts'],
  },
  {
    label: 'overlap',
    narration: 'Build all three systems and see what they share, in store paths and bytes.',
    args: ['overlap', 'all'],
  },
  {
    label: `deploy ${FIRST}`,
    narration:
      `Deploy ${FIRST} from scratch: no peer holds anything yet, so everything crosses the uplink. ` +
      'The operator approves the display restart up front (--restart).',
    args: ['deploy', FIRST, '--restart', '--json'],
    json: true,
  },
  {
    label: 'deploy @floor',
    narration:
      `Deploy the other two (@floor) without restarting their screens: they pull what they share with ${FIRST} ` +
      'from it over the office LAN; only what is theirs alone crosses the uplink.',
    args: ['deploy', '@floor', '--no-restart', '--json'],
    json: true,
  },
  {
    label: 'status',
    narration: 'What every host runs now, against what the bot deployed.',
    args: ['status'],
  },
];

interface StepResult {
  readonly step: Step;
  readonly exitCode: number;
  readonly ms: number;
  readonly kernel: Traffic;
  readonly run: RunJson | null;
}

const options = z.object({
  scale: z.coerce.number().positive().max(2),
  uplinkKbit: z.coerce.number().int().min(0).max(10_000_000),
});

function parseFlags(): z.infer<typeof options> {
  try {
    const { values } = parseArgs({
      options: {
        scale: { type: 'string', default: '0.2' },
        'uplink-kbit': { type: 'string', default: '40000' },
      },
      strict: true,
    });
    const parsed = options.safeParse({ scale: values.scale, uplinkKbit: values['uplink-kbit'] });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`--${issue.path[0] === 'scale' ? 'scale' : 'uplink-kbit'}: ${issue.message}`);
    }
    return parsed.data;
  } catch (e) {
    console.error(
      `demo: ${(e as Error).message}\nusage: npm run demo -- [--scale 0.2] [--uplink-kbit 40000]`,
    );
    process.exit(2);
  }
}

/** Copies a child's output through, each line indented under the command that printed it. */
function indented(write: (s: string) => void): { feed: (s: string) => void; flush: () => void } {
  let partial = '';
  return {
    feed(s) {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) write(`    ${l}\n`);
    },
    flush() {
      if (partial) write(`    ${partial}\n`);
      partial = '';
    },
  };
}

/** While a quiet (--json) step runs, what the uplink counter says so far. */
function ticker(office: Office, from: number): () => void {
  const tty = process.stdout.isTTY === true;
  const started = Date.now();
  const show = () => {
    const line = `    … ${formatDuration(Date.now() - started)}, ${formatBytes(office.uplinkBytes().tx - from)} over the uplink so far`;
    process.stdout.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const timer = setInterval(show, tty ? 500 : 10_000);
  return () => {
    clearInterval(timer);
    if (tty) process.stdout.write('\r\x1b[K');
  };
}

async function runStep(office: Office, config: string, step: Step, signal: AbortSignal): Promise<StepResult> {
  console.log(`\n▶ ${step.narration}`);
  console.log(`  $ signage ${step.args.join(' ')}`);
  const out = indented((s) => process.stdout.write(s));
  const err = indented((s) => process.stdout.write(s));
  const before = await snapshot(office);
  const stop = step.json ? ticker(office, before.uplinkTx) : () => {};
  const r = await signage(config, step.args, {
    signal,
    ...(step.json ? {} : { onStdout: out.feed }),
    onStderr: err.feed,
  }).finally(stop);
  out.flush();
  err.flush();
  const kernel = between(before, await snapshot(office));
  let run: RunJson | null = null;
  if (step.json) {
    try {
      run = parseRunJson(r.stdout);
      // The same lines the command prints without --json.
      out.feed(`${runText(run as unknown as RunResult)}\n`);
    } catch (e) {
      out.feed(`${(e as Error).message}\n`);
    }
    out.flush();
  }
  console.log(`  exit ${r.exitCode} after ${formatDuration(r.ms)}`);
  return { step, exitCode: r.exitCode, ms: r.ms, kernel, run };
}

interface Check {
  readonly ok: boolean;
  readonly text: string;
}

async function checks(office: Office, results: readonly StepResult[]): Promise<Check[]> {
  const out: Check[] = [];
  for (const r of results) {
    const bot = r.run ?? { lanBytes: 0, uplinkBytes: 0 };
    const counts = agrees(r.kernel.uplink, bot.uplinkBytes) && agrees(r.kernel.lan, bot.lanBytes);
    out.push({
      ok: r.exitCode === 0 && counts,
      text:
        `${r.step.label}: exit ${r.exitCode}; kernel ${formatBytes(r.kernel.uplink)} uplink, ${formatBytes(r.kernel.lan)} LAN` +
        (r.run
          ? ` against the bot's ${formatBytes(bot.uplinkBytes)}, ${formatBytes(bot.lanBytes)}`
          : ' (control traffic: this step moves no store paths)') +
        (counts ? '' : ' — more or less than the bot accounts for'),
    });
  }
  const fleet = results.find((r) => r.step.label === 'deploy @floor')?.run;
  if (fleet) {
    out.push({
      ok: fleet.lanBytes > fleet.uplinkBytes,
      text: `fleet step: LAN ${formatBytes(fleet.lanBytes)} > uplink ${formatBytes(fleet.uplinkBytes)}`,
    });
  }
  const deployed = results.flatMap((r) => r.run?.hosts ?? []);
  for (const h of office.hosts) {
    const want = deployed.find((d) => d.host === h.name)?.toplevel;
    const runs = (await office.onHost(h.name, ['readlink', '/run/current-system'])).stdout.trim();
    out.push({
      ok: want !== undefined && runs === want,
      text: `${h.name} runs ${runs.replace(/^\/nix\/store\/[a-z0-9]{32}-/, '') || 'nothing'} (read on the host)`,
    });
  }
  const restarts = await Promise.all(office.hosts.map((h) => office.systemctlLog(h.name)));
  const restarted = office.hosts.filter((_, i) => restarts[i]!.some((l) => l.includes('display-manager')));
  out.push({
    ok: restarted.length === 1 && restarted[0]!.name === FIRST,
    text: `display manager restarted on ${restarted.map((h) => h.name).join(', ') || 'no host'} only (host logs)`,
  });
  return out;
}

function summary(results: readonly StepResult[]): string {
  const rows = results.map((r) => [
    r.step.label,
    r.run ? formatBytes(r.run.lanBytes) : '–',
    r.run ? formatBytes(r.run.uplinkBytes) : '–',
    formatBytes(r.kernel.lan),
    formatBytes(r.kernel.uplink),
    formatDuration(r.ms),
  ]);
  return table(['step', 'LAN (bot)', 'uplink (bot)', 'LAN (kernel)', 'uplink (kernel)', 'wall time'], rows);
}

async function main(): Promise<number> {
  const flags = parseFlags();
  const why = officeUnavailable();
  if (why !== null) {
    console.error(`demo: cannot run: ${why}. Run ./scripts/setup first (as root).`);
    return 2;
  }
  const controller = new AbortController();
  const stopOn = (sig: string) => () => {
    if (controller.signal.aborted) return;
    console.error(`\n${sig}: stopping; the office is torn down before exit`);
    controller.abort(new Error(sig));
  };
  process.on('SIGINT', stopOn('SIGINT'));
  process.on('SIGTERM', stopOn('SIGTERM'));

  const rate = flags.uplinkKbit > 0 ? `${flags.uplinkKbit / 1000} Mbit/s` : 'unlimited';
  console.log(
    `Starting a simulated office: ${HOSTS.map((h) => h.name).join(', ')} (scale ${flags.scale}, uplink ${rate})`,
  );
  const office = await startOffice({
    hosts: HOSTS,
    scale: flags.scale,
    uplinkKbit: flags.uplinkKbit || null,
  });
  const config = officeConfig(office, { tags: (h) => TAGS[h] ?? [] });
  const results: StepResult[] = [];
  try {
    console.log(`Office ${office.id} is up; bot configuration: ${config.file}`);
    for (const step of STEPS) {
      if (controller.signal.aborted) break;
      const r = await runStep(office, config.file, step, controller.signal);
      results.push(r);
      if (r.exitCode !== 0) {
        console.log(`  ${step.label} failed: stopping here`);
        break;
      }
    }
    if (controller.signal.aborted) return 130;
    console.log(
      `\nSummary: bytes the bot says it moved, against the kernel's counters (${REST.join(', ')} from ${FIRST})\n`,
    );
    console.log(summary(results));
    const done = results.length === STEPS.length ? await checks(office, results) : [];
    console.log('');
    for (const c of done) console.log(`${c.ok ? '✓' : '✗'} ${c.text}`);
    const ok = done.length > 0 && done.every((c) => c.ok);
    console.log(ok ? '\ndemo: every step succeeded and the counts agree' : '\ndemo: FAILED (see ✗ above)');
    return ok ? 0 : 1;
  } finally {
    config.cleanup();
    await office.close();
  }
}

process.exitCode = await main();
