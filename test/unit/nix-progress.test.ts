import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildLogRenderer } from '../../src/adapters/nix/build.ts';
import { diagnoseCopyFailure } from '../../src/adapters/nix/copy-failure.ts';
import { nixKnowledge } from '../../src/adapters/nix/port.ts';
import {
  type CopyEvent,
  CopyLogReader,
  copyLineReader,
  decodeLogLine,
  errorMessage,
  firstNixError,
  stripAnsi,
} from '../../src/adapters/nix/progress.ts';
import { isStorePath } from '../../src/core/storepath.ts';

const lines = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/nix', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

function readAll(reader: CopyLogReader, log: readonly string[]): CopyEvent[] {
  return log.flatMap((l) => reader.feed(l));
}

/** "copying N paths" as Nix wrote it, read with a plain regex rather than the parser under test. */
function announced(log: readonly string[]): number {
  const m = log.join('\n').match(/"text":"copying (\d+) paths"/);
  if (!m) throw new Error('fixture announces no copy');
  return Number(m[1]);
}

describe('decodeLogLine', () => {
  it('decodes each action of a real log and keeps foreign lines as text', () => {
    expect(decodeLogLine('@nix {"action":"stop","id":7}')).toEqual({ kind: 'stop', id: 7 });
    expect(decodeLogLine('@nix {"action":"result","fields":[1,2,0,0],"id":7,"type":105}')).toEqual({
      kind: 'result',
      id: 7,
      type: 105,
      fields: [1, 2, 0, 0],
    });
    const start = decodeLogLine(lines('peer-copy-2.8.log').find((l) => l.includes('"type":100'))!);
    expect(start).toMatchObject({ kind: 'start', type: 100, parent: 0 });
    expect(start?.kind === 'start' && isStorePath(start.fields[0])).toBe(true);
    expect(decodeLogLine('Host key verification failed.')).toEqual({
      kind: 'text',
      text: 'Host key verification failed.',
    });
    expect(decodeLogLine('@nix {not json')).toEqual({ kind: 'text', text: '@nix {not json' });
    expect(decodeLogLine('@nix {"action":"teleport"}')).toMatchObject({ kind: 'text' });
    expect(decodeLogLine('   ')).toBeNull();
  });

  it('removes the colours Nix puts in messages even in JSON', () => {
    const msg = decodeLogLine(lines('peer-copy-unsigned-2.8.log').at(-1)!);
    expect(msg?.kind).toBe('msg');
    expect(msg?.kind === 'msg' && msg.text).toMatch(
      /^error: cannot add path '\/nix\/store\/\S+-unsigned-local' because it lacks a valid signature$/,
    );
    expect(stripAnsi('\u001b[31;1merror:\u001b[0m x')).toBe('error: x');
  });

  it('never throws, whatever the line', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json().map((j) => `@nix ${j}`),
        ),
        (line) => {
          decodeLogLine(line);
          new CopyLogReader().feed(line);
          copyLineReader()(line);
        },
      ),
    );
  });
});

describe('CopyLogReader', () => {
  it('follows a real builder-to-host copy (Nix 2.8): every announced path starts and ends', () => {
    const log = lines('copy-to-2.8.log');
    const n = announced(log);
    const events = readAll(new CopyLogReader(), log);
    const started = events.filter((e) => e.kind === 'path-started');
    const done = events.filter((e) => e.kind === 'path-done');
    expect(events.filter((e) => e.kind === 'copying')).toEqual([{ kind: 'copying', paths: n }]);
    expect(started).toHaveLength(n);
    expect(new Set(done.map((e) => e.kind === 'path-done' && e.path))).toEqual(
      new Set(started.map((e) => e.kind === 'path-started' && e.path)),
    );
    expect(
      started.every((e) => e.kind === 'path-started' && e.from === 'local' && e.to.startsWith('ssh://root@')),
    ).toBe(true);
  });

  // Real logs of Nix 2.24 (builder to host, and a host pulling from a peer of the other version), their
  // per-path byte progress thinned to each path's first and last result.
  it.each(['copy-to-2.24.log', 'peer-copy-2.24-from-2.8.log', 'peer-copy-2.8-from-2.24.log'])(
    'follows %s: every announced path starts and ends, with no error',
    (file) => {
      const log = lines(file);
      const reader = new CopyLogReader();
      const events = readAll(reader, log);
      const started = events.flatMap((e) => (e.kind === 'path-started' ? [e.path] : []));
      const done = events.flatMap((e) => (e.kind === 'path-done' ? [e.path] : []));
      expect(started).toHaveLength(announced(log));
      expect(new Set(done)).toEqual(new Set(started));
      const end = reader.snapshot();
      expect(end).toMatchObject({
        pathsDone: announced(log),
        pathsTotal: announced(log),
        running: [],
        errors: [],
      });
      // 2.24 announces the bytes it will move and reports each path's progress; its last figure for a path
      // stops a few bytes short of the NAR's size, which is why the adapter counts a finished path by its size.
      if (file === 'copy-to-2.24.log' || file.startsWith('peer-copy-2.24')) {
        expect(end.bytesTotal).toBeGreaterThan(0);
        expect(end.bytesDone).toBeLessThanOrEqual(end.bytesTotal!);
        expect(end.bytesDone).toBeGreaterThan(end.bytesTotal! * 0.99);
      }
      const read = nixKnowledge().copyLogReader();
      expect(log.flatMap((l) => read(l)?.done ?? [])).toHaveLength(announced(log));
    },
  );

  it('counts bytes of finished paths from the sizes it is given (2.8 reports none itself)', () => {
    const log = lines('peer-copy-2.8.log');
    const paths = [...new Set(log.flatMap((l) => /"fields":\["(\/nix\/store\/[^"]+)"/.exec(l)?.[1] ?? []))];
    const sizes = new Map(paths.map((p, i) => [p, 1000 + i]));
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    const reader = new CopyLogReader({ sizes, totalBytes: total });
    const seen: number[] = [];
    for (const l of log) {
      if (reader.feed(l).some((e) => e.kind === 'path-done')) seen.push(reader.snapshot().bytesDone);
    }
    const end = reader.snapshot();
    expect(end).toMatchObject({
      pathsDone: paths.length,
      pathsTotal: announced(log),
      bytesDone: total,
      bytesTotal: total,
    });
    expect(end.running).toEqual([]);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen).toHaveLength(paths.length);
  });

  it('takes byte progress and the announced total from newer Nix', () => {
    const log = lines('copy-to-newer.log');
    const reader = new CopyLogReader();
    const progress = readAll(reader, log).filter((e) => e.kind === 'path-progress');
    const end = reader.snapshot();
    // The last setExpected announcement is the total; each path's last progress result is its size.
    const expected = [...log.join('\n').matchAll(/"fields":\[100,(\d+)\],"id":\d+,"type":106/g)].at(-1)?.[1];
    expect(end.bytesTotal).toBe(Number(expected));
    expect(end.bytesDone).toBe(end.bytesTotal);
    expect(end.pathsDone).toBe(announced(log));
    expect(progress.some((e) => e.kind === 'path-progress' && e.done < e.expected)).toBe(true);
  });

  it('reports a warning without counting it as an error', () => {
    const reader = new CopyLogReader();
    const events = readAll(reader, lines('copy-to-newer.log'));
    expect(events.filter((e) => e.kind === 'warning')).toEqual([
      {
        kind: 'warning',
        message: "you don't have Internet access; disabling some network-dependent features",
      },
    ]);
    expect(reader.snapshot().errors).toEqual([]);
  });

  it('reports the refusal of an unsigned path, although its activity stopped like a copied one', () => {
    const reader = new CopyLogReader();
    const events = readAll(reader, lines('peer-copy-unsigned-2.8.log'));
    const errors = events.filter((e) => e.kind === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: expect.stringMatching(/lacks a valid signature$/) });
    expect(reader.snapshot().errors).toEqual([errors[0]?.kind === 'error' && errors[0].message]);
  });
});

describe('the engine’s copy-log reader', () => {
  it('reports each path done, one reader per copy', () => {
    const { copyLogReader } = nixKnowledge();
    const log = lines('peer-copy-2.8.log');
    for (const read of [copyLogReader(), copyLogReader()]) {
      const done = log.flatMap((l) => read(l)?.done ?? []);
      expect(done).toHaveLength(announced(log));
      expect(new Set(done).size).toBe(done.length);
    }
  });

  it('passes on the error line and nothing else', () => {
    const read = nixKnowledge().copyLogReader();
    const reports = lines('peer-copy-unsigned-2.8.log').flatMap((l) => read(l) ?? []);
    expect(reports.flatMap((r) => r.error ?? [])).toEqual([
      expect.stringContaining('lacks a valid signature'),
    ]);
    expect(reports.every((r) => r.done !== undefined || r.error !== undefined)).toBe(true);
  });
});

describe('firstNixError', () => {
  it("finds the cause in newer Nix's nested error, not the bare `error:`", () => {
    expect(firstNixError(lines('eval-error-newer.log'))).toBe("attribute 'kiosk' missing");
  });

  it("finds a builder's failure in a real 2.8 log", () => {
    expect(firstNixError(lines('build-fail-2.8.log'))).toMatch(
      /^builder for '\/nix\/store\/\S+-fail-test\.drv' failed with exit code 3$/,
    );
  });

  it('reads plain stderr, first error first, and says null when there is none', () => {
    expect(firstNixError(['copying 1 paths...', 'error: cannot connect to foo', 'error: later'])).toBe(
      'cannot connect to foo',
    );
    expect(firstNixError(['error:', '       … while evaluating x', '       error: boom'])).toBe('boom');
    expect(firstNixError(['warning: Git tree is dirty'])).toBeNull();
    expect(errorMessage('builder failed;\n       last 2 log lines:')).toBe('builder failed;');
  });
});

describe('diagnoseCopyFailure', () => {
  it('names a changed host key from the real ssh text, not "cannot connect"', () => {
    const d = diagnoseCopyFailure(lines('copy-to-host-key-changed-2.8.log'), 'root@10.0.0.5');
    expect(d?.kind).toBe('host-key-mismatch');
    expect(d?.message).toBe(
      'the SSH host key of root@10.0.0.5 does not match known_hosts, so the copy was refused',
    );
  });

  it.each([
    [
      [
        'No ED25519 host key is known for 10.0.0.5 and you have requested strict checking.',
        'Host key verification failed.',
      ],
      'host-key-unknown',
    ],
    [['root@10.0.0.5: Permission denied (publickey).'], 'auth-failed'],
    [['ssh: connect to host 10.0.0.5 port 22: Connection refused'], 'unreachable'],
    [['error: writing to file: No space left on device'], 'no-space'],
    [['error: something else entirely'], 'other'],
  ])('reads %j as %s', (text, kind) => {
    expect(diagnoseCopyFailure(text, 'root@10.0.0.5')?.kind).toBe(kind);
  });

  it('says the unsigned path from a real refused peer copy', () => {
    expect(diagnoseCopyFailure(lines('peer-copy-unsigned-2.8.log'), 'peer-a')?.kind).toBe('unsigned');
    expect(diagnoseCopyFailure(['copying path x'], 'peer-a')).toBeNull();
  });
});

describe('buildLogRenderer', () => {
  it("shows what is built and the builder's output under its derivation name (real 2.8 log)", () => {
    const out: string[] = [];
    const render = buildLogRenderer();
    for (const l of lines('build-fail-2.8.log')) render(l, (t) => out.push(t));
    expect(out).toEqual([
      expect.stringMatching(/^building '\/nix\/store\/\S+-fail-test\.drv'$/),
      'fail-test> hello from builder',
      'fail-test> to stderr',
      expect.stringMatching(
        /^error: builder for '\/nix\/store\/\S+-fail-test\.drv' failed with exit code 3$/,
      ),
    ]);
  });

  it('names each derivation of a real system build once and prints no progress noise', () => {
    const out: string[] = [];
    const render = buildLogRenderer();
    const log = lines('build-2.8.log');
    for (const l of log) render(l, (t) => out.push(t));
    const built = log.filter((l) => l.includes('"action":"start"') && l.endsWith('"type":105}')).length;
    expect(built).toBeGreaterThan(0);
    expect(out).toHaveLength(built);
    expect(out.every((l) => /^building '\/nix\/store\/\S+\.drv'$/.test(l))).toBe(true);
  });
});
