// The realistic office: a site of screens running a system of real Debian packages' files (revision 1: openssl
// and libssl3 3.0.17), an uplink with a rate and a round-trip delay, a LAN with its own rate and delay
// (test/office/delay.ts). The same change, revision 2 (openssl and libssl3 3.0.22 and every rebuild they cause),
// deployed to every screen five ways, the office put back exactly at revision 1 before each:
//   (a) as `nixos-rebuild switch --target-host` would, host by host, everything over the uplink (ssh://);
//   (b) as a user with a compressed binary cache on the builder: `nix copy --to file://DIR?compression=zstd`,
//       served over HTTP on the builder's uplink address, each screen substituting from it in turn;
//   (c) the engine with `uplink: { transport: "nix-copy", deltas: false }` (today's engine where the
//       configuration has no `uplink` section yet);
//   (d) the engine with `uplink: { deltas: false }` (the stream alone), then with its defaults (the stream and
//       deltas), side by side (both skipped, and said, until the configuration has `uplink.transport`);
//   (e) the physical limit, computed: the office's missing paths as zstd -19 NARs (and, for (d), as
//       `zstd -19 --patch-from` deltas against the path of the same name the office holds), over the rate.
// Uplink bytes (builder to office) and LAN bytes come from the kernel's counters. With `chromium=1`, revision 3
// (Chromium 150 -> 156, a major-version jump) is deployed from revision 2 with the defaults and reported apart.
// `ways=c+s+d` runs only those ways (the others take the longest and do not change with the engine).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { loadConfig } from '../src/adapters/config/load.ts';
import { signClosure } from '../src/adapters/nix/sign.ts';
import { formatBytes, formatDuration } from '../src/core/bytes.ts';
import { type Office, startOffice } from '../test/office/index.ts';
import { realContent } from '../test/office/real-content.ts';
import { officeConfig } from '../test/support/office-bot.ts';
import { type StageTimes, stageTimes } from './engine-stages.ts';
import { nixosRebuildAll } from './nixos-rebuild.ts';
import { resetOffice, runningSystem } from './office-reset.ts';
import { parseRunJson, signage } from './signage-cli.ts';
import { table } from './table.ts';
import { between, snapshot } from './traffic.ts';

export interface RealisticOptions {
  readonly hosts: number;
  readonly uplinkKbit: number;
  readonly uplinkRttMs: number;
  readonly lanKbit: number;
  readonly lanRttMs: number;
  /** About how many part paths the packages are split into (the closure has this many plus the packages). */
  readonly parts: number;
  readonly kernel: boolean;
  readonly chromium: boolean;
  /** The ways to run, in the table's order. */
  readonly ways: readonly Way[];
  readonly log?: (line: string) => void;
}

const settingsSchema = z.object({
  hosts: z.coerce.number().int().min(2).max(6).default(5),
  'uplink-kbit': z.coerce.number().int().min(100).max(10_000_000).default(8000),
  rtt: z.coerce.number().min(0).max(1000).default(60),
  'lan-kbit': z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  'lan-rtt': z.coerce.number().min(0).max(200).default(4),
  parts: z.coerce.number().int().min(10).max(5000).default(1200),
  kernel: z.enum(['0', '1']).default('1'),
  chromium: z.enum(['0', '1']).default('0'),
  // Which ways to run, `+`-separated (a comma separates settings): all five by default.
  ways: z
    .string()
    .regex(/^[abcsd](\+[abcsd])*$/, 'ways are a, b, c, s, d joined by +')
    .default('a+b+c+s+d'),
});

/** `--realistic hosts=5,uplink-kbit=8000,rtt=60,lan-kbit=100000,lan-rtt=4,parts=1200,kernel=1,chromium=0`. */
export function realisticSettings(text: string): Omit<RealisticOptions, 'log'> {
  const pairs = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => p.split('='));
  const bad = pairs.find((p) => p.length !== 2);
  if (bad) throw new Error(`--realistic: ${bad.join('=')} is not KEY=VALUE`);
  const parsed = settingsSchema.strict().safeParse(Object.fromEntries(pairs));
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`--realistic ${i.path.join('.') || ''}: ${i.message}`);
  }
  const v = parsed.data;
  return checkedWays({
    hosts: v.hosts,
    uplinkKbit: v['uplink-kbit'],
    uplinkRttMs: v.rtt,
    lanKbit: v['lan-kbit'],
    lanRttMs: v['lan-rtt'],
    parts: v.parts,
    kernel: v.kernel === '1',
    chromium: v.chromium === '1',
    ways: WAY_ORDER.filter((w) => v.ways.split('+').includes(w)),
  });
}

/** The Chromium jump is deployed from where way (d) leaves the office. */
function checkedWays(o: Omit<RealisticOptions, 'log'>): Omit<RealisticOptions, 'log'> {
  if (o.chromium && !o.ways.includes('d')) throw new Error('--realistic chromium=1 needs way d');
  return o;
}

export type Way = 'a' | 'b' | 'c' | 's' | 'd';
const WAY_ORDER: readonly Way[] = ['a', 'b', 'c', 's', 'd'];
const WAYS: Record<Way | 'e', string> = {
  a: '(a) nixos-rebuild --target-host',
  b: '(b) binary cache, zstd, substituted',
  c: '(c) engine, uplink nix-copy, no deltas',
  s: '(d) engine, the stream without deltas',
  d: '(d) engine, defaults (stream and deltas)',
  e: '(e) physical limit',
};

export interface WayResult {
  readonly way: Way;
  readonly uplinkBytes: number;
  readonly lanBytes: number;
  readonly wallMs: number;
  /** The engine's ways: its screens' copy and switch stages, and which screen was the canary. */
  readonly stages?: StageTimes & { readonly canaries: readonly string[] };
  /** Why it was not measured. */
  readonly skipped?: string;
}

/** The major-version jump deployed with the engine's defaults (from revision 2), or why it was not. */
export interface MajorWay {
  readonly uplinkBytes: number;
  readonly lanBytes: number;
  readonly wallMs: number;
  readonly error?: string;
}

export interface Limit {
  readonly paths: number;
  readonly narBytes: number;
  readonly zstdBytes: number;
  /** Each path as the smaller of its zstd NAR and its delta against its predecessor. */
  readonly withDeltasBytes: number;
  readonly withPredecessor: number;
}

export interface RealisticResult {
  readonly options: Omit<RealisticOptions, 'log'>;
  readonly closurePaths: number;
  readonly closureBytes: number;
  readonly limit: Limit;
  readonly ways: readonly WayResult[];
  readonly major: Limit | null;
  readonly majorWay: MajorWay | null;
}

const NAMES = ['shop-entrance', 'shop-till', 'shop-window', 'shop-back', 'shop-cafe', 'shop-stairs'];
const STORE = '/nix/store/';

interface Info {
  readonly path: string;
  readonly narSize: number;
}

async function closure(nix: string, roots: Iterable<string>): Promise<Info[]> {
  const r = await execa(nix, ['path-info', '--json', '-r', ...roots], { maxBuffer: 1e9 });
  const parsed = JSON.parse(r.stdout) as Info[] | Record<string, { narSize: number }>;
  return Array.isArray(parsed)
    ? parsed.map((i) => ({ path: i.path, narSize: i.narSize }))
    : Object.entries(parsed).map(([path, i]) => ({ path, narSize: i.narSize }));
}

const nameOf = (path: string) => path.slice(STORE.length + 33);

async function zstdSize(args: readonly string[], nar: string): Promise<number> {
  const r = await execa('zstd', ['-19', '-q', '-c', ...args, nar], { encoding: 'buffer', maxBuffer: 2e9 });
  return r.stdout.length;
}

/** The office's missing paths compressed, and as deltas against the paths of the same names it holds. */
async function physicalLimit(missing: readonly Info[], held: readonly Info[], dir: string): Promise<Limit> {
  const byName = new Map(held.map((i) => [nameOf(i.path), i.path]));
  let zstd = 0;
  let withDeltas = 0;
  let withPredecessor = 0;
  const nar = join(dir, 'new.nar');
  const old = join(dir, 'old.nar');
  for (const m of missing) {
    await execa('sh', ['-c', 'nix-store --dump "$1" > "$2"', 'sh', m.path, nar]);
    const whole = await zstdSize([], nar);
    zstd += whole;
    const before = byName.get(nameOf(m.path));
    if (before === undefined) {
      withDeltas += whole;
      continue;
    }
    withPredecessor++;
    await execa('sh', ['-c', 'nix-store --dump "$1" > "$2"', 'sh', before, old]);
    withDeltas += Math.min(whole, await zstdSize([`--patch-from=${old}`], nar));
  }
  return {
    paths: missing.length,
    narBytes: missing.reduce((s, m) => s + m.narSize, 0),
    zstdBytes: zstd,
    withDeltasBytes: withDeltas,
    withPredecessor,
  };
}

/** A static file server for the binary cache, on the builder's uplink address; only files under `root`. */
async function serveCache(root: string, address: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, rel);
    if (!file.startsWith(`${root}/`)) {
      res.writeHead(403).end();
      return;
    }
    stat(file).then(
      (s) => {
        if (!s.isFile()) return res.writeHead(404).end();
        res.writeHead(200, { 'content-length': s.size });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, address, ok));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('the cache server has no port');
  return { server, url: `http://${address}:${a.port}` };
}

/** Each screen in turn substitutes its system from the cache, then switches to it as nixos-rebuild does. */
async function substituteAll(office: Office, url: string, want: ReadonlyMap<string, string>) {
  for (const h of office.hosts) {
    const toplevel = want.get(h.name)!;
    const ssh = async (argv: string) => {
      const r = await execa('ssh', [...office.sshOptions, `${h.user}@${h.address}`, argv], {
        env: { SSH_AUTH_SOCK: office.agentSocket },
        reject: false,
        timeout: 1_800_000,
      });
      if (r.exitCode !== 0) throw new Error(`${argv.slice(0, 60)} on ${h.name}: ${r.stderr.slice(-800)}`);
    };
    // Fixed text; the URL and the toplevel are ours (an address and a store path).
    await ssh(`nix-store --realise ${toplevel} --option substituters ${url} > /dev/null`);
    await ssh(`nix-env -p /nix/var/nix/profiles/system --set ${toplevel}`);
    await ssh(`${toplevel}/bin/switch-to-configuration switch`);
  }
}

/** Whether this engine's configuration takes an `uplink` section (the stream transport and deltas). */
async function hasUplinkSection(office: Office): Promise<boolean> {
  const probe = officeConfig(office, { sections: { uplink: { transport: 'nix-copy', deltas: false } } });
  try {
    return (await loadConfig(probe.file, process.env)).ok;
  } finally {
    probe.cleanup();
  }
}

export async function benchRealistic(opts: RealisticOptions): Promise<RealisticResult> {
  const log = opts.log ?? (() => {});
  const groups = [
    'core',
    'update',
    ...(opts.kernel ? ['bench'] : []),
    ...(opts.chromium ? ['chromium'] : []),
  ];
  log(`prepare: scripts/fetch-debian ${groups.join(' ')} (fetches only what the cache lacks)`);
  await execa(join(import.meta.dirname, '..', 'scripts', 'fetch-debian'), groups, { stdio: 'inherit' });
  const content = await realContent({ parts: opts.parts, kernel: opts.kernel, chromium: opts.chromium });
  log(
    `starting an office of ${opts.hosts} screens: uplink ${opts.uplinkKbit / 1000} Mbit/s, ${opts.uplinkRttMs} ms; ` +
      `LAN ${opts.lanKbit / 1000} Mbit/s, ${opts.lanRttMs} ms`,
  );
  const office = await startOffice({
    hosts: NAMES.slice(0, opts.hosts),
    scale: 0.05,
    realContent: content,
    uplinkRttMs: opts.uplinkRttMs,
    lanKbit: opts.lanKbit,
    lanRttMs: opts.lanRttMs,
  });
  const nix = `${office.builderNix.binDir}/nix`;
  const work = await mkdtemp(join(tmpdir(), 'signage-realistic-'));
  const config = officeConfig(office);
  let cache: Server | undefined;
  try {
    log('setup (not measured): revision 1 built and deployed to every screen with the engine');
    const build = async () => {
      const out = new Map<string, string>();
      for (const h of office.hosts) {
        // Built as the test fleet is, with the builder's Nix; a system of real packages takes a while.
        const r = await execa(
          nix,
          ['build', '--json', '--no-link', '--max-jobs', '4', office.fleet.installable(h.name)],
          {
            timeout: 3_600_000,
          },
        );
        out.set(h.name, (JSON.parse(r.stdout) as { outputs: { out: string } }[])[0]!.outputs.out);
      }
      return out;
    };
    const rev1 = await build();
    const setup = await signage(config.file, ['deploy', 'all', '--no-restart', '--json'], {
      timeoutMs: 7_200_000,
    });
    if (setup.exitCode !== 0)
      throw new Error(`setup deploy failed: ${setup.stdout.slice(0, 800)} ${setup.stderr}`);
    log('setup (not measured): revision 2 built and signed; its binary cache written');
    await office.fleet.setRevision(2);
    const rev2 = await build();
    await signClosure(office.signingKeyFile, [...rev2.values()]);
    const held = await closure(nix, rev1.values());
    const heldSet = new Set(held.map((i) => i.path));
    const wanted = await closure(nix, rev2.values());
    const missing = wanted.filter((i) => !heldSet.has(i.path));
    log(`revision 2: ${wanted.length} paths a screen, ${missing.length} missing at the office`);
    log('(e) compressing the missing paths (zstd -19, and deltas with --patch-from)');
    const limit = await physicalLimit(missing, held, work);
    log(`  (e) ${JSON.stringify(limit)}`);
    const cacheDir = join(work, 'cache');
    await execa(nix, ['copy', '--to', `file://${cacheDir}?compression=zstd`, ...rev2.values()]);
    const served = await serveCache(cacheDir, office.builderAddress);
    cache = served.server;

    const uplinkSection = await hasUplinkSection(office);
    const overlays: Record<'c' | 's' | 'd', Record<string, unknown> | null> = uplinkSection
      ? { c: { uplink: { transport: 'nix-copy', deltas: false } }, s: { uplink: { deltas: false } }, d: {} }
      : { c: {}, s: null, d: null };
    const later = missing.map((m) => m.path);
    await office.setUplinkRate(opts.uplinkKbit);
    const ways: WayResult[] = [];
    for (const way of opts.ways) {
      if ((way === 'd' || way === 's') && overlays[way] === null) {
        log(`${WAYS[way]}: skipped, needs uplink.transport (the configuration has no uplink section yet)`);
        ways.push({ way, uplinkBytes: 0, lanBytes: 0, wallMs: 0, skipped: 'needs uplink.transport' });
        continue;
      }
      log(`${WAYS[way]}: deploying revision 2 to every screen`);
      const before = await snapshot(office);
      let stages: WayResult['stages'];
      const started = performance.now();
      if (way === 'a') await nixosRebuildAll(office);
      else if (way === 'b') await substituteAll(office, served.url, rev2);
      else {
        const overlay = overlays[way]!;
        let file = config.file;
        let cleanup = () => {};
        if (Object.keys(overlay).length > 0) {
          const c = officeConfig(office, { sections: overlay });
          file = c.file;
          cleanup = c.cleanup;
        }
        try {
          const r = await signage(file, ['deploy', 'all', '--no-restart', '--json'], {
            timeoutMs: 7_200_000,
          });
          const run = parseRunJson(r.stdout);
          if (r.exitCode !== 0)
            throw new Error(`engine deploy failed: ${JSON.stringify(run.hosts).slice(0, 800)}`);
          stages = { ...stageTimes(dirname(file), run.runId), canaries: run.canaries };
        } finally {
          cleanup();
        }
      }
      const wallMs = performance.now() - started;
      const t = between(before, await snapshot(office));
      ways.push({ way, uplinkBytes: t.uplink, lanBytes: t.lan, wallMs, ...(stages ? { stages } : {}) });
      log(
        `  ${formatBytes(t.uplink)} over the uplink, ${formatBytes(t.lan)} over the LAN, ${formatDuration(wallMs)}` +
          (stages ? `; stages ${JSON.stringify(stages)}` : ''),
      );
      for (const h of office.hosts) {
        const running = await runningSystem(office, h.name);
        if (running !== rev2.get(h.name)) throw new Error(`after ${WAYS[way]}, ${h.name} runs ${running}`);
      }
      // The Chromium jump is deployed from revision 2: the office stays there after the last way.
      if (opts.chromium && way === 'd') break;
      log('  back to revision 1 (profile, running system, store) and checked');
      await resetOffice(office, rev1, later);
    }

    let major: Limit | null = null;
    let majorWay: MajorWay | null = null;
    if (opts.chromium) {
      log('revision 3 (Chromium 150 -> 156): (d) from revision 2, then (e)');
      await office.fleet.setRevision(3);
      const rev3 = await build();
      await signClosure(office.signingKeyFile, [...rev3.values()]);
      const have = new Set(wanted.map((i) => i.path));
      const missing3 = (await closure(nix, rev3.values())).filter((i) => !have.has(i.path));
      if (overlays.d === null || ways.find((w) => w.way === 'd')?.skipped) {
        majorWay = { uplinkBytes: 0, lanBytes: 0, wallMs: 0, error: 'no (d) run to start from' };
      } else {
        const before = await snapshot(office);
        const started = performance.now();
        const r = await signage(config.file, ['deploy', 'all', '--no-restart', '--json'], {
          timeoutMs: 7_200_000,
        });
        const wallMs = performance.now() - started;
        const t = between(before, await snapshot(office));
        majorWay = {
          uplinkBytes: t.uplink,
          lanBytes: t.lan,
          wallMs,
          ...(r.exitCode === 0 ? {} : { error: r.stdout.slice(0, 800) || r.stderr.slice(-800) }),
        };
        log(
          `  (d) ${formatBytes(t.uplink)} over the uplink, ${formatBytes(t.lan)} over the LAN, ${formatDuration(wallMs)}` +
            (majorWay.error ? `; failed: ${majorWay.error}` : ''),
        );
      }
      // After the deploy: zstd -19 of Chromium's NARs takes minutes on a loaded machine.
      major = await physicalLimit(missing3, wanted, work);
      log(`  (e) ${JSON.stringify(major)}`);
    }
    return {
      options: {
        hosts: opts.hosts,
        uplinkKbit: opts.uplinkKbit,
        uplinkRttMs: opts.uplinkRttMs,
        lanKbit: opts.lanKbit,
        lanRttMs: opts.lanRttMs,
        parts: opts.parts,
        kernel: opts.kernel,
        ways: opts.ways,
        chromium: opts.chromium,
      },
      closurePaths: wanted.length,
      closureBytes: wanted.reduce((s, i) => s + i.narSize, 0),
      limit,
      ways,
      major,
      majorWay,
    };
  } finally {
    cache?.close();
    config.cleanup();
    await office.close();
    await rm(work, { recursive: true, force: true });
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const times = (x: number, digits = 2) => `${x.toFixed(digits)}×`;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * One activation, as the wall-time goal counts it: the median of the screens' switch stages (activation with
 * its checks and confirmation) in the engine's default way, else in its nix-copy way.
 */
export function activationMs(r: RealisticResult): number | undefined {
  const w = r.ways.find((x) => x.way === 'd' && x.stages) ?? r.ways.find((x) => x.stages);
  return w?.stages ? median(Object.values(w.stages.switchMs)) : undefined;
}

/** The wall-time goal of a way: its own uplink bytes over the uplink rate, plus one activation. */
export function goalMs(r: RealisticResult, uplinkBytes: number): number | undefined {
  const activation = activationMs(r);
  return activation === undefined ? undefined : uplinkBytes / (r.options.uplinkKbit / 8) + activation;
}

/** The canary's copy stage: the rollout's uplink leg, against its bytes over the rate. */
function uplinkLeg(r: RealisticResult, w: WayResult): { ms: number; bytesMs: number } | undefined {
  const canary = w.stages?.canaries[0];
  const ms = canary === undefined ? undefined : w.stages?.copyMs[canary];
  return ms === undefined ? undefined : { ms, bytesMs: w.uplinkBytes / (r.options.uplinkKbit / 8) };
}

export function formatRealistic(r: RealisticResult): string {
  const o = r.options;
  const bytesPerMs = o.uplinkKbit / 8;
  const limitMs = r.limit.zstdBytes / bytesPerMs;
  const activation = activationMs(r);
  const rows = r.ways.map((w) => {
    if (w.skipped) return [WAYS[w.way], `skipped: ${w.skipped}`, '', '', '', '', '', ''];
    const goal = goalMs(r, w.uplinkBytes);
    return [
      WAYS[w.way],
      mb(w.uplinkBytes),
      times(w.uplinkBytes / r.limit.zstdBytes),
      mb(w.lanBytes),
      formatDuration(w.wallMs),
      times(w.wallMs / limitMs, 1),
      goal === undefined ? '–' : formatDuration(goal),
      goal === undefined ? '–' : times(w.wallMs / goal),
    ];
  });
  rows.push([
    `${WAYS.e}, zstd -19`,
    mb(r.limit.zstdBytes),
    '1.00×',
    '',
    formatDuration(limitMs),
    '1.0×',
    '',
    '',
  ]);
  rows.push([
    `${WAYS.e}, with deltas`,
    mb(r.limit.withDeltasBytes),
    times(r.limit.withDeltasBytes / r.limit.zstdBytes),
    '',
    formatDuration(r.limit.withDeltasBytes / bytesPerMs),
    '',
    '',
    '',
  ]);
  const lines = [
    `${o.hosts} screens at one site; uplink ${o.uplinkKbit / 1000} Mbit/s and ${o.uplinkRttMs} ms round trip, ` +
      `LAN ${o.lanKbit / 1000} Mbit/s and ${o.lanRttMs} ms; a system of ${r.closurePaths} paths ` +
      `(${mb(r.closureBytes)} as NARs) of real Debian packages${o.kernel ? ' with a kernel' : ''}` +
      `${o.chromium ? ' and Chromium 150' : ''}`,
    `the change: openssl and libssl3 3.0.17 -> 3.0.22 and their rebuilds, ${r.limit.paths} paths missing at the ` +
      `office (${mb(r.limit.narBytes)} as NARs, ${r.limit.withPredecessor} with a predecessor there)`,
    `goal: the way's own uplink bytes over the rate plus one activation ` +
      (activation === undefined
        ? '(no engine run measured an activation)'
        : `(${formatDuration(activation)}: the median screen's switch stage of the engine's run)`),
    '',
    table(
      [
        'way',
        'uplink (kernel)',
        'of (e) zstd',
        'LAN (kernel)',
        'wall time',
        'of (e) time',
        'goal',
        'of the goal',
      ],
      rows,
    ),
  ];
  const legs = r.ways.flatMap((w) => {
    const leg = uplinkLeg(r, w);
    return leg === undefined
      ? []
      : [
          [
            WAYS[w.way],
            formatDuration(leg.ms),
            formatDuration(leg.bytesMs),
            formatDuration(leg.ms - leg.bytesMs),
            times(leg.ms / leg.bytesMs),
          ],
        ];
  });
  if (legs.length > 0) {
    lines.push(
      '',
      `the uplink leg: the canary's copy stage (${r.limit.paths} paths over the uplink), against its bytes over the rate`,
      table(['way', 'copy stage', 'bytes / rate', 'more than that', 'of bytes / rate'], legs),
    );
  }
  if (r.major) {
    lines.push(
      '',
      `major-version jump, Chromium 150 -> 156, from revision 2: ${r.major.paths} paths missing, ${mb(r.major.narBytes)} as NARs, ` +
        `(e) ${mb(r.major.zstdBytes)} with zstd -19, ${mb(r.major.withDeltasBytes)} with deltas ` +
        `(${times(r.major.withDeltasBytes / r.major.zstdBytes)})`,
    );
    const m = r.majorWay;
    if (m?.error) lines.push(`(d) on the jump: not measured (${m.error})`);
    else if (m) {
      const goal = goalMs(r, m.uplinkBytes);
      lines.push(
        `(d) on the jump: ${mb(m.uplinkBytes)} over the uplink (${times(m.uplinkBytes / r.major.zstdBytes)} (e) zstd), ` +
          `${mb(m.lanBytes)} over the LAN, ${formatDuration(m.wallMs)}` +
          (goal === undefined ? '' : ` (${times(m.wallMs / goal)} its goal of ${formatDuration(goal)})`),
      );
    }
  }
  return lines.join('\n');
}

/** The summary's rows. */
export function realisticSummary(r: RealisticResult): string[][] {
  return [
    ...r.ways.map((w) => [
      'realistic',
      `${WAYS[w.way]}: uplink / wall time`,
      w.skipped ? `skipped: ${w.skipped}` : `${mb(w.uplinkBytes)} / ${formatDuration(w.wallMs)}`,
    ]),
    [
      'realistic',
      `${WAYS.e}: zstd / with deltas`,
      `${mb(r.limit.zstdBytes)} / ${mb(r.limit.withDeltasBytes)}`,
    ],
  ];
}
