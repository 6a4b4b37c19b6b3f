// The fixed awk program a target runs over its peer copy's log (src/adapters/nix/peer-log-filter.ts), run by
// the awks this machine has, over logs real Nix wrote (test/fixtures/nix) and a 2,000-path one in the same
// shape: what reaches the bot is small, and still says how far the copy got and why it failed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { diagnoseCopyFailure } from '../../src/adapters/nix/copy-failure.ts';
import { PEER_LOG_FILTER } from '../../src/adapters/nix/peer-log-filter.ts';
import { nixKnowledge } from '../../src/adapters/nix/port.ts';
import { CopyLogReader } from '../../src/adapters/nix/progress.ts';

const AWKS = ['/usr/bin/mawk', '/usr/bin/nawk', '/usr/bin/gawk', '/usr/bin/original-awk'].filter((a) =>
  existsSync(a),
);

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/nix', name), 'utf8');

async function filtered(awk: string, log: string): Promise<string> {
  const r = await execa(awk, [PEER_LOG_FILTER], { input: log });
  return r.stdout;
}

function read(text: string) {
  const reader = nixKnowledge().copyLogReader();
  let copied = 0;
  let named = 0;
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    const r = reader(line);
    copied += r?.copied ?? 0;
    if (r?.done) named++;
    if (r?.error) errors.push(r.error);
  }
  return { copied, named, errors };
}

const announced = (log: string) => Number(/"text":"copying (\d+) paths"/.exec(log)?.[1] ?? Number.NaN);

/** A Nix 2.24-shaped log of `n` paths: each started, twenty progress results, stopped. */
function bigLog(n: number): string {
  const out = [`@nix {"action":"start","id":1,"level":3,"parent":0,"text":"copying ${n} paths","type":103}`];
  for (let i = 0; i < n; i++) {
    const id = 1000 + i;
    const path = `/nix/store/${String(i).padStart(32, 'a')}-small-${i}`;
    out.push(
      `@nix {"action":"start","fields":["${path}","ssh://nix-ssh@10.0.0.2?ssh-key=/etc/ssh/ssh_host_ed25519_key&log-fd=3","local"],"id":${id},"level":3,"parent":0,"text":"copying path '${path}' from 'ssh://nix-ssh@10.0.0.2?ssh-key=/etc/ssh/ssh_host_ed25519_key&log-fd=3'","type":100}`,
    );
    for (let k = 1; k <= 20; k++)
      out.push(`@nix {"action":"result","fields":[${k * 60},1200,0,0],"id":${id},"type":105}`);
    out.push(`@nix {"action":"result","fields":[${i + 1},${n},0,0],"id":1,"type":105}`);
    out.push(`@nix {"action":"stop","id":${id}}`);
  }
  out.push('@nix {"action":"stop","id":1}');
  return `${out.join('\n')}\n`;
}

describe('the peer copy log filter', () => {
  it('fits in single quotes in the copy script', () => {
    expect(PEER_LOG_FILTER).not.toContain("'");
    expect(AWKS.length).toBeGreaterThan(0);
  });

  for (const awk of AWKS) {
    describe(awk, () => {
      for (const name of [
        'peer-copy-2.8.log',
        'peer-copy-2.8-from-2.24.log',
        'peer-copy-2.24-from-2.8.log',
      ]) {
        it(`passes on how many of ${name}'s paths are done, in a few lines`, async () => {
          const log = fixture(name);
          const out = await filtered(awk, log);
          const full = read(log);
          expect(read(out)).toEqual({ copied: announced(log), named: 0, errors: full.errors });
          const reader = new CopyLogReader();
          for (const line of out.split('\n')) reader.feed(line);
          expect(reader.snapshot()).toMatchObject({ pathsDone: announced(log), pathsTotal: announced(log) });
          expect(out.split('\n').length).toBeLessThanOrEqual(23);
          expect(out.length).toBeLessThan(log.length / 4);
        });
      }

      it('keeps the error lines a failure is diagnosed from', async () => {
        for (const name of ['peer-copy-unsigned-2.8.log', 'copy-to-host-key-changed-2.8.log']) {
          const log = fixture(name);
          const out = await filtered(awk, log);
          expect(read(out).errors).toEqual(read(log).errors);
          const endpoint = 'nix-ssh@10.0.0.2';
          const diagnosis = diagnoseCopyFailure(out.split('\n'), endpoint);
          expect(diagnosis).not.toBeNull();
          expect(diagnosis).toEqual(diagnoseCopyFailure(log.split('\n'), endpoint));
        }
      });

      it('sends a 2,000-path copy back in some twenty counts, as they happen', async () => {
        const log = bigLog(2000);
        const out = await filtered(awk, log);
        expect(read(out)).toEqual({ copied: 2000, named: 0, errors: [] });
        expect(out.length).toBeLessThan(2000);
        expect(log.length).toBeGreaterThan(3_000_000);

        // Half the log written and the pipe left open: a count already arrived (nothing waits in a buffer).
        const child = spawn(awk, [PEER_LOG_FILTER], { stdio: ['pipe', 'pipe', 'inherit'] });
        let seen = '';
        const counted = new Promise<void>((resolve) => {
          child.stdout.on('data', (b: Buffer) => {
            seen += b.toString();
            if (/"fields":\[\d+,2000,0,0\]/.test(seen)) resolve();
          });
        });
        const lines = log.split('\n');
        child.stdin.write(`${lines.slice(0, lines.length / 2).join('\n')}\n`);
        await counted;
        expect(read(seen).copied).toBeGreaterThan(0);
        expect(read(seen).copied).toBeLessThan(2000);
        child.stdin.end();
        await new Promise((resolve) => child.on('close', resolve));
      });
    });
  }
});
