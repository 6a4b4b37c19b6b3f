import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerKnownHostsLines } from '../../src/adapters/ssh/peer-known-hosts.ts';

// Real keys, made by ssh-keygen.
let dir: string;
let keyA: string;
let keyB: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signage-peer-kh-'));
  for (const name of ['a', 'b']) {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  }
  keyA = readFileSync(join(dir, 'a.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  keyB = readFileSync(join(dir, 'b.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
});
afterAll(() => {
  if (dir?.startsWith(join(tmpdir(), 'signage-peer-kh-'))) rmSync(dir, { recursive: true, force: true });
});

describe('what a target is told to trust for a peer', () => {
  it("is the bot's key for the peer, written for the address the target dials", () => {
    const peer = { address: 'baard-kitchen.tail', lanAddress: '192.168.10.22', port: 22 };
    expect(peerKnownHostsLines(`baard-kitchen.tail ${keyA}\nother ${keyB}\n`, peer)).toBe(
      `192.168.10.22 ${keyA}`,
    );
    expect(peerKnownHostsLines(`baard-kitchen.tail ${keyA}\n`, { ...peer, port: 2222 })).toBe('');
    expect(peerKnownHostsLines(`[baard-kitchen.tail]:2222 ${keyA}\n`, { ...peer, port: 2222 })).toBe(
      `[192.168.10.22]:2222 ${keyA}`,
    );
  });

  it('leaves out a key the bot marks @revoked, even when it is also listed', () => {
    const peer = { address: 'baard-kitchen.tail', lanAddress: '192.168.10.22', port: 22 };
    const text = `baard-kitchen.tail ${keyA}\nbaard-kitchen.tail ${keyB}\n@revoked * ${keyA}\n`;
    expect(peerKnownHostsLines(text, peer)).toBe(`192.168.10.22 ${keyB}`);
  });
});
