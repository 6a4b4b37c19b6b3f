// The realistic fleet's content: real Debian packages (scripts/debian-packages.txt, fetched and unpacked by
// scripts/fetch-debian into a cache outside the repository) made into store paths by test/fleet/real.nix.
// Each package becomes an index path and its files split into several part paths (a real system has 1,000 to
// 3,000 store paths). A package's parts embed the index paths of the packages it depends on (its Depends
// within the set) in every ELF file, after the ELF's own bytes, and in nix-support/runtime-deps, as a Nix
// build embeds the store paths a binary links to. So a revision that changes a package rebuilds every
// package depending on it, directly or not, and those rebuilt parts differ from the old ones only in the
// store paths they embed, as in a nixpkgs update.
//   revision 1: the core set, with openssl and libssl3 3.0.17 (and Chromium 150 with `chromium`)
//   revision 2: openssl and libssl3 3.0.22 (point releases) and the rebuilds they cause
//   revision 3: revision 2 with Chromium 156 (the major-version jump), when `chromium`
import { existsSync } from 'node:fs';
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEBIAN_CACHE = process.env.SIGNAGE_DEBIAN_CACHE ?? '/var/cache/signage-bot/debian';
const LIST = join(import.meta.dirname, '..', '..', 'scripts', 'debian-packages.txt');

export type Group = 'core' | 'update' | 'bench' | 'chromium';

export interface ListedPackage {
  readonly group: Group;
  readonly name: string;
  readonly version: string;
}

/** One package of one revision, as real.nix builds it; packages come in dependency order. */
export interface RealPackage {
  readonly name: string;
  readonly version: string;
  /** The store name of its index path (`libssl3-3.0.17-1_deb12u2`). */
  readonly storeName: string;
  /** Its unpacked files. */
  readonly tree: string;
  /** Packages of the same revision it depends on. */
  readonly deps: readonly string[];
  /** Its files (relative to tree), split into parts; each part is a store path. */
  readonly parts: readonly (readonly string[])[];
  /** Which of a part's files are ELF objects (where the dependencies' paths are embedded). */
  readonly elfs: readonly (readonly string[])[];
}

export interface RealContent {
  /** Packages by revision ("1", "2", "3"). */
  readonly revisions: Readonly<Record<string, readonly RealPackage[]>>;
  /** Which packages play which part of a system in test/fleet/host.nix (null: a small stand-in). */
  readonly roles: {
    readonly systemd: string | null;
    readonly linux: string | null;
    readonly kiosk: string | null;
    readonly touch: string | null;
  };
}

export interface RealContentOptions {
  /** Only these packages (the tests' small subset); all of the groups' otherwise. */
  readonly only?: readonly string[];
  /** Add the kernel (group bench). */
  readonly kernel?: boolean;
  /** Add Chromium 150 (revisions 1 and 2) and 156 (revision 3) (group chromium). */
  readonly chromium?: boolean;
  /** About how many part paths to split the revision's packages into (default 1,200). */
  readonly parts?: number;
}

export async function listedPackages(): Promise<ListedPackage[]> {
  const out: ListedPackage[] = [];
  for (const line of (await readFile(LIST, 'utf8')).split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [group, name, version] = t.split(/\s+/);
    if (!group || !name || !version) throw new Error(`${LIST}: bad line ${t}`);
    out.push({ group: group as Group, name, version });
  }
  return out;
}

const storeSafe = (s: string) => s.replace(/[^A-Za-z0-9+._?=-]/g, '_');
const treeOf = (p: ListedPackage) => join(DEBIAN_CACHE, 'tree', `${p.name}_${p.version}`);

/** Package names a Depends/Pre-Depends text names (alternatives included), without versions. */
export function dependsNames(control: string): string[] {
  return control
    .split(/[\n,|]/)
    .map((d) => d.trim().split(/[\s(:]/)[0] ?? '')
    .filter((d) => d.length > 0);
}

async function filesUnder(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await filesUnder(root, r)));
    else if (e.isFile() || e.isSymbolicLink()) out.push(r);
  }
  return out.sort();
}

async function isElf(file: string): Promise<boolean> {
  // lstat: a link is not an ELF file of the package, whatever it points to on this machine.
  const s = await lstat(file).catch(() => null);
  if (s === null || !s.isFile() || s.size < 4) return false;
  const h = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await h.read(b, 0, 4, 0);
    return b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await h.close();
  }
}

/** The kernel's part of its package: the image and the drivers a kiosk uses, not every module. */
function kernelFile(f: string): boolean {
  return (
    f.startsWith('boot/vmlinuz') ||
    /^lib\/modules\/[^/]+\/kernel\/drivers\/(gpu|hid|input|usb|net\/ethernet|net\/wireless)\//.test(f)
  );
}

/** Orders packages so each comes after what it depends on; an edge that would close a cycle is dropped. */
function ordered(pkgs: readonly ListedPackage[], depends: ReadonlyMap<string, string[]>) {
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const done = new Map<string, string[]>();
  const visiting = new Set<string>();
  const out: { pkg: ListedPackage; deps: string[] }[] = [];
  const visit = (name: string) => {
    if (done.has(name) || visiting.has(name)) return;
    visiting.add(name);
    const deps: string[] = [];
    for (const d of depends.get(name) ?? []) {
      if (d === name || !byName.has(d) || deps.includes(d)) continue;
      visit(d);
      // Still being visited: d depends on name (a cycle, as libc6 and libgcc-s1 have). Nix allows none.
      if (!visiting.has(d)) deps.push(d);
    }
    visiting.delete(name);
    done.set(name, deps);
    out.push({ pkg: byName.get(name)!, deps });
  };
  for (const p of pkgs) visit(p.name);
  return out;
}

function missing(p: ListedPackage): string {
  return `the realistic fleet's Debian package ${p.name} ${p.version} is not in ${DEBIAN_CACHE} (run scripts/setup${
    p.group === 'bench' || p.group === 'chromium' ? `, or scripts/fetch-debian ${p.group}` : ''
  })`;
}

export async function realContent(opts: RealContentOptions = {}): Promise<RealContent> {
  const listed = await listedPackages();
  const pick = (p: ListedPackage) => opts.only === undefined || opts.only.includes(p.name);
  const groups = (gs: Group[]) => listed.filter((p) => gs.includes(p.group) && pick(p));
  const core = groups(['core', ...(opts.kernel ? (['bench'] as Group[]) : [])]);
  const updates = groups(['update']);
  const chromium = opts.chromium ? groups(['chromium']) : [];
  const major = (n: string) =>
    chromium.filter((p) => p.name.startsWith('chromium') && p.version.startsWith(n));
  const replace = (base: ListedPackage[], by: ListedPackage[]) =>
    base.map((p) => by.find((u) => u.name === p.name) ?? p);
  const rev1 = [...core, ...major('150')];
  const rev2 = replace(rev1, updates);
  const revs: Record<string, ListedPackage[]> = { '1': rev1, '2': rev2 };
  if (opts.chromium) revs['3'] = replace(rev2, major('156'));

  const all = new Map<string, ListedPackage>();
  for (const p of Object.values(revs).flat()) all.set(`${p.name}_${p.version}`, p);
  const files = new Map<string, string[]>();
  const depends = new Map<string, string[]>();
  for (const [key, p] of all) {
    const tree = treeOf(p);
    if (!existsSync(tree)) throw new Error(missing(p));
    let list = await filesUnder(tree);
    if (p.name.startsWith('linux-image')) list = list.filter(kernelFile);
    files.set(key, list);
    depends.set(key, dependsNames(await readFile(`${tree}.control`, 'utf8')));
  }
  const total = [...files.values()].reduce((s, l) => s + l.length, 0) / Object.keys(revs).length;
  const perPart = Math.max(1, Math.ceil(total / (opts.parts ?? 1200)));

  const revisions: Record<string, RealPackage[]> = {};
  for (const [rev, pkgs] of Object.entries(revs)) {
    const byName = new Map(pkgs.map((p) => [p.name, `${p.name}_${p.version}`]));
    const deps = new Map(pkgs.map((p) => [p.name, depends.get(byName.get(p.name)!) ?? []]));
    const out: RealPackage[] = [];
    for (const { pkg, deps: d } of ordered(pkgs, deps)) {
      const key = `${pkg.name}_${pkg.version}`;
      const list = files.get(key) ?? [];
      const parts: string[][] = [];
      for (let i = 0; i < list.length; i += perPart) parts.push(list.slice(i, i + perPart));
      if (parts.length === 0) parts.push([]);
      const tree = treeOf(pkg);
      const elfs = await Promise.all(
        parts.map(async (fs) => {
          const flags = await Promise.all(fs.map((f) => isElf(join(tree, f))));
          return fs.filter((_, i) => flags[i]);
        }),
      );
      out.push({
        name: pkg.name,
        version: pkg.version,
        storeName: storeSafe(`${pkg.name}-${pkg.version}`),
        tree,
        deps: d,
        parts,
        elfs,
      });
    }
    revisions[rev] = out;
  }
  const has = (n: string) => (revs['1']!.some((p) => p.name === n) ? n : null);
  return {
    revisions,
    roles: {
      systemd: has('systemd'),
      linux: revs['1']!.find((p) => p.name.startsWith('linux-image'))?.name ?? null,
      kiosk: has('chromium'),
      touch: has('xkb-data'),
    },
  };
}
