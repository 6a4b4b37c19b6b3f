// Section c of `npm run bench`: bench/ssh-vs-ssh-ng.ts, called through its exported function when it has
// one, otherwise run as a child process with its output included as it printed it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { formatBytes } from '../src/core/bytes.ts';
import { table } from './table.ts';

interface Row {
  readonly rttMs: number;
  readonly closure: string;
  readonly scenario: string;
  readonly moved: number;
  readonly protocol: string;
  readonly medianMs: number;
  readonly bytes: number;
  readonly peerPackets: number;
}

export interface SshOptions {
  readonly runs: number;
  readonly paths: number;
  readonly scale: number;
  readonly rttMs: number;
}

export interface SshSection {
  readonly rows: readonly Row[] | null;
  /** The child's output, when the module exports no function. */
  readonly text: string | null;
  /** [figure, value] pairs for the final summary. */
  readonly summary: readonly (readonly [string, string])[];
}

type BenchFn = (o: SshOptions) => Promise<readonly Row[]>;

const SCRIPT = join(import.meta.dirname, 'ssh-vs-ssh-ng.ts');
const HOLDS: Record<string, string> = { fresh: 'nothing', most: 'all but a few', all: 'everything' };

/** Its function, if it exports one; checked in the source first, as importing a bare script would run it. */
async function exported(): Promise<BenchFn | null> {
  const source = await readFile(SCRIPT, 'utf8');
  if (!/export (async )?function benchSshVsSshNg\b/.test(source)) return null;
  const mod = (await import('./ssh-vs-ssh-ng.ts')) as { benchSshVsSshNg?: BenchFn };
  return typeof mod.benchSshVsSshNg === 'function' ? mod.benchSshVsSshNg : null;
}

export async function benchSsh(opts: SshOptions): Promise<SshSection> {
  const bench = await exported();
  if (bench === null) {
    const args = ['--runs', opts.runs, '--paths', opts.paths, '--scale', opts.scale, '--rtt', opts.rttMs].map(
      String,
    );
    const r = await execa(process.execPath, [SCRIPT, ...args], {
      reject: false,
      timeout: 3_600_000,
      all: true,
    });
    if (r.exitCode !== 0)
      throw new Error(`bench/ssh-vs-ssh-ng.ts exited ${r.exitCode}: ${r.all.slice(-1500)}`);
    return { rows: null, text: r.all, summary: [['ssh vs ssh-ng', 'see its output above']] };
  }
  const rows = await bench(opts);
  const summary: [string, string][] = [];
  // One line per (closure, scenario) at the largest round-trip time measured, the closest to a real LAN.
  const rtt = Math.max(...rows.map((x) => x.rttMs));
  for (const r of rows.filter((x) => x.protocol === 'ssh' && x.rttMs === rtt)) {
    const ng = rows.find(
      (x) =>
        x.protocol === 'ssh-ng' &&
        x.rttMs === r.rttMs &&
        x.closure === r.closure &&
        x.scenario === r.scenario,
    );
    if (!ng) continue;
    summary.push([
      `${r.closure}, target holds ${HOLDS[r.scenario] ?? r.scenario}, rtt ${r.rttMs} ms: ssh / ssh-ng`,
      `${Math.round(r.medianMs)} / ${Math.round(ng.medianMs)} ms`,
    ]);
  }
  return { rows, text: null, summary };
}

export function formatSsh(s: SshSection): string {
  if (s.text !== null) return s.text;
  const rows = (s.rows ?? []).map((r) => [
    `${r.rttMs} ms`,
    r.closure,
    formatBytes(r.bytes),
    HOLDS[r.scenario] ?? r.scenario,
    String(r.moved),
    r.protocol,
    `${Math.round(r.medianMs)} ms`,
    String(r.peerPackets),
  ]);
  return table(
    ['rtt', 'closure', 'bytes', 'target holds', 'moved', 'protocol', 'median', 'peer packets'],
    rows,
  );
}
