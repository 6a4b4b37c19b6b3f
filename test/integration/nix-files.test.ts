// The Nix files, checked with the Nix installed here and against the code they describe: every file parses;
// flake.nix lists its outputs without touching nixpkgs; npm-lock.nix asks for exactly the tarballs npm put
// into node_modules here; npm's default registry is read from the npm that ran here; sources.nix agrees
// with the imports in the code; settings.nix writes a configuration the bot's own parser accepts; the
// hardening passes `systemd-analyze verify`.
//
// Not verified here: whatever needs nixpkgs (package.nix, npm-deps.nix, unit-tests.nix, module.nix,
// module-check.nix, host-module.nix and host-module-check.nix beyond parsing; host-module.test.ts checks
// what it can of the host module), since this machine has no nixpkgs and no network to fetch it.
// `nix flake check` evaluates and builds those.
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const REGISTRY = 'https://registry.invalid';

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const nixInstantiate = onPath('nix-instantiate');
const systemdAnalyze = onPath('systemd-analyze');

/** The npm first on PATH: <npm>/bin/npm-cli.js behind the `npm` link. */
function npmHere(): { cli: string; root: string } | undefined {
  const bin = onPath('npm');
  if (bin === undefined) return undefined;
  const cli = realpathSync(bin);
  return { cli, root: dirname(dirname(cli)) };
}
const npm = npmHere();

/** Evaluates BODY with `root` (the repository), `lib NAME` (nix/lib/NAME.nix), `json FILE` and `data`. */
function nixArgs(body: string, data: unknown): string[] {
  const expr = [
    '{ root, data }:',
    'let',
    '  lib = name: import (root + "/nix/lib/" + name + ".nix");',
    '  json = file: builtins.fromJSON (builtins.readFile (root + "/" + file));',
    '  npmLock = lib "npm-lock";',
    '  input = builtins.fromJSON data;',
    'in',
    body,
  ].join('\n');
  return [
    '--eval',
    '--strict',
    '--json',
    '--argstr',
    'root',
    ROOT,
    '--argstr',
    'data',
    JSON.stringify(data ?? null),
    '--expr',
    expr,
  ];
}

async function nixEval<T>(body: string, data: unknown = null): Promise<T> {
  const out = await execa(nixInstantiate!, nixArgs(body, data), {
    reject: false,
    stdin: 'ignore',
    cwd: ROOT,
  });
  if (out.exitCode !== 0) throw new Error(`nix-instantiate failed:\n${out.stderr}`);
  return JSON.parse(out.stdout) as T;
}

async function nixError(body: string, data: unknown = null): Promise<string> {
  const out = await execa(nixInstantiate!, nixArgs(body, data), {
    reject: false,
    stdin: 'ignore',
    cwd: ROOT,
  });
  expect(out.exitCode, `expected the evaluation to fail, it gave ${out.stdout}`).not.toBe(0);
  return out.stderr;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe.skipIf(nixInstantiate === undefined)('the Nix files', () => {
  describe('every .nix file', () => {
    function nixFiles(dir: string): string[] {
      const found: string[] = [];
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (
          ['node_modules', '.git', '.state', 'coverage'].includes(entry.name) ||
          entry.name.startsWith('result')
        )
          continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) found.push(...nixFiles(path));
        else if (entry.isFile() && entry.name.endsWith('.nix')) found.push(path);
      }
      return found;
    }

    it('parses', async () => {
      const files = nixFiles(ROOT).map((f) => relative(ROOT, f));
      for (const expected of [
        'flake.nix',
        'nix/package.nix',
        'nix/npm-deps.nix',
        'nix/unit-tests.nix',
        'nix/module.nix',
        'nix/module-check.nix',
        'nix/host-module.nix',
        'nix/host-module-check.nix',
        'nix/lib/signage-host.nix',
        'nix/lib/npm-lock.nix',
        'nix/lib/npm-default-registry.nix',
        'nix/lib/sources.nix',
        'nix/lib/settings.nix',
        'nix/lib/hardening.nix',
      ]) {
        expect(files).toContain(expected);
      }
      const failures: string[] = [];
      for (const file of files) {
        const out = await execa(nixInstantiate!, ['--parse', join(ROOT, file)], {
          reject: false,
          stdin: 'ignore',
        });
        if (out.exitCode !== 0) failures.push(`${file}: ${out.stderr.trim()}`);
      }
      expect(failures).toEqual([]);
    });
  });

  describe('flake.nix, evaluated as a plain expression with a nixpkgs that throws when touched', () => {
    const outputs = `
      let
        flake = import (root + "/flake.nix");
        outputs = flake.outputs { self = outputs; nixpkgs = throw "the nixpkgs stand-in was touched"; };
      in`;

    it('has a description, a nixpkgs input and the outputs the docs name, without evaluating nixpkgs', async () => {
      const got = await nixEval<{
        description: string;
        inputs: Record<string, { url?: string }>;
        outputs: string[];
        perSystem: Record<string, Record<string, string[]>>;
        modules: Record<string, string>;
        overlay: boolean;
      }>(`${outputs} {
        inherit (flake) description inputs;
        outputs = builtins.attrNames outputs;
        perSystem = builtins.listToAttrs (map (name: { inherit name; value = builtins.mapAttrs (_: builtins.attrNames) outputs.\${name}; })
          [ "packages" "apps" "checks" "devShells" ]);
        modules = builtins.mapAttrs (_: toString) outputs.nixosModules;
        overlay = builtins.isFunction outputs.overlays.default;
      }`);
      expect(got.description).toMatch(/signage/);
      expect(Object.keys(got.inputs)).toEqual(['nixpkgs']);
      expect(got.inputs.nixpkgs?.url).toMatch(/^github:NixOS\/nixpkgs\//);
      expect(got.outputs).toEqual([
        'apps',
        'checks',
        'devShells',
        'formatter',
        'nixosModules',
        'overlays',
        'packages',
      ]);
      for (const system of ['x86_64-linux', 'aarch64-linux']) {
        expect(got.perSystem.packages?.[system]).toEqual(['default', 'signage-bot']);
        expect(got.perSystem.apps?.[system]).toEqual(['default', 'deploy', 'signage']);
        expect(got.perSystem.checks?.[system]).toEqual(['host-module', 'module', 'package', 'unit-tests']);
        expect(got.perSystem.devShells?.[system]).toEqual(['default']);
      }
      expect(got.modules).toEqual({
        default: join(ROOT, 'nix', 'module.nix'),
        'signage-bot': join(ROOT, 'nix', 'module.nix'),
        'signage-host': join(ROOT, 'nix', 'host-module.nix'),
      });
      expect(got.overlay).toBe(true);
    });

    it('reaches nixpkgs only when a package is evaluated (so the stand-in above was really in place)', async () => {
      const stderr = await nixError(`${outputs} outputs.packages.x86_64-linux.default.name`);
      expect(stderr).toContain('the nixpkgs stand-in was touched');
    });
  });

  describe('npm-lock.nix against package-lock.json and node_modules', () => {
    interface LockEntry {
      name?: string;
      version?: string;
      resolved?: string;
      dev?: boolean;
      os?: string | string[];
      cpu?: string | string[];
      libc?: string | string[];
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    }
    interface Lock {
      packages: Record<string, LockEntry>;
    }
    interface Manifest {
      name: string;
      version: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    }
    type Prepared = { package: Manifest; packageLock: Lock };

    const lock = readJson<Lock>(join(ROOT, 'package-lock.json'));
    const manifest = readJson<Manifest>(join(ROOT, 'package.json'));
    const devKeys = Object.keys(lock.packages).filter((k) => k !== '' && lock.packages[k]?.dev === true);

    /** Package folders npm put into node_modules here that the lockfile records, with their own name and version. */
    function installedHere(): Map<string, { name: string; version: string }> {
      const found = new Map<string, { name: string; version: string }>();
      const visit = (dir: string) => {
        let entries: string[];
        try {
          entries = readdirSync(join(ROOT, dir));
        } catch {
          return;
        }
        for (const name of entries) {
          if (name.startsWith('.')) continue;
          if (name.startsWith('@')) {
            for (const scoped of readdirSync(join(ROOT, dir, name))) take(`${dir}/${name}/${scoped}`);
          } else take(`${dir}/${name}`);
        }
      };
      const take = (key: string) => {
        let own: Manifest;
        try {
          own = readJson<Manifest>(join(ROOT, key, 'package.json'));
        } catch {
          return;
        }
        // Folders an install script made (the `node` package downloads Node itself) are not npm's.
        if (lock.packages[key] !== undefined) found.set(key, { name: own.name, version: own.version });
        visit(`${key}/node_modules`);
      };
      visit('node_modules');
      return found;
    }

    const prepare = (system: string, omitDev: boolean) => `
      npmLock.prepare {
        registry = "${REGISTRY}/";
        platform = npmLock.npmPlatform ${system};
        omitDev = ${omitDev};
        package = json "package.json";
        packageLock = json "package-lock.json";
      }`;

    const fetchedBy = (prepared: Prepared) =>
      Object.entries(prepared.packageLock.packages)
        .filter(([, e]) => e.resolved?.startsWith(`${REGISTRY}/`))
        .map(([k]) => k);

    it("maps this machine's Nix system to the platform Node reports", async () => {
      const platform = await nixEval<{ os: string; cpu: string; libc: string | null }>(
        'npmLock.npmPlatform builtins.currentSystem',
      );
      const header = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
      expect(platform).toEqual({
        os: process.platform,
        cpu: process.arch,
        libc: header.header?.glibcVersionRuntime ? 'glibc' : platform.libc,
      });
    });

    it('gives every package installed here a URL from its own name and version, and no other entry one', async () => {
      const here = installedHere();
      expect(here.size).toBeGreaterThan(50);
      const prepared = await nixEval<Prepared>(prepare('builtins.currentSystem', false));
      expect(sorted(fetchedBy(prepared))).toEqual(sorted(here.keys()));
      const wrong: string[] = [];
      for (const [key, own] of here) {
        const basename = own.name.replace(/^@[^/]+\//, '');
        const expected = `${REGISTRY}/${own.name}/-/${basename}-${own.version}.tgz`;
        const got = prepared.packageLock.packages[key]?.resolved;
        if (got !== expected) wrong.push(`${key}: ${got} instead of ${expected}`);
      }
      expect(wrong).toEqual([]);
    });

    describe.skipIf(npm === undefined)("platform rules, as npm's own npm-install-checks applies them", () => {
      type Target = { os?: string | string[]; cpu?: string | string[]; libc?: string | string[] };
      type Platform = { os: string; cpu: string; libc: string | null };
      const checks = () =>
        createRequire(join(npm!.root, 'package.json'))('npm-install-checks') as {
          checkPlatform(
            target: Target,
            force: boolean,
            env: { os: string; cpu: string; libc?: string },
          ): void;
        };
      const npmFits = (target: Target, p: Platform) => {
        try {
          checks().checkPlatform(target, false, {
            os: p.os,
            cpu: p.cpu,
            ...(p.libc ? { libc: p.libc } : {}),
          });
          return true;
        } catch {
          return false;
        }
      };

      it('fitsPlatform agrees with npm on negations, positives, "any" and libc', async () => {
        const targets: Target[] = [
          {},
          { os: ['linux'] },
          { os: 'linux' },
          { os: ['!win32'] },
          { os: ['!linux'] },
          { os: ['!darwin', '!win32'] },
          { os: ['!darwin', 'linux'] },
          { os: ['any'] },
          { cpu: ['any', 'x64'] },
          { cpu: [] },
          { cpu: ['x64', 'arm64'] },
          { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
          { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
          { libc: ['!musl'] },
          { libc: ['glibc'] },
        ];
        const platforms: Platform[] = [
          { os: 'linux', cpu: 'x64', libc: 'glibc' },
          { os: 'linux', cpu: 'arm64', libc: 'glibc' },
          { os: 'linux', cpu: 'x64', libc: 'musl' },
          { os: 'darwin', cpu: 'arm64', libc: null },
        ];
        const nix = await nixEval<boolean[][]>(
          'map (p: map (t: npmLock.fitsPlatform p t) input.targets) input.platforms',
          { targets, platforms },
        );
        const npmSays = platforms.map((p) => targets.map((t) => npmFits(t, p)));
        expect(nix).toEqual(npmSays);
      });

      it("fetches another platform's binaries for that platform, and never a binary that does not fit it", async () => {
        const other = process.arch === 'x64' ? 'aarch64-linux' : 'x86_64-linux';
        const platform = await nixEval<Platform>(`npmLock.npmPlatform "${other}"`);
        const prepared = await nixEval<Prepared>(prepare(`"${other}"`, false));
        const fetched = new Set(fetchedBy(prepared));
        const specific = Object.entries(lock.packages).filter(([, e]) => e.os || e.cpu || e.libc);
        const misfitsFetched = specific
          .filter(([k, e]) => fetched.has(k) && !npmFits(e, platform))
          .map(([k]) => k);
        expect(misfitsFetched).toEqual([]);
        const hereFetched = new Set(installedHere().keys());
        const onlyThere = specific.filter(([k]) => fetched.has(k) && !hereFetched.has(k)).map(([k]) => k);
        expect(onlyThere.length, `no ${platform.cpu} binary was chosen`).toBeGreaterThan(0);
      });
    });

    it('production variant: drops dev-only packages from both files and fetches the rest', async () => {
      const prepared = await nixEval<Prepared>(prepare('builtins.currentSystem', true));
      const devOnly = await nixEval<string[]>('npmLock.devOnly (json "package-lock.json")');
      expect(sorted(devOnly)).toEqual(sorted(devKeys));
      expect(devKeys.length).toBeGreaterThan(0);

      expect(prepared.package.devDependencies).toBeUndefined();
      expect(prepared.package.dependencies).toEqual(manifest.dependencies);
      expect(prepared.packageLock.packages['']?.devDependencies).toBeUndefined();
      expect(Object.entries(prepared.packageLock.packages).filter(([, e]) => e.dev)).toEqual([]);

      const dev = new Set(devKeys);
      const here = [...installedHere().keys()].filter((k) => !dev.has(k));
      expect(sorted(fetchedBy(prepared))).toEqual(sorted(here));
      for (const name of Object.keys(manifest.dependencies ?? {})) {
        expect(prepared.packageLock.packages[`node_modules/${name}`]?.resolved, name).toMatch(/\.tgz$/);
      }
    });

    it('keeps a resolved URL the lockfile already has', async () => {
      const got = await nixEval<string>(`
        let
          lock = json "package-lock.json";
          zod = lock.packages."node_modules/zod" // { resolved = "https://mirror.invalid/zod.tgz"; };
          prepared = npmLock.prepare {
            registry = "${REGISTRY}";
            platform = npmLock.npmPlatform builtins.currentSystem;
            omitDev = true;
            package = json "package.json";
            packageLock = lock // { packages = lock.packages // { "node_modules/zod" = zod; }; };
          };
        in prepared.packageLock.packages."node_modules/zod".resolved`);
      expect(got).toBe('https://mirror.invalid/zod.tgz');
    });

    it('derives URLs from the real name of aliased and scoped packages', async () => {
      const got = await nixEval<string[]>(`[
        (npmLock.tarballUrl "${REGISTRY}/" "@slack/bolt" "5.1.0")
        (npmLock.tarballUrl "${REGISTRY}" (npmLock.nameOf "node_modules/old-name" { name = "new-name"; }) "1.0.0")
        (npmLock.nameOf "node_modules/a/node_modules/@scope/b" { })
      ]`);
      expect(got).toEqual([
        `${REGISTRY}/@slack/bolt/-/bolt-5.1.0.tgz`,
        `${REGISTRY}/new-name/-/new-name-1.0.0.tgz`,
        '@scope/b',
      ]);
    });

    it('names a required package that does not fit the platform, as npm would refuse it', async () => {
      const stderr = await nixError(`
        (npmLock.prepare {
          registry = "${REGISTRY}";
          platform = npmLock.npmPlatform "x86_64-linux";
          omitDev = true;
          package = { name = "app"; version = "1.0.0"; dependencies.mac-only = "1.0.0"; };
          packageLock = {
            lockfileVersion = 3;
            packages = {
              "" = { name = "app"; version = "1.0.0"; dependencies.mac-only = "1.0.0"; };
              "node_modules/mac-only" = { version = "1.0.0"; os = [ "darwin" ]; };
            };
          };
        }).packageLock`);
      expect(stderr).toContain('npm would refuse to install node_modules/mac-only on linux/x64');
    });

    it('refuses a lockfileVersion 1 lockfile with a clear message', async () => {
      const stderr = await nixError(`
        (npmLock.prepare {
          registry = "${REGISTRY}";
          platform = npmLock.npmPlatform "x86_64-linux";
          omitDev = true;
          package = { name = "old"; version = "1.0.0"; };
          packageLock = { lockfileVersion = 1; dependencies = { }; };
        }).packageLock`);
      expect(stderr).toContain('lockfileVersion 1');
      expect(stderr).toContain('not supported');
      expect(stderr).toContain('npm install --package-lock-only');
    });
  });

  describe('npm-default-registry.nix', () => {
    let scratch: string;
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), 'signage-nix-files-'));
    });
    afterAll(() => {
      // Only the directory made above.
      if (scratch?.startsWith(join(tmpdir(), 'signage-nix-files-')))
        rmSync(scratch, { recursive: true, force: true });
    });

    it.skipIf(npm === undefined)(
      'reads the registry npm uses by default from the npm that ran here',
      async () => {
        expect(npm!.cli.endsWith(`${sep}bin${sep}npm-cli.js`), npm!.cli).toBe(true);
        const definitions = join(
          npm!.root,
          'node_modules',
          '@npmcli',
          'config',
          'lib',
          'definitions',
          'definitions.js',
        );
        const fromNix = await nixEval<string>(
          'import (root + "/nix/lib/npm-default-registry.nix") input',
          definitions,
        );
        const fromNpm = await execa(process.execPath, [npm!.cli, 'config', 'get', 'registry'], {
          env: { npm_config_registry: '' },
          stdin: 'ignore',
        });
        expect(fromNix).toMatch(/^https:\/\//);
        expect(fromNix).toBe(fromNpm.stdout.trim());
      },
    );

    it('says what to do when the file has no default registry', async () => {
      const file = join(scratch, 'definitions.js');
      writeFileSync(
        file,
        "module.exports = { 'save-exact': new Definition('save-exact', { default: false }) }\n",
      );
      const stderr = await nixError('import (root + "/nix/lib/npm-default-registry.nix") input', file);
      expect(stderr).toContain("cannot find npm's default registry");
      expect(stderr).toContain('npmRegistry');
    });
  });

  describe('sources.nix against the code', () => {
    interface Sources {
      runtime: string[];
      entryPoints: Record<string, string>;
      unitTestsExclude: string[];
    }
    const manifest = readJson<{
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    }>(join(ROOT, 'package.json'));
    const sources = () =>
      nixEval<Sources>('let s = lib "sources"; in { inherit (s) runtime entryPoints unitTestsExclude; }');

    const STATIC = /^[ \t]*(?:import|export)(?!\s+type\b)[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm;
    const BARE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
    const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
    function importsOf(file: string): string[] {
      const text = readFileSync(file, 'utf8');
      return [STATIC, BARE, DYNAMIC].flatMap((re) => [...text.matchAll(re)].map((m) => m[1]!));
    }
    const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec);
    const packageOf = (spec: string) =>
      spec
        .split('/')
        .slice(0, spec.startsWith('@') ? 2 : 1)
        .join('/');
    function codeFiles(dir: string): string[] {
      const out: string[] = [];
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) out.push(...codeFiles(path));
        else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) out.push(path);
      }
      return out;
    }

    it('names entry points that exist inside the package', async () => {
      const s = await sources();
      expect(s.entryPoints).toEqual({ signage: 'bin/signage.ts', 'signage-bot': 'src/main/bot.ts' });
      for (const part of s.runtime) expect(() => statSync(join(ROOT, part)), part).not.toThrow();
      for (const entry of Object.values(s.entryPoints)) {
        expect(isFileSync(join(ROOT, entry)), `${entry} does not exist`).toBe(true);
        expect(s.runtime).toContain(entry.split('/')[0]);
      }
    });

    it('holds everything the running code imports, and only production dependencies from node_modules', async () => {
      const s = await sources();
      const production = new Set(Object.keys(manifest.dependencies ?? {}));
      const inPackage = (rel: string) => s.runtime.includes(rel.split(sep)[0]!);
      const problems: string[] = [];
      const dirs = s.runtime.filter((p) => statSync(join(ROOT, p)).isDirectory());
      const files = dirs.flatMap((d) => codeFiles(join(ROOT, d)));
      expect(files.length).toBeGreaterThan(20);
      for (const file of files) {
        for (const spec of importsOf(file)) {
          const where = `${relative(ROOT, file)} imports ${spec}`;
          if (spec.startsWith('.')) {
            const target = resolve(dirname(file), spec);
            if (!isFileSync(target)) problems.push(`${where}, which does not exist`);
            else if (!inPackage(relative(ROOT, target)))
              problems.push(`${where}, which the package leaves out`);
          } else if (!isBuiltin(spec) && !production.has(packageOf(spec))) {
            problems.push(`${where}, which is not a production dependency in package.json`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('gives the unit-test check everything the unit tests import', async () => {
      const installed = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.devDependencies ?? {}),
      ]);
      const unitDir = join(ROOT, 'test', 'unit');
      const start = [...codeFiles(unitDir), join(ROOT, 'vitest.config.ts')];
      expect(
        start.filter((f) => f.endsWith('.test.ts')).length,
        'test/unit has no tests for the check to run',
      ).toBeGreaterThan(0);
      // vitest.config.ts names its reporter by path, not by import.
      const configText = readFileSync(join(ROOT, 'vitest.config.ts'), 'utf8');
      for (const m of configText.matchAll(/['"](\.\/[^'"]+\.ts)['"]/g)) start.push(join(ROOT, m[1]!));

      const reached = new Set<string>();
      const problems: string[] = [];
      const queue = [...start];
      while (queue.length > 0) {
        const file = queue.pop()!;
        if (reached.has(file)) continue;
        reached.add(file);
        if (!isFileSync(file)) {
          problems.push(`${relative(ROOT, file)} does not exist`);
          continue;
        }
        for (const spec of importsOf(file)) {
          if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
          else if (!isBuiltin(spec) && !installed.has(packageOf(spec)))
            problems.push(`${relative(ROOT, file)} imports ${spec}, which package.json does not list`);
        }
      }
      // npm installs from these two, and vitest reads its configuration.
      const needed = ['package.json', 'package-lock.json', ...[...reached].map((f) => relative(ROOT, f))];
      const excluded = await nixEval<boolean[]>('map (lib "sources").excludedFromUnitTests input', needed);
      needed.forEach((path, i) => {
        if (excluded[i]) problems.push(`${path} is needed by the unit tests but the check leaves it out`);
      });
      expect(problems).toEqual([]);
    });
  });

  describe('settings.nix', () => {
    const parsePath = join(ROOT, 'src', 'adapters', 'config', 'parse.ts');
    interface Parsed {
      builder: { signingKeyFile: string };
      ssh: {
        knownHostsFile: string;
        identityFile?: string;
        agentSocket?: string;
        connectTimeoutSeconds: number;
        commandTimeoutSeconds: number;
      };
      slack: { mode: string };
      hosts: Record<string, unknown>;
    }
    type ParseResult = { ok: true; value: Parsed } | { ok: false; error: unknown };
    const parseConfig = async (text: string): Promise<ParseResult> => {
      const mod = (await import(parsePath)) as {
        parseConfig(text: string, fileName: string, env: Record<string, string | undefined>): ParseResult;
      };
      return mod.parseConfig(text, 'signage-bot.json', {});
    };

    // What the module hands over: every typed option, unset ones as null.
    const settings = {
      flake: 'github:office/signage-fleet',
      stateDir: '/var/lib/signage-bot',
      builder: { signingKeyFile: null },
      ssh: {
        knownHostsFile: null,
        identityFile: null,
        agentSocket: null,
        connectTimeoutSeconds: null,
        commandTimeoutSeconds: 600,
      },
      defaults: { user: null, port: null, site: 'baard', tags: null, restartCommand: null },
      hosts: {
        'baard-entrance': {
          address: 'baard-entrance.example.ts.net',
          lanAddress: '10.0.4.21',
          port: null,
          user: null,
          site: null,
          tags: ['lobby'],
          restartCommand: null,
        },
        'baard-kitchen': {
          address: null,
          lanAddress: null,
          port: null,
          user: null,
          site: null,
          tags: null,
          restartCommand: null,
        },
      },
      limits: { parallelHosts: null, parallelPeerCopies: 2, approvalTimeoutMinutes: null },
      slack: {
        mode: null,
        port: null,
        channel: 'C0123ABCD',
        approvers: { users: ['U0123ABCD'], usergroup: null },
        deployers: null,
        viewers: null,
        channels: null,
      },
      schedule: { status: null, expireApprovals: null, timezone: 'Europe/Oslo' },
    };

    it.skipIf(!isFileSync(parsePath))(
      "renders a configuration the bot's own parseConfig accepts",
      async () => {
        const text = await nixEval<string>('(lib "settings").toJSON input', {
          settings,
          signingKeyFile: '/var/lib/secrets/signage-builder-1.secret',
          sshIdentityFile: '/var/lib/secrets/signage-bot-ssh',
          knownHostsFile: '/etc/signage/known_hosts',
        });
        expect(text).not.toContain('null');
        expect(text).not.toContain('/var/lib/secrets');
        const parsed = await parseConfig(text);
        expect(parsed.ok ? 'accepted' : JSON.stringify(parsed.error, null, 2)).toBe('accepted');
        if (!parsed.ok) return;
        const config = parsed.value;
        expect(config.builder.signingKeyFile).toBe('/run/credentials/signage-bot.service/signing-key');
        expect(config.ssh.identityFile).toBe('/run/credentials/signage-bot.service/ssh-identity');
        expect(config.ssh.agentSocket).toBeUndefined();
        expect(config.ssh.knownHostsFile).toBe('/etc/signage/known_hosts');
        // Unset options were left out, so the bot's defaults apply.
        expect(config.ssh.connectTimeoutSeconds).toBe(10);
        expect(config.ssh.commandTimeoutSeconds).toBe(600);
        expect(config.slack.mode).toBe('socket');
        expect(config.hosts['baard-kitchen']).toEqual({});
        expect(config.hosts['baard-entrance']).toEqual({
          address: 'baard-entrance.example.ts.net',
          lanAddress: '10.0.4.21',
          tags: ['lobby'],
        });
      },
    );

    it.skipIf(!isFileSync(parsePath))(
      'renders an agent socket instead of a key, which the parser accepts too',
      async () => {
        const text = await nixEval<string>('(lib "settings").toJSON input', {
          settings,
          signingKeyFile: '/var/lib/secrets/signage-builder-1.secret',
          sshAgentSocket: '/run/signage-agent/agent.sock',
          knownHostsFile: '/etc/signage/known_hosts',
        });
        const parsed = await parseConfig(text);
        expect(parsed.ok ? 'accepted' : JSON.stringify(parsed.error, null, 2)).toBe('accepted');
        if (!parsed.ok) return;
        expect(parsed.value.ssh.agentSocket).toBe('/run/signage-agent/agent.sock');
        expect(parsed.value.ssh.identityFile).toBeUndefined();
      },
    );

    it('loads the secret files as credentials', async () => {
      const lines = await nixEval<string[]>('(lib "settings").loadCredentials input', {
        signingKeyFile: '/var/lib/secrets/signing.secret',
        sshIdentityFile: '/var/lib/secrets/ssh',
        credentials: { 'slack-bot-token': '/var/lib/secrets/slack-bot-token' },
      });
      expect(lines).toEqual([
        'signing-key:/var/lib/secrets/signing.secret',
        'ssh-identity:/var/lib/secrets/ssh',
        'slack-bot-token:/var/lib/secrets/slack-bot-token',
      ]);
    });

    it("finds what the module's assertions refuse: secrets in the store or relative, bad credential names, hidden agent sockets", async () => {
      const got = await nixEval<Record<string, string | null>>(`
        let s = lib "settings"; in {
          store = s.secretPathProblem "opt" "\${builtins.storeDir}/0000-key";
          relative = s.secretPathProblem "opt" "keys/ssh";
          space = s.secretPathProblem "opt" "/var/lib/my key";
          fine = s.secretPathProblem "opt" "/var/lib/secrets/key";
          unset = s.secretPathProblem "opt" null;
          slash = s.credentialNameProblem "opt" "slack/token";
          colon = s.credentialNameProblem "opt" "slack:token";
          dot = s.credentialNameProblem "opt" "..";
          taken = s.credentialNameProblem "opt" "signing-key";
          name = s.credentialNameProblem "opt" "slack-bot-token";
          runUser = s.agentSocketProblem "opt" "/run/user/1000/ssh-agent.sock";
          tmp = s.agentSocketProblem "opt" "/tmp/ssh-agent.sock";
          home = s.agentSocketProblem "opt" "/home/ops/.ssh/agent.sock";
          agentRelative = s.agentSocketProblem "opt" "agent.sock";
          agent = s.agentSocketProblem "opt" "/run/signage-agent/agent.sock";
        }`);
      expect(got.store).toMatch(/^opt is in the Nix store/);
      expect(got.relative).toMatch(/^opt must be an absolute path/);
      expect(got.space).toMatch(/^opt may not contain whitespace/);
      expect(got.slash).toContain('may not contain "/"');
      expect(got.colon).toContain('may not contain "/", ":"');
      expect(got.dot).toContain('is not a credential name');
      expect(got.taken).toContain('is taken by the module');
      expect(got.runUser).toContain('is under /run/user');
      expect(got.tmp).toContain('is under /tmp');
      expect(got.home).toContain('is under /home');
      expect(got.agentRelative).toContain('must be an absolute path');
      for (const ok of ['fine', 'unset', 'name', 'agent']) expect(got[ok], ok).toBeNull();
    });
  });

  describe('hardening.nix', () => {
    type Value = boolean | string | string[];
    const unitFile = (settings: Record<string, Value>) =>
      [
        '[Unit]',
        'Description=signage-bot hardening check',
        '',
        '[Service]',
        'ExecStart=/bin/true',
        // As NixOS writes them: a list is one line per item, a boolean is true or false.
        ...Object.entries(settings).flatMap(([key, value]) =>
          Array.isArray(value)
            ? value.map((v) => `${key}=${v}`)
            : [`${key}=${typeof value === 'boolean' ? String(value) : value}`],
        ),
        '',
      ].join('\n');

    let scratch: string;
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), 'signage-hardening-'));
    });
    afterAll(() => {
      // Only the directory made above.
      if (scratch?.startsWith(join(tmpdir(), 'signage-hardening-')))
        rmSync(scratch, { recursive: true, force: true });
    });

    it('still lets the bot reach the Nix daemon, ssh and Slack', async () => {
      const h = await nixEval<Record<string, Value>>('lib "hardening"');
      expect(h.RestrictAddressFamilies).toEqual(expect.arrayContaining(['AF_UNIX', 'AF_INET', 'AF_INET6']));
      expect(h.MemoryDenyWriteExecute).toBeUndefined();
      expect(h.PrivateNetwork).toBeUndefined();
      expect(h.ProtectSystem).toBe('strict');
      expect(h.NoNewPrivileges).toBe(true);
    });

    // scripts/setup installs systemd for this check: without systemd-analyze it fails rather than passes.
    const analyze = (): string => {
      expect(systemdAnalyze, 'systemd-analyze is not installed (run scripts/setup)').toBeDefined();
      return systemdAnalyze!;
    };

    it('passes systemd-analyze verify', async () => {
      const h = await nixEval<Record<string, Value>>('lib "hardening"');
      const file = join(scratch, 'signage-bot-hardening.service');
      writeFileSync(file, unitFile(h));
      const out = await execa(analyze(), ['verify', '--man=no', file], {
        reject: false,
        stdin: 'ignore',
      });
      const aboutOurs = out.stderr.split('\n').filter((line) => line.includes(file));
      expect(aboutOurs).toEqual([]);
      expect(out.exitCode, out.stderr).toBe(0);
    });

    it('would catch a misspelt setting (so the check above is not empty)', async () => {
      const file = join(scratch, 'misspelt.service');
      writeFileSync(file, unitFile({ ProtectSytem: 'strict' }));
      const out = await execa(analyze(), ['verify', '--man=no', file], {
        reject: false,
        stdin: 'ignore',
      });
      expect(out.stderr).toContain('ProtectSytem');
    });
  });
});

function isFileSync(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
