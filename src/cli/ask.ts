// At an interactive terminal, the restart question is a y/N prompt; the answer goes through the engine like
// a button press in Slack, recorded with the terminal user's name. An input that ends (Ctrl-D) answers no.
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import type { VoteResult } from '../core/ports/state.ts';
import type { Asker, Engine, RunResult } from '../engine/engine.ts';
import type { HostOutcome } from '../engine/pipeline.ts';
import { restartQuestion } from '../engine/restart.ts';
import { actorName } from '../engine/run-scope.ts';
import { diffText } from '../verbs/render-run.ts';

/** Changes shown above a terminal's restart question; the result below lists them again. */
const ASK_CHANGES = 8;

function rebootPrompt(h: HostOutcome): string {
  const why = h.reboot?.reasons.length ? ` It boots its new system (${h.reboot.reasons.join(', ')}).` : '';
  return `Reboot ${h.host}?${why} Its screen goes dark until it is back.`;
}

export async function askPending(
  engine: Engine,
  result: RunResult,
  asker: Asker,
  io: { input: Readable; output: Writable },
): Promise<RunResult> {
  const waiting = result.hosts.filter((h) => h.status === 'awaiting-approval' && h.approvalId);
  if (waiting.length === 0) return result;
  const rl = createInterface({ input: io.input, output: io.output });
  const closed = new AbortController();
  rl.once('close', () => closed.abort());
  const updated = new Map<string, HostOutcome>();
  try {
    for (const h of waiting) {
      let answer = '';
      // What the approver would put on screen, before being asked.
      const changes = diffText(h, '  ', ASK_CHANGES);
      if (changes.length > 0) io.output.write(`${h.host}:\n${changes.join('\n')}\n`);
      try {
        const q = h.reboot ? rebootPrompt(h) : restartQuestion(h.host, result.revision);
        answer = await rl.question(`${q} [y/N] `, {
          signal: closed.signal,
        });
      } catch {
        io.output.write('\n');
      }
      const yes = ['y', 'yes'].includes(answer.trim().toLowerCase());
      const decided = await engine.decide(h.approvalId!, yes ? 'approved' : 'denied', asker);
      if (decided.kind !== 'decided') {
        updated.set(h.host, { ...h, error: notDecided(decided) });
      } else if (decided.error) {
        updated.set(h.host, { ...h, status: 'failed', error: decided.error });
      } else {
        updated.set(h.host, {
          ...h,
          status: 'ok',
          restarted: decided.restarted ?? false,
          ...(yes ? {} : { restartDeclinedBy: actorName(asker.actor) }),
          ...(h.reboot && yes ? { reboot: { ...h.reboot, end: 'confirmed' as const } } : {}),
        });
      }
    }
  } finally {
    rl.close();
  }
  const hosts = result.hosts.map((h) => updated.get(h.host) ?? h);
  const failed = hosts.some((h) => h.status === 'failed');
  const waitingStill = hosts.some((h) => h.status === 'awaiting-approval');
  return { ...result, hosts, status: waitingStill ? 'awaiting-approval' : failed ? 'failed' : 'ok' };
}

/** Why an answer did not settle the question; a question waiting for more approvers still waits. */
function notDecided(result: VoteResult): string {
  switch (result.kind) {
    case 'unknown':
      return 'the question was not found';
    case 'counted':
    case 'already-voted': {
      const n = result.votes.filter((v) => v.decision === 'approved').length;
      const counted = result.kind === 'counted' ? 'your approval counts' : 'you already answered';
      return `${counted}: ${n} of ${result.required} approvals; the question waits for other approvers`;
    }
    case 'requester-may-not-approve':
      return 'you asked for this run, so another approver must approve its restart';
    default:
      return `the question was ${result.kind}`;
  }
}
