// The hosts' closure query picks `nix path-info`'s JSON flags from the host's own `nix --version`, in the same
// round trip: `--json-format 1` from Nix 2.33 (where `--json` alone is deprecated), never before (where the flag
// is refused) nor on Lix. Run through the real sh against a stand-in `nix` that behaves as each version does
// (refuses the flag, or warns without it) and prints that version's recorded output shape.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closureQueryArgv, parseNixVersion, pathInfoJsonFlags } from '../../src/adapters/nix/closure.ts';
import { parsePathInfoDetailed } from '../../src/adapters/nix/path-info.ts';

const fixtures = join(import.meta.dirname, '../fixtures/nix');
const XZ = '/nix/store/0l4r5xa228yzmg8shnqm9j2r0g76ham8-xz-5.6.3';
const reference = parsePathInfoDetailed(
  readFileSync(join(fixtures, 'path-info-2.8-list.json'), 'utf8'),
).valid;
const byPath = <T extends { path: string }>(xs: readonly T[]) =>
  [...xs].sort((a, b) => (a.path < b.path ? -1 : 1));

// A stand-in for one version's `nix`: $1 of the script is ignored, the behaviour comes from the variables.
const FAKE_NIX = `#!/bin/sh
if [ "$1" = --version ]; then printf '%s\\n' "$FAKE_VERSION"; exit 0; fi
printf '%s\\n' "$*" > "$FAKE_DIR/argv"
case " $* " in
  *' --json-format '*)
    if [ "$FAKE_HAS_FORMAT" != yes ]; then echo "error: unrecognised flag '--json-format'" >&2; exit 1; fi
    cat "$FAKE_FORMAT1" ;;
  *)
    if [ "$FAKE_HAS_FORMAT" = yes ]; then
      echo "warning: '--json' without '--json-format' is deprecated; it will become an error" >&2
    fi
    cat "$FAKE_PLAIN" ;;
esac
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runQuery(version: string, hasFormat: boolean, plain: string) {
  const dir = mkdtempSync(join(tmpdir(), 'signage-fake-nix-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'nix'), FAKE_NIX);
  chmodSync(join(dir, 'nix'), 0o755);
  const [program, ...args] = closureQueryArgv(XZ);
  const r = spawnSync(program!, args, {
    encoding: 'utf8',
    env: {
      PATH: `${dir}:/usr/bin:/bin`,
      FAKE_DIR: dir,
      FAKE_VERSION: version,
      FAKE_HAS_FORMAT: hasFormat ? 'yes' : 'no',
      FAKE_PLAIN: join(fixtures, plain),
      FAKE_FORMAT1: join(fixtures, 'path-info-2.33-keyed-v1.json'),
    },
  });
  const argv = readFileSync(join(dir, 'argv'), 'utf8').trim().split(' ');
  return { ...r, argv };
}

describe("the hosts' closure query", () => {
  it.each([
    // version line, has --json-format, the shape it prints for --json alone
    ['nix (Nix) 2.8.0', false, 'path-info-2.8-list.json'],
    ['nix (Nix) 2.18.9', false, 'path-info-2.8-list.json'],
    ['nix (Nix) 2.24.15', false, 'path-info-2.19-keyed.json'],
    ['nix (Nix) 2.32.4', false, 'path-info-2.19-keyed.json'],
    ['nix (Nix) 2.33.0', true, 'path-info-2.33-keyed-v1.json'],
    ['nix (Nix) 2.34.5', true, 'path-info-2.33-keyed-v1.json'],
    ['nix (Nix) 2.40pre20260101_abcdef', true, 'path-info-2.33-keyed-v1.json'],
    ['nix (Nix) 3.0.0', true, 'path-info-2.33-keyed-v1.json'],
    ['nix (Determinate Nix 3.6.2) 2.29.0', false, 'path-info-2.19-keyed.json'],
    ['nix (Determinate Nix 3.15.0) 2.33.1', true, 'path-info-2.33-keyed-v1.json'],
    ['nix (Lix, like Nix) 2.91.1', false, 'path-info-lix-list.json'],
  ] as const)(
    'on %s passes the flags that version wants, and reads its answer',
    (version, hasFormat, plain) => {
      const r = runQuery(version, hasFormat, plain);
      expect(r.status, r.stderr).toBe(0);
      // No deprecation warning and no refused flag: the form this version wants.
      expect(r.stderr).toBe('');
      expect(r.argv.includes('--json-format')).toBe(hasFormat);
      // The same choice as the builder's, made from the same version line.
      const flags = pathInfoJsonFlags(parseNixVersion(version));
      expect(r.argv.slice(r.argv.indexOf('path-info') + 1, -3)).toEqual(flags);
      expect(r.argv.slice(-3)).toEqual(['--recursive', '--', XZ]);
      expect(byPath(parsePathInfoDetailed(r.stdout).valid)).toEqual(byPath(reference));
    },
  );

  it('falls back to the flags every version up to 2.32 takes when the version line is unreadable', () => {
    for (const version of ['', 'nix (Nix) unknown', 'something else entirely']) {
      const r = runQuery(version, false, 'path-info-2.19-keyed.json');
      expect(r.status).toBe(0);
      expect(r.argv).not.toContain('--json-format');
    }
    expect(pathInfoJsonFlags(null)).toEqual(['--json']);
  });

  it('passes the path as a parameter, never as script text', () => {
    const argv = closureQueryArgv(XZ);
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).not.toContain(XZ);
    expect(argv.slice(3)).toEqual(['sh', XZ]);
    expect(() => closureQueryArgv('/nix/store/x; rm -rf /' as never)).toThrow(/not a store path/);
  });

  it('is plain POSIX sh (dash parses it)', () => {
    expect(() => execFileSync('dash', ['-n', '-c', closureQueryArgv(XZ)[2]!])).not.toThrow();
  });
});
