// Control traffic over the uplink: what the bot's questions and commands cost in bytes, apart from the store
// paths it sends. Per office size, one office of N screens at one site with a closure of many small paths
// (the fleet's `smallPaths`), and three `signage deploy all --no-restart` runs: the first rollout (hosts hold
// nothing), a no-op one (nothing to do: every byte is control), and a rollout of a new revision (a quarter of
// the small paths and the kiosk change). Both directions come from the uplink veth's kernel counters; the
// bytes the builder's copies sent over the uplink as store paths (the stream: narinfos, compressed NARs and
// its framing, as each host's copy reports them) are subtracted to leave the control traffic.
import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { formatDuration } from '../src/core/bytes.ts';
import { type Office, startOffice } from '../test/office/index.ts';
import { officeConfig } from '../test/support/office-bot.ts';
import { runningSystem } from './office-reset.ts';
import { parseRunJson, signage } from './signage-cli.ts';
import { table } from './table.ts';

export interface ControlOptions {
  /** Office sizes, in screens, one office each. */
  readonly sizes: readonly number[];
  /** Small paths added to every system's closure. */
  readonly paths: number;
  readonly scale: number;
  readonly log?: (line: string) => void;
}

export type RolloutKind = 'first rollout' | 'no-op' | 'new revision';

export interface ControlRow {
  readonly screens: number;
  readonly kind: RolloutKind;
  /** Paths in one screen's closure. */
  readonly closurePaths: number;
  /** Builder to office and back, by the uplink's kernel counters. */
  readonly toOffice: number;
  readonly fromOffice: number;
  /** NAR bytes of the paths the run says it sent over the uplink. */
  readonly narBytes: number;
  /** What the builder's copies put on the uplink for those paths (the stream's bytes): the payload. */
  readonly payloadBytes: number;
  /** toOffice + fromOffice - payloadBytes. */
  readonly control: number;
  readonly wallMs: number;
}

export interface ControlResult {
  /** What ran: the checkout's commit and subject. */
  readonly code: string;
  readonly rows: readonly ControlRow[];
}

/** The longest a rollout may take here before the benchmark gives up on it. */
const RUN_TIMEOUT_MS = 60 * 60_000;

/** Decimal units, as the goals are stated: "812.4 kB", "1.93 MB". */
export function decimalBytes(n: number): string {
  if (Math.abs(n) < 1e3) return `${Math.round(n)} B`;
  if (Math.abs(n) < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(2)} MB`;
}

const screenName = (i: number) => `screen-${String(i + 1).padStart(2, '0')}`;

async function closureSize(toplevel: string): Promise<number> {
  const r = await execa('nix-store', ['--query', '--requisites', toplevel]);
  return r.stdout.split('\n').filter(Boolean).length;
}

/** Thousands of small derivations take longer than the office's own build allows: a bound of its own. */
async function buildAll(office: Office): Promise<void> {
  const installables = office.hosts.map((h) => office.fleet.installable(h.name));
  await execa('nix', ['build', '--no-link', ...installables], { timeout: RUN_TIMEOUT_MS });
}

async function describeCode(): Promise<string> {
  const r = await execa('git', ['log', '-1', '--format=%h %s'], { cwd: import.meta.dirname, reject: false });
  return r.exitCode === 0 ? r.stdout.trim().slice(0, 100) : 'unknown commit';
}

async function rollout(
  office: Office,
  configFile: string,
  screens: number,
  kind: RolloutKind,
  log: (line: string) => void,
): Promise<ControlRow> {
  const before = office.uplinkBytes();
  const r = await signage(configFile, ['deploy', 'all', '--no-restart', '--json'], {
    timeoutMs: RUN_TIMEOUT_MS,
  });
  const after = office.uplinkBytes();
  const run = parseRunJson(r.stdout);
  const failed = run.hosts.filter((h) => h.status !== 'ok' && h.status !== 'noop');
  if (r.exitCode !== 0 || failed.length > 0) {
    throw new Error(
      `${kind} of ${screens} screens failed (exit ${r.exitCode}): ${JSON.stringify(failed.slice(0, 3))} ${r.stderr.slice(-500)}`,
    );
  }
  // Every screen runs what the run says it deployed, checked on the screen itself.
  for (const h of run.hosts) {
    const running = await runningSystem(office, h.host);
    if (h.toplevel && running !== h.toplevel) throw new Error(`${h.host} runs ${running}, not ${h.toplevel}`);
  }
  const toplevel = run.hosts.find((h) => h.toplevel)?.toplevel;
  // The stream's own bytes are payload, not control; a copy that reports none sent its NARs as they are.
  const payloadBytes = run.hosts.reduce((sum, h) => {
    const sent = (h.copy as { uplinkSentBytes?: unknown } | undefined)?.uplinkSentBytes;
    return sum + (typeof sent === 'number' ? sent : (h.copy?.uplinkBytes ?? 0));
  }, 0);
  const row: ControlRow = {
    screens,
    kind,
    closurePaths: toplevel ? await closureSize(toplevel) : 0,
    toOffice: after.tx - before.tx,
    fromOffice: after.rx - before.rx,
    narBytes: run.uplinkBytes,
    payloadBytes,
    control: after.tx - before.tx + (after.rx - before.rx) - payloadBytes,
    wallMs: r.ms,
  };
  log(
    `  ${kind}: ${decimalBytes(row.toOffice)} to the office, ${decimalBytes(row.fromOffice)} back, ` +
      `${decimalBytes(row.narBytes)} of NARs sent as ${decimalBytes(row.payloadBytes)}: control ` +
      `${decimalBytes(row.control)} in ${formatDuration(row.wallMs)}`,
  );
  return row;
}

export async function benchControl(opts: ControlOptions): Promise<ControlResult> {
  const log = opts.log ?? (() => {});
  const rows: ControlRow[] = [];
  for (const screens of opts.sizes) {
    log(`office of ${screens} screens, ${opts.paths} small paths a closure, scale ${opts.scale}`);
    const office = await startOffice({
      hosts: Array.from({ length: screens }, (_, i) => ({ name: screenName(i) })),
      scale: opts.scale,
      smallPaths: opts.paths,
      uplinkKbit: null,
    });
    const config = officeConfig(office);
    // Thirty screens starting sshd sessions at once on a loaded machine answer slower than a test's 3 s.
    const settings = parse(readFileSync(config.file, 'utf8')) as { ssh: Record<string, unknown> };
    settings.ssh.connectTimeoutSeconds = 30;
    writeFileSync(config.file, stringify(settings));
    try {
      log('  building revision 1 (not measured)');
      await buildAll(office);
      rows.push(await rollout(office, config.file, screens, 'first rollout', log));
      rows.push(await rollout(office, config.file, screens, 'no-op', log));
      await office.fleet.setRevision(2);
      log('  building revision 2 (not measured)');
      await buildAll(office);
      rows.push(await rollout(office, config.file, screens, 'new revision', log));
    } finally {
      config.cleanup();
      await office.close();
    }
  }
  return { code: await describeCode(), rows };
}

export function formatControl(c: ControlResult): string {
  const rows = c.rows.map((r) => [
    String(r.screens),
    r.kind,
    String(r.closurePaths),
    decimalBytes(r.toOffice),
    decimalBytes(r.fromOffice),
    decimalBytes(r.narBytes),
    decimalBytes(r.payloadBytes),
    decimalBytes(r.control),
    decimalBytes(r.control / r.screens),
    formatDuration(r.wallMs),
  ]);
  return [
    `code: ${c.code}`,
    '',
    table(
      [
        'screens',
        'rollout',
        'closure paths',
        'to office',
        'from office',
        'NARs',
        'payload sent',
        'control (both ways)',
        'control a screen',
        'wall time',
      ],
      rows,
    ),
    '',
    'to office / from office: the uplink veth kernel counters; control = both directions minus the payload the',
    "builder's copies report sending (the stream's bytes: narinfos, compressed NARs, framing). Goals: a",
    '30-screen rollout of 2,000-path closures at most 2 MB of control, a no-op one under 1 MB and under 10 s.',
  ].join('\n');
}
