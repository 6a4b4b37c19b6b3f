// The same change deployed twice to the same office: once as nixos-rebuild would (host by host, everything
// from the builder over the uplink), once with the engine (`signage deploy all`: the uplink once, then peers
// over the LAN). Before each, the office is put back exactly at revision 1. Uplink bytes come from the
// kernel's counter; LAN bytes from the engine's account (and the kernel's, as a check).
import { execa } from 'execa';
import { formatBytes, formatDuration } from '../src/core/bytes.ts';
import { type Office, startOffice } from '../test/office/index.ts';
import { officeConfig } from '../test/support/office-bot.ts';
import { nixosRebuildAll } from './nixos-rebuild.ts';
import { resetOffice, runningSystem } from './office-reset.ts';
import { parseRunJson, signage } from './signage-cli.ts';
import { table } from './table.ts';
import { between, snapshot } from './traffic.ts';

export interface DeployCompareOptions {
  readonly hosts: number;
  readonly scale: number;
  readonly uplinkKbit: number;
  readonly reps: number;
  readonly log?: (line: string) => void;
}

export type Method = 'nixos-rebuild' | 'engine';

export interface Measured {
  readonly method: Method;
  readonly rep: number;
  /** Builder to office, by the uplink's kernel counter. */
  readonly uplinkBytes: number;
  /** Host to host, by the kernel's counters. */
  readonly lanKernelBytes: number;
  /** The engine's own account (null for nixos-rebuild, which moves nothing host to host). */
  readonly bot: { readonly lanBytes: number; readonly uplinkBytes: number } | null;
  /** Hosts whose peer copy failed, so the builder sent their share over the uplink instead. */
  readonly fellBack: readonly string[];
  readonly wallMs: number;
}

export interface DeployComparison {
  readonly options: Omit<DeployCompareOptions, 'log'>;
  /** Paths revision 2 adds over revision 1, across the office, and their bytes. */
  readonly change: { readonly paths: number; readonly bytes: number };
  readonly runs: readonly Measured[];
  readonly median: Record<Method, { uplinkBytes: number; lanBytes: number; wallMs: number }>;
  /** nixos-rebuild / engine. */
  readonly ratios: { readonly uplink: number; readonly wall: number };
}

const NAMES = ['baard-entrance', 'baard-kitchen', 'baard-open-space', 'baard-meeting-room'];

function hostSpecs(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    name: NAMES[i] ?? `baard-screen-${i + 1}`,
    ...(i === 1 ? { touch: true } : {}),
  }));
}

async function closure(toplevels: Iterable<string>): Promise<Map<string, number>> {
  const r = await execa('nix', ['path-info', '--json', '-r', ...toplevels]);
  const infos = JSON.parse(r.stdout) as { path: string; narSize: number }[];
  return new Map(infos.map((i) => [i.path, i.narSize]));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function verifyRunning(office: Office, want: ReadonlyMap<string, string>, method: Method) {
  for (const { name } of office.hosts) {
    const running = await runningSystem(office, name);
    if (running !== want.get(name))
      throw new Error(`after ${method}, ${name} runs ${running}, not revision 2`);
  }
}

export async function benchDeployCompare(opts: DeployCompareOptions): Promise<DeployComparison> {
  const log = opts.log ?? (() => {});
  log(`starting an office of ${opts.hosts} hosts at scale ${opts.scale}`);
  const office = await startOffice({ hosts: hostSpecs(opts.hosts), scale: opts.scale, uplinkKbit: null });
  const config = officeConfig(office);
  try {
    log('setup (not measured): every host to revision 1 with the engine');
    const setup = await signage(config.file, ['deploy', 'all', '--no-restart', '--json']);
    const first = parseRunJson(setup.stdout);
    if (setup.exitCode !== 0) throw new Error(`setup deploy failed: ${JSON.stringify(first.hosts)}`);
    const rev1 = new Map(first.hosts.map((h) => [h.host, h.toplevel ?? '']));

    log('setup (not measured): revision 2 built on the builder, so both methods find their builds done');
    await office.fleet.setRevision(2);
    const rev2 = new Map<string, string>();
    for (const { name } of office.hosts) rev2.set(name, await office.fleet.build(name));
    const old = await closure(rev1.values());
    const added = [...(await closure(rev2.values()))].filter(([p]) => !old.has(p));
    const later = added.map(([p]) => p);

    if (opts.uplinkKbit > 0) await office.setUplinkRate(opts.uplinkKbit);
    const runs: Measured[] = [];
    const order: Method[][] = [
      ['nixos-rebuild', 'engine'],
      ['engine', 'nixos-rebuild'],
    ];
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const method of order[rep % 2]!) {
        log(`rep ${rep + 1}: ${method}`);
        const before = await snapshot(office);
        const started = performance.now();
        let bot: Measured['bot'] = null;
        let fellBack: string[] = [];
        if (method === 'nixos-rebuild') {
          await nixosRebuildAll(office);
        } else {
          const r = await signage(config.file, ['deploy', 'all', '--no-restart', '--json']);
          const run = parseRunJson(r.stdout);
          if (r.exitCode !== 0) throw new Error(`engine deploy failed: ${JSON.stringify(run.hosts)}`);
          bot = { lanBytes: run.lanBytes, uplinkBytes: run.uplinkBytes };
          fellBack = run.hosts.filter((h) => (h.copy?.fellBack ?? []).length > 0).map((h) => h.host);
          if (fellBack.length > 0)
            log(`  peer copies failed for ${fellBack.join(', ')}: the builder stood in`);
        }
        const wallMs = performance.now() - started;
        const traffic = between(before, await snapshot(office));
        runs.push({
          method,
          rep,
          uplinkBytes: traffic.uplink,
          lanKernelBytes: traffic.lan,
          bot,
          fellBack,
          wallMs,
        });
        log(`  ${formatBytes(traffic.uplink)} over the uplink in ${formatDuration(wallMs)}`);
        await verifyRunning(office, rev2, method);
        log('  back to revision 1 (profile, running system, store) and checked');
        await resetOffice(office, rev1, later);
      }
    }
    const med = (m: Method) => {
      const rs = runs.filter((r) => r.method === m);
      return {
        uplinkBytes: median(rs.map((r) => r.uplinkBytes)),
        lanBytes: median(rs.map((r) => r.bot?.lanBytes ?? r.lanKernelBytes)),
        wallMs: median(rs.map((r) => r.wallMs)),
      };
    };
    const median2 = { 'nixos-rebuild': med('nixos-rebuild'), engine: med('engine') };
    return {
      options: { hosts: opts.hosts, scale: opts.scale, uplinkKbit: opts.uplinkKbit, reps: opts.reps },
      change: { paths: added.length, bytes: added.reduce((s, [, n]) => s + n, 0) },
      runs,
      median: median2,
      ratios: {
        uplink: median2['nixos-rebuild'].uplinkBytes / median2.engine.uplinkBytes,
        wall: median2['nixos-rebuild'].wallMs / median2.engine.wallMs,
      },
    };
  } finally {
    config.cleanup();
    await office.close();
  }
}

export function formatDeployComparison(c: DeployComparison): string {
  const o = c.options;
  const rows = c.runs.map((r) => [
    String(r.rep + 1),
    r.method,
    formatBytes(r.uplinkBytes),
    r.bot ? formatBytes(r.bot.lanBytes) : '–',
    formatBytes(r.lanKernelBytes),
    r.bot ? formatBytes(r.bot.uplinkBytes) : '–',
    formatDuration(r.wallMs),
  ]);
  const rate = o.uplinkKbit > 0 ? `${o.uplinkKbit / 1000} Mbit/s uplink` : 'unlimited uplink';
  return [
    `${o.hosts} hosts, scale ${o.scale}, ${rate}; the change (revision 2): ${c.change.paths} new paths, ` +
      `${formatBytes(c.change.bytes)} across the office`,
    '',
    table(
      ['rep', 'method', 'uplink (kernel)', 'LAN (engine)', 'LAN (kernel)', 'uplink (engine)', 'wall time'],
      rows,
    ),
    '',
    ...c.runs
      .filter((r) => r.fellBack.length > 0)
      .map(
        (r) =>
          `rep ${r.rep + 1}: peer copies failed for ${r.fellBack.join(', ')}; the builder stood in (more uplink)`,
      ),
    `uplink bytes, nixos-rebuild / engine: ${c.ratios.uplink.toFixed(2)}×`,
    `wall time,    nixos-rebuild / engine: ${c.ratios.wall.toFixed(2)}×`,
    'Wall times on this shared 2-core machine are noisy; the byte counts are the robust figure.',
  ].join('\n');
}
