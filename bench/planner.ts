// How long the planner takes for one target in a large office: a 5,000-path system closure and 50 hosts
// (the target and 49 peers), each holding its current system and some older ones. Synthetic but shaped like
// a NixOS closure: a few big shared paths (firmware, kernel, browser, mesa, llvm), thousands of small
// libraries, and host-specific tops; older generations differ in some libraries and in everything above
// them, as input-addressed paths do. Seeded, so every run plans the same case.
//
// Each case is planned by the planner and, alternating with it in the same process, by the planner before
// store paths were interned per plan (test/support/planner-before.ts), so that both see the same load; the
// two plans must be equal.
//
// `node bench/planner.ts` prints a short table; bench/run.ts calls benchPlannerCases().

import { availableParallelism, loadavg } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { formatBytes } from '../src/core/bytes.ts';
import { HeldPaths, PathUniverse } from '../src/core/held-paths.ts';
import { type PlanInput, plan } from '../src/core/planner.ts';
import type { PathInfo, StorePath } from '../src/core/types.ts';
import { planBefore } from '../test/support/planner-before.ts';
import { seededRandom, storePathFor } from '../test/support/store-arbitraries.ts';
import { table } from './table.ts';

/** One planner's times over the runs of a case. */
export interface PlannerTimes {
  readonly medianMs: number;
  readonly p95Ms: number;
  /**
   * The process's CPU time a plan takes (median): on a shared machine, wall time also counts the time other
   * processes held the cores, this does not.
   */
  readonly cpuMedianMs: number;
}

export interface PlannerBench {
  readonly paths: number;
  readonly hosts: number;
  /** How the holdings reach the planner: one compact answer per host over a shared list, or sets of names. */
  readonly holdings: 'compact' | 'sets';
  /** Runs of each planner. */
  readonly runs: number;
  readonly now: PlannerTimes;
  /** The planner before store paths were interned per plan, on the same case in the same process. */
  readonly before: PlannerTimes;
  /** The plan's peer steps (copy sessions) and the peers they use. */
  readonly sessions: number;
  readonly peers: number;
}

const PATHS = 5000;
const HOSTS = 50;
const GENERATIONS = 7;

export async function benchPlanner(
  size: { paths?: number; hosts?: number; runs?: number; sets?: boolean } = {},
): Promise<PlannerBench> {
  const runs = size.runs ?? 40;
  const input = syntheticOffice(42, size);
  const planned = plan(input);
  if (!isDeepStrictEqual(planned, planBefore(input))) {
    throw new Error('the planner and the planner before it made different plans for the benchmark case');
  }
  const planners = [plan, planBefore] as const;
  const warmup = Math.max(1, Math.min(5, Math.floor(runs / 4)));
  for (let i = 0; i < warmup; i++) for (const f of planners) f(input);
  const times: number[][] = [[], []];
  const cpu: number[][] = [[], []];
  for (let i = 0; i < runs; i++) {
    // Alternating which goes first, so that neither always runs right after the other's garbage.
    for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      planners[k]!(input);
      times[k]!.push(performance.now() - start);
      const used = process.cpuUsage(cpuStart);
      cpu[k]!.push((used.user + used.system) / 1000);
      // Yield between runs so a caller's timers and output are not starved.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const peerSteps = planned.steps.flatMap((st) => (st.source.kind === 'peer' ? [st.source.host] : []));
  return {
    paths: input.closure.length,
    hosts: input.peers.length + 1,
    holdings: size.sets ? 'sets' : 'compact',
    runs,
    now: timesOf(times[0]!, cpu[0]!),
    before: timesOf(times[1]!, cpu[1]!),
    sessions: peerSteps.length,
    peers: new Set(peerSteps).size,
  };
}

function timesOf(wall: number[], cpu: number[]): PlannerTimes {
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    medianMs: wall[Math.floor(wall.length / 2)]!,
    p95Ms: wall[Math.min(wall.length - 1, Math.ceil(wall.length * 0.95) - 1)]!,
    cpuMedianMs: cpu[Math.floor(cpu.length / 2)]!,
  };
}

/** The office: the target's new closure and what every host holds of it. */
export function syntheticOffice(
  seed: number,
  size: { paths?: number; hosts?: number; sets?: boolean } = {},
): PlanInput {
  const PATHS_ = size.paths ?? PATHS;
  const HOSTS_ = size.hosts ?? HOSTS;
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const logSize = (min: number, max: number) =>
    Math.round(Math.exp(Math.log(min) + random() * Math.log(max / min)));

  // The package set: the same names and references in every generation; versions change.
  interface Node {
    readonly name: string;
    readonly size: number;
    readonly refs: number[];
    /** Chance that a generation bumps this package. */
    readonly churn: number;
  }
  const nodes: Node[] = [];
  const add = (name: string, size: number, refs: number[], churn: number) => {
    nodes.push({ name, size, refs: [...new Set(refs)], churn });
    return nodes.length - 1;
  };
  const glibc = add('glibc-2.40', 31 * 2 ** 20, [], 0.15);
  const firmware = add('firmware-raspberrypi', 340 * 2 ** 20, [], 0.2);
  const kernel = add('linux-6.12-rpi', 120 * 2 ** 20, [firmware], 0.35);
  const llvm = add('llvm-19', 150 * 2 ** 20, [glibc], 0.1);
  const mesa = add('mesa-24', 90 * 2 ** 20, [glibc, llvm], 0.25);
  const tops = 60;
  const libCount = PATHS_ - nodes.length - tops - 2;
  const firstLib = nodes.length;
  for (let i = 0; i < libCount; i++) {
    const earlier = nodes.length - firstLib;
    const refs = [glibc];
    const fanOut = Math.floor(random() * random() * 8);
    // References lean towards the early, core libraries, as most packages link zlib, openssl and friends.
    for (let k = 0; k < fanOut && earlier > 0; k++) refs.push(firstLib + Math.floor(random() ** 2 * earlier));
    add(`lib${i}-${pick(['1.2', '3.0.1', '0.9', '2.14'])}`, logSize(4096, 4 * 2 ** 20), refs, 0.03);
  }
  const libs = Array.from({ length: libCount }, (_, i) => firstLib + i);
  const chromium = add('chromium-131', 280 * 2 ** 20, [glibc, mesa, ...libs.slice(0, 120)], 0.5);
  const referenced = new Set(nodes.flatMap((n) => n.refs));
  const topRefs = libs.filter((i) => !referenced.has(i));

  // Per generation, each package's store path: a bumped package gets a new hash, and so does everything
  // that references it, directly or not.
  const versions = nodes.map(() => 0);
  const pathsByGen: StorePath[][] = [];
  for (let g = 0; g < GENERATIONS; g++) {
    if (g > 0) for (let i = 0; i < nodes.length; i++) if (random() < nodes[i]!.churn) versions[i]!++;
    const paths: StorePath[] = [];
    nodes.forEach((n, i) => {
      // A path's hash depends on its version and on its references' paths, as a derivation's does.
      paths[i] = storePathFor(`${n.name}@${versions[i]}:${n.refs.map((r) => paths[r]).join(',')}`, n.name);
    });
    pathsByGen.push(paths);
  }

  // The target's new system: every package of the newest generation and its own tops.
  const newest = pathsByGen[GENERATIONS - 1]!;
  const closure: PathInfo[] = nodes.map((n, i) => ({
    path: newest[i]!,
    narSize: n.size,
    references: [newest[i]!, ...n.refs.map((r) => newest[r]!)],
    signatures: [],
  }));
  const topPaths: StorePath[] = [];
  for (let t = 0; t < tops; t++) {
    const name = `${pick(['unit', 'etc', 'kiosk', 'activate'])}-${t}-baard-entrance`;
    const refs = [
      newest[chromium]!,
      newest[kernel]!,
      ...Array.from({ length: 5 }, () => newest[pick(libs)]!),
    ];
    const path = storePathFor(`${name}:${refs.join(',')}`, name);
    closure.push({ path, narSize: logSize(512, 256 * 1024), references: [...new Set(refs)], signatures: [] });
    topPaths.push(path);
  }
  const system = storePathFor(`system:${topPaths.join(',')}`, 'nixos-system-baard-entrance-25.11');
  const systemRefs = [...topPaths, ...topRefs.map((i) => newest[i]!), newest[mesa]!];
  closure.push({ path: system, narSize: 12_000, references: systemRefs, signatures: [] });

  // As the engine reads a closure: parsed from `nix path-info --json`, every name a string of its own.
  const parsed: PathInfo[] = JSON.parse(JSON.stringify(closure));

  // What each host holds of that closure: its current generation and up to two older ones it has not
  // collected. About a fifth already run the newest packages (updated earlier in a rollout).
  const inClosure = new Set(closure.map((p) => p.path));
  const generationOf = () => {
    const r = random();
    return r < 0.2 ? 6 : r < 0.5 ? 5 : r < 0.7 ? 4 : r < 0.85 ? 3 : Math.floor(random() * 3);
  };
  const holdingOf = (current: number) => {
    const held = new Set<StorePath>();
    const kept = [current, ...[1, 2].filter(() => random() < 0.5).map((d) => Math.max(0, current - d))];
    for (const g of kept) for (const p of pathsByGen[g]!) if (inClosure.has(p)) held.add(p);
    return held;
  };
  // As a rollout's snapshot holds them: one answer per host about the same list of paths; or each host's
  // answer as a set of the names it printed.
  const universe = new PathUniverse(parsed.map((p) => p.path));
  const asked = (held: Set<StorePath>): ReadonlySet<StorePath> =>
    size.sets ? new Set<StorePath>(JSON.parse(JSON.stringify([...held]))) : HeldPaths.of(universe, held);
  const holdings = new Map<string, ReadonlySet<StorePath>>([['baard-entrance', asked(holdingOf(4))]]);
  const peers: string[] = [];
  for (let h = 1; h < HOSTS_; h++) {
    const name = `pi-${String(h).padStart(2, '0')}`;
    peers.push(name);
    holdings.set(name, asked(holdingOf(generationOf())));
  }
  // As the engine plans: at most parallelPeerCopies (3 by default) peers a wave when they hold alike.
  return { target: 'baard-entrance', closure: parsed, holdings, peers, maxPeersPerWave: 3 };
}

/** The load on the machine while a bench ran: timings on a shared machine mean little without it. */
export interface MachineLoad {
  readonly before: number;
  readonly after: number;
  readonly cores: number;
}

/** The cases `npm run bench` reports: the usual office, and a big one in both forms of holdings. */
export async function benchPlannerCases(): Promise<{ cases: PlannerBench[]; load: MachineLoad }> {
  const before = loadavg()[0]!;
  const cases = [
    await benchPlanner(),
    await benchPlanner({ paths: 60_000, hosts: 200, runs: 7 }),
    await benchPlanner({ paths: 60_000, hosts: 200, runs: 7, sets: true }),
  ];
  return { cases, load: { before, after: loadavg()[0]!, cores: availableParallelism() } };
}

export function plannerRows({
  cases,
  load,
}: {
  cases: readonly PlannerBench[];
  load: MachineLoad;
}): string[][] {
  const ms = (n: number) => `${Math.round(n).toLocaleString('en')} ms`;
  const ratio = (before: number, now: number) => `${(before / now).toFixed(1)}×`;
  return [
    ...cases.map((r) => [
      `${r.paths.toLocaleString('en')} paths × ${r.hosts} hosts (${r.holdings})`,
      `CPU median ${ms(r.now.cpuMedianMs)} (before: ${ms(r.before.cpuMedianMs)}, ${ratio(r.before.cpuMedianMs, r.now.cpuMedianMs)} less); ` +
        `wall median ${ms(r.now.medianMs)}, p95 ${ms(r.now.p95Ms)} (before: ${ms(r.before.medianMs)}, p95 ${ms(r.before.p95Ms)}, ${ratio(r.before.medianMs, r.now.medianMs)}); ` +
        `${r.runs} runs each, alternating; ${r.sessions} copy session${r.sessions === 1 ? '' : 's'} from ${r.peers} peer${r.peers === 1 ? '' : 's'}, the same plan from both`,
    ]),
    [
      'machine load',
      `1-minute load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after, on ${load.cores} cores`,
    ],
  ];
}

async function main(): Promise<void> {
  const input = syntheticOffice(42);
  const p = plan(input);
  const t = p.totals;
  const peerSteps = p.steps.filter((s) => s.source.kind === 'peer');
  console.log(
    `case: ${t.totalPaths} paths (${formatBytes(t.totalBytes)}), ${input.peers.length + 1} hosts; the plan: ` +
      `${formatBytes(t.presentBytes)} present, ${formatBytes(t.lanBytes)} from ${new Set(peerSteps.map((s) => (s.source.kind === 'peer' ? s.source.host : ''))).size} peers ` +
      `in ${peerSteps.length} steps over ${Math.max(0, ...peerSteps.map((s) => s.wave))} waves, ` +
      `${formatBytes(t.uplinkBytes)} (${t.uplinkPaths} paths) over the uplink\n`,
  );
  console.log(table(['case', 'planning time'], plannerRows(await benchPlannerCases())));
}

if (import.meta.main) await main();
