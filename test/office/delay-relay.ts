// A transparent TCP relay that adds a one-way delay in each direction (netem is not available here). It runs in
// a network namespace whose nftables rules REDIRECT the TCP connections to delay to its port; it finds where
// each connection was going in the namespace's conntrack table (what SO_ORIGINAL_DST would say, which Node
// cannot ask), waits the one-way delay, connects there, and forwards every chunk after the one-way delay, in
// order. Memory is bounded: a direction with more than HIGH_WATER bytes in flight stops reading until it drains.
// Standalone (node: imports only): run as `node delay-relay.ts PORT ONE_WAY_MS READY_FILE`.
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const HIGH_WATER = 4 * 1024 * 1024;
const MAX_CONNECTIONS = 512;

const [portArg, delayArg, readyFile] = process.argv.slice(2);
const port = Number(portArg);
const oneWayMs = Number(delayArg);
if (!Number.isInteger(port) || !Number.isFinite(oneWayMs) || oneWayMs < 0 || !readyFile) {
  console.error('usage: delay-relay.ts PORT ONE_WAY_MS READY_FILE');
  process.exit(2);
}

/** The original destination of a redirected connection from `address`:`sourcePort`, from conntrack. */
function originalDestination(
  table: string,
  address: string,
  sourcePort: number,
): { address: string; port: number } | null {
  let found: { address: string; port: number } | null = null;
  for (const line of table.split('\n')) {
    // The first src/dst/sport/dport on a line are the original direction's.
    const field = (k: string) => line.match(new RegExp(`\\b${k}=(\\S+)`))?.[1];
    if (!/\btcp\b/.test(line) || field('src') !== address || field('sport') !== String(sourcePort)) continue;
    const dst = field('dst');
    const dport = Number(field('dport'));
    if (!dst || !Number.isInteger(dport)) continue;
    found = { address: dst, port: dport };
    // An old connection from the same port may linger, closing: the live one wins.
    if (!/\b(TIME_WAIT|CLOSE)\b/.test(line)) return found;
  }
  return found;
}

function later(fn: () => void): void {
  if (oneWayMs === 0) setImmediate(fn);
  else setTimeout(fn, oneWayMs);
}

/** Copies `from` to `to`, each chunk after the one-way delay; stops reading while too much is in flight. */
function pipe(from: net.Socket, to: net.Socket): void {
  let inFlight = 0;
  const check = () => {
    if (inFlight + to.writableLength > HIGH_WATER) from.pause();
    else if (from.isPaused()) from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    inFlight += chunk.length;
    check();
    later(() => {
      inFlight -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      check();
    });
  });
  to.on('drain', check);
  from.on('end', () => later(() => to.end()));
  from.on('error', () => later(() => to.destroy()));
  from.on('close', () => later(() => to.destroy()));
}

let open = 0;
const server = net.createServer((client) => {
  const remote = client.remoteAddress?.replace(/^::ffff:/, '') ?? '';
  const table = readFileSync('/proc/net/nf_conntrack', 'utf8');
  const dest = originalDestination(table, remote, client.remotePort ?? -1);
  if (dest === null || open >= MAX_CONNECTIONS) {
    client.destroy();
    return;
  }
  open++;
  client.on('close', () => open--);
  client.pause();
  // The connection's own handshake takes the delay too: the server hears of it one way later.
  later(() => {
    const upstream = net.connect({ host: dest.address, port: dest.port });
    pipe(client, upstream);
    pipe(upstream, client);
    client.resume();
  });
});
server.listen(port, '0.0.0.0', () => writeFileSync(readyFile, `${process.pid}\n`));
process.on('SIGTERM', () => process.exit(0));
