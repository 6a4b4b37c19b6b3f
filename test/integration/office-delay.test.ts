// The office's uplink and LAN delays (test/office/delay.ts) are really there: a TCP round trip to a host's
// sshd through the uplink, from a host to the builder, and between hosts, measured with the option on and
// off; and SSH with strict host keys still reaches every host at its own address.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { alive } from '../office/proc.ts';
import { run } from '../office/run.ts';

const unavailable = officeUnavailable();
const UPLINK_RTT = 1000;
const LAN_RTT = 400;
const SAMPLES = 3;

// Connects and waits for the first byte the other side sends (sshd's banner, or our server's greeting): one
// round trip plus the server's reaction. Printed as the smallest of several tries, in ms. The relays add
// their scheduling time on a loaded machine, so upper bounds are far apart: the delay is a lower bound.
const FIRST_BYTE = `
const net = require('node:net');
const [host, port, n] = process.argv.slice(1);
(async () => {
  let best = Infinity;
  for (let i = 0; i < Number(n); i++) {
    best = Math.min(best, await new Promise((ok, fail) => {
      const t = performance.now();
      const s = net.connect(Number(port), host);
      s.once('data', () => { ok(performance.now() - t); s.destroy(); });
      s.once('error', fail);
    }));
  }
  console.log(Math.round(best));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`;

async function fromBuilder(host: string, port: number): Promise<number> {
  const r = await run([process.execPath, '-e', FIRST_BYTE, host, String(port), String(SAMPLES)]);
  return Number(r.stdout.trim());
}

async function fromHost(office: Office, name: string, host: string, port: number): Promise<number> {
  const r = await office.onHost(name, [
    process.execPath,
    '-e',
    FIRST_BYTE,
    host,
    String(port),
    String(SAMPLES),
  ]);
  if (r.exitCode !== 0) throw new Error(`measuring from ${name} failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** A server on the builder's uplink address that greets every connection, as a binary cache answers. */
async function greeter(address: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end('hello\n'));
  await new Promise<void>((ok) => server.listen(0, address, ok));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return { server, port: a.port };
}

async function ssh(office: Office, host: string): Promise<string> {
  const h = office.host(host);
  const r = await run(
    ['ssh', ...office.sshOptions, `${h.user}@${h.address}`, 'cat /proc/sys/kernel/hostname; echo ok'],
    {
      env: { ...process.env, SSH_AUTH_SOCK: office.agentSocket } as Record<string, string>,
      allowFailure: true,
    },
  );
  if (r.exitCode !== 0) throw new Error(`ssh to ${host} failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(unavailable !== null)('office delays', () => {
  let plain: Office;
  let delayed: Office;
  beforeAll(async () => {
    plain = await startOffice({ hosts: ['plain-a', 'plain-b'], scale: 0.05 });
    delayed = await startOffice({
      hosts: ['slow-a', 'slow-b'],
      scale: 0.05,
      uplinkKbit: 8000,
      uplinkRttMs: UPLINK_RTT,
      lanKbit: 100_000,
      lanRttMs: LAN_RTT,
    });
  });
  afterAll(async () => {
    await plain?.close();
    await delayed?.close();
  });

  it("adds the uplink round trip to the builder's connections to every host, and none without the option", async () => {
    for (const h of delayed.hosts) {
      expect(await fromBuilder(h.address, h.port)).toBeGreaterThanOrEqual(UPLINK_RTT);
      expect(await ssh(delayed, h.name)).toContain('ok');
    }
    for (const h of plain.hosts) expect(await fromBuilder(h.address, h.port)).toBeLessThan(UPLINK_RTT / 2);
  });

  it("adds it to the hosts' connections to the builder too (a binary cache there)", async () => {
    const on = await greeter(delayed.builderAddress);
    const off = await greeter(plain.builderAddress);
    try {
      expect(await fromHost(delayed, 'slow-a', delayed.builderAddress, on.port)).toBeGreaterThanOrEqual(
        UPLINK_RTT,
      );
      expect(await fromHost(plain, 'plain-a', plain.builderAddress, off.port)).toBeLessThan(UPLINK_RTT / 2);
    } finally {
      on.server.close();
      off.server.close();
    }
  });

  it("adds the LAN round trip between hosts, once, and not the uplink's", async () => {
    const b = delayed.host('slow-b');
    const lan = await fromHost(delayed, 'slow-a', b.address, b.port);
    expect(lan).toBeGreaterThanOrEqual(LAN_RTT);
    expect(lan).toBeLessThan(UPLINK_RTT);
    const pb = plain.host('plain-b');
    expect(await fromHost(plain, 'plain-a', pb.address, pb.port)).toBeLessThan(LAN_RTT / 2);
  });

  it('ends its relays with the office', async () => {
    const office = await startOffice({ hosts: ['relay-a'], scale: 0.05, uplinkRttMs: 40, lanRttMs: 4 });
    const relays = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        let cmd: string[] = [];
        try {
          cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
        } catch {
          // ended while we looked
        }
        return (
          cmd.some((w) => w.endsWith('delay-relay.ts')) && cmd.some((w) => w.startsWith(`${office.dir}/`))
        );
      })
      .map(Number);
    expect(relays).toHaveLength(2);
    await office.close();
    for (const pid of relays) expect(alive(pid)).toBe(false);
  });
});
