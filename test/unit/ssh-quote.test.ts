// Quoting is what stands between a store path or a user's argument and the remote shell: every word must
// reach the command exactly. Checked through the real shells a host may have (dash as /bin/sh, and bash).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuoteError, quoteArgv, quoteWord, withEnv } from '../../src/adapters/ssh/quote.ts';
import { WRAPPER_SCRIPT, wrappedCommand } from '../../src/adapters/ssh/wrapper.ts';

const SHELLS = ['/bin/sh', '/bin/bash'];

/** Runs a command line as sshd would: `shell -c LINE`. */
function shell(sh: string, line: string): { stdout: Buffer; stderr: string; status: number | null } {
  const r = spawnSync(sh, ['-c', line], {
    env: { PATH: '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { stdout: r.stdout, stderr: r.stderr.toString('utf8'), status: r.status };
}

function words(out: Buffer): string[] {
  const parts = out.toString('utf8').split('\0');
  parts.pop();
  return parts;
}

const hostile = fc.constantFrom(
  "'",
  '"',
  '$(touch /tmp/pwned)',
  '`id`',
  ';',
  '\n',
  '\r\n',
  '\\',
  '*',
  '~',
  '~root',
  '-n',
  '--',
  '-e',
  '$HOME',
  '$' + '{PATH}',
  '!',
  '!!',
  '#',
  ' ',
  '\t',
  'é',
  '日本',
  '😀',
  '=x',
  'A=b',
  '&&',
  '|',
  '>',
  '<',
  '{a,b}',
  '(',
  ')',
  '[a]',
  '?',
  "'\\''",
  '%s',
);
const piece = fc.oneof(hostile, fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ maxLength: 8 }));
const word = fc.array(piece, { maxLength: 5 }).map((ps) => ps.join('').replaceAll('\0', ''));

describe('quoteArgv', () => {
  for (const sh of SHELLS) {
    it(`hands every word to the command verbatim through ${sh}`, () => {
      fc.assert(
        fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
          const r = shell(sh, quoteArgv(['printf', '%s\\0', ...argv]));
          expect(r.stderr).toBe('');
          expect(words(r.stdout)).toEqual(argv.length === 0 ? [''] : argv);
        }),
        { numRuns: 150 },
      );
    });

    it(`runs a program whose name starts with a dash and holds a space, through ${sh}`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'signage-quote-'));
      try {
        writeFileSync(join(dir, '-odd name'), '#!/bin/sh\nprintf "ran:%s" "$*"\n', { mode: 0o755 });
        const env = { PATH: `${dir}:/usr/bin:/bin` };
        const run = (line: string) =>
          spawnSync(sh, ['-c', line], { env, stdio: ['ignore', 'pipe', 'pipe'] }).stdout.toString();
        expect(run(quoteArgv(['-odd name', '-x', 'y z']))).toBe('ran:-x y z');
        expect(run(wrappedCommand(['-odd name', '-x']))).toBe('ran:-x');
        expect(run(wrappedCommand(['-odd name', '-x'], { A: '1' }))).toBe('ran:-x');
        // The wrapper itself under this shell too: /bin/sh is bash on NixOS and dash on Debian.
        expect(run(quoteArgv([sh, '-c', WRAPPER_SCRIPT, 'sh', '-odd name', '-x']))).toBe('ran:-x');
        expect(run(quoteArgv([sh, '-c', WRAPPER_SCRIPT, 'sh', 'printf', '%s|', '-n', '--']))).toBe('-n|--|');
      } finally {
        if (dir.startsWith(join(tmpdir(), 'signage-quote-'))) rmSync(dir, { recursive: true, force: true });
      }
    });

    it(`passes environment values verbatim through the wrapper in ${sh}`, () => {
      fc.assert(
        fc.property(word, word, fc.array(word, { maxLength: 4 }), (a, b, rest) => {
          const line = wrappedCommand(['/bin/sh', '-c', 'printf "%s\\0" "$A_1" "$_B" "$@"', 'sh', ...rest], {
            A_1: a,
            _B: b,
          });
          const r = shell(sh, line);
          expect(r.status).toBe(0);
          expect(words(r.stdout)).toEqual([a, b, ...rest]);
          // The wrapper's first stderr line names the process group; nothing else is printed.
          expect(r.stderr).toMatch(/^signage-pgid \d+\n$/);
        }),
        { numRuns: 100 },
      );
    });
  }

  it('leaves plain words bare and quotes everything else', () => {
    expect(quoteArgv(['nix-store', '--check-validity', '/nix/store/abc-x.y_z+1'])).toBe(
      'nix-store --check-validity /nix/store/abc-x.y_z+1',
    );
    expect(quoteWord('')).toBe("''");
    expect(quoteWord("it's")).toBe(`'it'\\''s'`);
    expect(quoteWord('A=b')).toBe("'A=b'");
    expect(quoteWord('~')).toBe("'~'");
  });

  it('refuses NUL bytes, which no command can receive', () => {
    expect(() => quoteWord('a\0b')).toThrow(QuoteError);
    expect(() => quoteArgv(['echo', '\0'])).toThrow(/NUL/);
    expect(() => withEnv({ A: 'x\0' }, ['true'])).toThrow(/NUL/);
  });

  it('refuses an empty command', () => {
    expect(() => quoteArgv([])).toThrow(QuoteError);
    expect(() => withEnv({ A: '1' }, [])).toThrow(QuoteError);
  });
});

describe('withEnv', () => {
  it('renders env -- K=V before the command', () => {
    expect(withEnv({ LANG: 'C', X_1: 'a b' }, ['nix', 'build'])).toEqual([
      'env',
      '--',
      'LANG=C',
      'X_1=a b',
      'nix',
      'build',
    ]);
    expect(withEnv({}, ['true'])).toEqual(['true']);
  });

  it('refuses names that are not plain variable names', () => {
    for (const name of ['lower', '1A', 'A-B', 'A B', '', 'A=B', 'Ä']) {
      expect(() => withEnv({ [name]: 'x' }, ['true'])).toThrow(/name/);
    }
  });

  it('refuses a program name env would take for one more assignment', () => {
    expect(() => withEnv({ A: '1' }, ['X=1', 'true'])).toThrow(/"="/);
  });
});
