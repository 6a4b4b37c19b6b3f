// How long the bot takes to acknowledge a slash command (Slack allows three seconds): the whole bot, as
// `npm start` runs it, on the simulated office, against the fake Slack, which times each acknowledgement
// from sending the envelope to reading the answer on the socket. The commands are a mix of verbs (a deploy
// that builds, copies and switches while later commands arrive, status that probes every host, refusals,
// typos), sent one at a time and in bursts. Run: `node bench/slack-ack.ts`.
import { officeUnavailable, startOffice } from '../test/office/index.ts';
import { FakeSlack } from '../test/support/fake-slack/index.ts';
import { ALICE, CHANNEL, FAKE_DIRECTORY, startSlackOffice, VICTOR } from '../test/support/slack-office.ts';
import { table } from './table.ts';

export interface SlackAckBench {
  readonly commands: number;
  readonly worstMs: number;
  readonly p50Ms: number;
}

const HOSTS = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];
const ROUNDS = 6;
const BURST = 8;

/** One round: who sends what. The deploy goes first so the rest are acknowledged while it works. */
function round(i: number): [string, string][] {
  const host = HOSTS[i % HOSTS.length]!;
  return [
    [ALICE, `deploy ${host}`],
    [VICTOR, 'status'],
    [VICTOR, `status ${host}`],
    [ALICE, `plan ${HOSTS[(i + 1) % HOSTS.length]}`],
    [VICTOR, 'help'],
    [VICTOR, 'hosts'],
    [VICTOR, `deploy ${host}`],
    [ALICE, 'deplyo baard-entrance'],
    [ALICE, 'status baard-entrace'],
  ];
}

export async function benchSlackAck(): Promise<SlackAckBench & { readonly p95Ms: number }> {
  const why = officeUnavailable();
  if (why !== null) throw new Error(`the Slack benchmark runs the bot on the simulated office: ${why}`);
  const office = await startOffice({ hosts: HOSTS, scale: 0.1 });
  let fake: FakeSlack | undefined;
  let bot: Awaited<ReturnType<typeof startSlackOffice>> | undefined;
  const latencies: number[] = [];
  try {
    fake = await FakeSlack.start(FAKE_DIRECTORY);
    bot = await startSlackOffice(office, fake);
    const send = async (user: string, text: string) => {
      const result = await fake!.sendSlashCommand({ user, channel: CHANNEL, text });
      latencies.push(result.latencyMs);
    };
    for (let i = 0; i < ROUNDS; i++) {
      // Alternately one at a time and all at once.
      const commands = round(i);
      if (i % 2 === 0) for (const [user, text] of commands) await send(user, text);
      else await Promise.all(commands.map(([user, text]) => send(user, text)));
    }
    // A burst of the one command that probes every host.
    await Promise.all(Array.from({ length: BURST }, () => send(VICTOR, 'status')));
    await bot.bot.slack.settled();
  } finally {
    await bot?.stop();
    await fake?.stop();
    await office.close();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { commands: sorted.length, worstMs: sorted.at(-1) ?? 0, p50Ms: at(0.5), p95Ms: at(0.95) };
}

if (import.meta.main) {
  const r = await benchSlackAck();
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    table(
      ['commands', 'p50', 'p95', 'worst', 'limit'],
      [[String(r.commands), ms(r.p50Ms), ms(r.p95Ms), ms(r.worstMs), '3000 ms']],
    ),
  );
}
