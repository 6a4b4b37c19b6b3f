// known_hosts is the bot's whole trust in its hosts: it must match exactly the lines OpenSSH's own tools
// match, no more and no fewer. Keys are made by ssh-keygen, hashed files by `ssh-keygen -H`, and matching is
// compared with `ssh-keygen -F` on random files.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fingerprint,
  hostKeyAlgorithms,
  keysFor,
  lookupName,
  matchPattern,
  parseKnownHosts,
} from '../../src/adapters/ssh/known-hosts.ts';

const PREFIX = join(tmpdir(), 'signage-known-hosts-');
let dir = '';
const keys: Record<'ed' | 'ed2' | 'ecdsa' | 'rsa', { type: string; base64: string; file: string }> = {
  ed: { type: '', base64: '', file: '' },
  ed2: { type: '', base64: '', file: '' },
  ecdsa: { type: '', base64: '', file: '' },
  rsa: { type: '', base64: '', file: '' },
};

beforeAll(() => {
  dir = mkdtempSync(PREFIX);
  const make = (name: keyof typeof keys, type: string, bits?: string) => {
    const file = join(dir, name);
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      type,
      ...(bits ? ['-b', bits] : []),
      '-N',
      '',
      '-C',
      name,
      '-f',
      file,
    ]);
    const [t, b] = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/);
    keys[name] = { type: t ?? '', base64: b ?? '', file: `${file}.pub` };
  };
  make('ed', 'ed25519');
  make('ed2', 'ed25519');
  make('ecdsa', 'ecdsa', '256');
  make('rsa', 'rsa', '2048');
});

afterAll(() => {
  if (dir.startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
});

const line = (hosts: string, k: keyof typeof keys, extra = '') =>
  `${hosts} ${keys[k].type} ${keys[k].base64}${extra ? ` ${extra}` : ''}`;
const b64 = (k: { blob: Buffer }) => k.blob.toString('base64');
const lines = (ks: readonly { line: number }[]) => ks.map((k) => k.line);

describe('parseKnownHosts and keysFor', () => {
  it('finds a host among comma-separated names, with the key and its line', () => {
    const known = parseKnownHosts(
      ['# the office', '', line('kitchen,10.0.0.2', 'ed', 'comment here')].join('\n'),
    );
    const found = keysFor(known, '10.0.0.2', 22);
    expect(found.allowed).toHaveLength(1);
    expect(found.allowed[0]?.type).toBe('ssh-ed25519');
    expect(found.allowed[0]?.line).toBe(3);
    expect(b64(found.allowed[0]!)).toBe(keys.ed.base64);
    expect(keysFor(known, 'kitchen', 22).allowed).toHaveLength(1);
    expect(keysFor(known, 'KITCHEN', 22).allowed).toHaveLength(1);
    expect(keysFor(known, 'kitchen2', 22).allowed).toHaveLength(0);
    expect(known.notes).toEqual([]);
  });

  it('keeps ports apart: [host]:port for anything but 22', () => {
    const known = parseKnownHosts([line('[pi]:2222', 'ed'), line('pi', 'ed2')].join('\n'));
    expect(lookupName('pi', 22)).toBe('pi');
    expect(lookupName('Pi', 2222)).toBe('[pi]:2222');
    expect(lines(keysFor(known, 'pi', 2222).allowed)).toEqual([1]);
    expect(lines(keysFor(known, 'pi', 22).allowed)).toEqual([2]);
    expect(keysFor(known, 'pi', 2200).allowed).toHaveLength(0);
  });

  it('reads files hashed by ssh-keygen -H', () => {
    const file = join(dir, 'hashed');
    writeFileSync(
      file,
      `${[line('kitchen', 'ed'), line('[entrance]:2222', 'ecdsa'), line('10.1.2.3', 'rsa')].join('\n')}\n`,
    );
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('kitchen');
    const known = parseKnownHosts(text);
    expect(known.entries.every((e) => e.hashed !== null)).toBe(true);
    expect(b64(keysFor(known, 'kitchen', 22).allowed[0]!)).toBe(keys.ed.base64);
    expect(b64(keysFor(known, 'entrance', 2222).allowed[0]!)).toBe(keys.ecdsa.base64);
    expect(b64(keysFor(known, '10.1.2.3', 22).allowed[0]!)).toBe(keys.rsa.base64);
    expect(keysFor(known, 'entrance', 22).allowed).toHaveLength(0);
    expect(keysFor(known, 'kitchen2', 22).allowed).toHaveLength(0);
  });

  it('applies wildcards, and a matching negation excludes the host whatever else matches', () => {
    const known = parseKnownHosts(line('*.office,!printer.office,pi-?', 'ed'));
    expect(keysFor(known, 'screen.office', 22).allowed).toHaveLength(1);
    expect(keysFor(known, 'printer.office', 22).allowed).toHaveLength(0);
    expect(keysFor(known, 'pi-1', 22).allowed).toHaveLength(1);
    expect(keysFor(known, 'pi-12', 22).allowed).toHaveLength(0);
    expect(keysFor(known, 'office', 22).allowed).toHaveLength(0);
  });

  it('lists several keys for one host, and offers exactly their algorithms', () => {
    const known = parseKnownHosts([line('pi', 'ed'), line('pi', 'ecdsa'), line('pi', 'rsa')].join('\n'));
    const found = keysFor(known, 'pi', 22);
    expect(found.allowed.map((k) => k.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa']);
    expect(hostKeyAlgorithms(found.allowed.map((k) => k.type))).toEqual([
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    expect(hostKeyAlgorithms(['ssh-ed25519'])).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])).toEqual([]);
  });

  it('reports @revoked keys apart and skips @cert-authority with a note', () => {
    const known = parseKnownHosts(
      [line('pi', 'ed'), line('@revoked pi', 'ed2'), line('@cert-authority *.office', 'rsa')].join('\n'),
    );
    const found = keysFor(known, 'pi', 22);
    expect(lines(found.allowed)).toEqual([1]);
    expect(lines(found.revoked)).toEqual([2]);
    expect(b64(found.revoked[0]!)).toBe(keys.ed2.base64);
    expect(keysFor(known, 'a.office', 22).allowed).toHaveLength(0);
    expect(known.notes).toEqual([expect.stringMatching(/^line 3: @cert-authority skipped/)]);
  });

  it('notes unusable lines and keeps the good ones', () => {
    const known = parseKnownHosts(
      [
        'justonefield',
        `pi ${keys.ed.type} not*base64`,
        `pi ssh-rsa ${keys.ed.base64}`,
        'pi 2048 35 12345',
        '|2|abc|def ssh-ed25519 AAAA',
        `@bogus pi ${keys.ed.type} ${keys.ed.base64}`,
        `pi ssh-ed25519-cert-v01@openssh.com ${keys.ed.base64}`,
        `${line('pi', 'ed')}\r`,
      ].join('\n'),
    );
    expect(lines(keysFor(known, 'pi', 22).allowed)).toEqual([8]);
    expect(known.notes.map((n) => n.split(':')[0])).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      'line 6',
      'line 7',
    ]);
    expect(known.notes[2]).toContain('of type ssh-ed25519, not ssh-rsa');
  });
});

describe('fingerprint', () => {
  it('equals what ssh-keygen -l prints', () => {
    for (const k of Object.values(keys)) {
      const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.file], { encoding: 'utf8' });
      expect(printed.split(' ')[1]).toBe(fingerprint(Buffer.from(k.base64, 'base64')));
    }
  });
});

describe('matching compared with ssh-keygen -F', () => {
  const names = ['a', 'b', 'ab', 'ba', 'a.b', '10.0.0.1', 'A'];
  const patterns = [
    ...names,
    'a*',
    '*b',
    '?',
    '??',
    '*',
    'a?',
    '*.b',
    '10.0.0.*',
    '[a]:2222',
    '[a*]:2222',
    '[*]:*',
  ];
  const queries = fc.record({
    name: fc.constantFrom(...names),
    port: fc.constantFrom(22, 2222),
  });
  const patternField = fc
    .array(fc.record({ negate: fc.boolean(), pattern: fc.constantFrom(...patterns) }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((ps) => ps.map((p) => `${p.negate ? '!' : ''}${p.pattern}`).join(','));
  // Hashed entries are made here with the documented HMAC-SHA1; ssh-keygen then judges whether they match.
  const hashedField = fc
    .record({ name: fc.constantFrom(...names), port: fc.constantFrom(22, 2222) })
    .map((q) => {
      const salt = randomBytes(20);
      const lookup = q.port === 22 ? q.name.toLowerCase() : `[${q.name.toLowerCase()}]:${q.port}`;
      return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(lookup).digest('base64')}`;
    });
  const entry = fc.record({
    revoked: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
    hosts: fc.oneof(patternField, hashedField),
    key: fc.constantFrom<keyof typeof keys>('ed', 'ecdsa', 'rsa'),
  });

  it('matches the same lines for random files and hosts', () => {
    let n = 0;
    fc.assert(
      fc.property(
        fc.array(entry, { minLength: 1, maxLength: 8 }),
        fc.array(queries, { minLength: 1, maxLength: 3 }),
        (es, qs) => {
          const file = join(dir, `random-${n++}`);
          const text = es.map((e) => line(`${e.revoked ? '@revoked ' : ''}${e.hosts}`, e.key)).join('\n');
          writeFileSync(file, `${text}\n`);
          const known = parseKnownHosts(text);
          for (const q of qs) {
            const ours = keysFor(known, q.name, q.port);
            const r = spawnSync('ssh-keygen', ['-F', lookupName(q.name, q.port), '-f', file], {
              encoding: 'utf8',
            });
            const theirs = [...r.stdout.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
            expect([...lines(ours.allowed), ...lines(ours.revoked)].sort((a, b) => a - b)).toEqual(theirs);
            const revokedLines = [...r.stdout.matchAll(/^# Host .* found: line (\d+) REVOKED/gm)].map((m) =>
              Number(m[1]),
            );
            expect(lines(ours.revoked)).toEqual(revokedLines);
          }
          rmSync(file);
        },
      ),
      { numRuns: 120 },
    );
  });
});

describe('matchPattern', () => {
  it('matches whole names with * and ?', () => {
    expect(matchPattern('abc', 'a*')).toBe(true);
    expect(matchPattern('abc', '*c')).toBe(true);
    expect(matchPattern('abc', 'a?c')).toBe(true);
    expect(matchPattern('abc', 'a?')).toBe(false);
    expect(matchPattern('abc', '*b')).toBe(false);
    expect(matchPattern('', '*')).toBe(true);
    expect(matchPattern('aaa', 'a*a*a')).toBe(true);
    expect(matchPattern('aa', 'a*a*a')).toBe(false);
  });
});
