// One channel message per run, updated in place from its events, with the details in its thread: each restart
// question (its own message, broadcast to the channel, its ts kept with the approval so it can be updated
// after a restart of the bot), the final result and the log. A run taken up again by an answer or an expiry
// finds its message through the state store, and the picture is rebuilt from the stages recorded there; so
// is the last picture of a run that a stopped bot left unfinished.
import { activationNote } from '../core/activation-note.ts';
import type { DiffOutcome } from '../core/closure-diff.ts';
import type { EngineEvent, PlanSummary, ProgressSink } from '../core/events.ts';
import type { SlackMessageRef, StateStore } from '../core/ports/state.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import type { SlackApp } from './app.ts';
import { approvalQuestionMessage } from './blocks/approval.ts';
import { diffThreadMessage } from './blocks/closure-diff.ts';
import { deployProgressMessage } from './blocks/deploy-progress.ts';
import { type Block, code, context, escapeMrkdwn, LIMITS, message, section, truncate } from './blocks/kit.ts';
import { foldProgress } from './blocks/progress-state.ts';
import type { LogSink } from './bolt-logger.ts';
import { decidedMessage } from './decisions.ts';
import { blocksOf } from './message-port.ts';
import { createMessageUpdater, type MessagePort, type MessageUpdater } from './message-updater.ts';
import { runButtons } from './next-steps/blocks.ts';
import { redact } from './redact.ts';

export interface RunMessagesOptions {
  readonly slack: SlackApp;
  readonly store: StateStore;
  readonly log: LogSink;
  /** Least time between two updates of one message. */
  readonly updateIntervalMs?: number;
  /** Mentioned in every restart question; `directMessage` also tells each named approver directly. */
  readonly approvers?: {
    readonly users: readonly string[];
    readonly usergroup?: string | undefined;
    readonly directMessage?: boolean;
  };
  /** Told of every event of every run it follows (the Home tab, screenshots after a change). */
  readonly observe?: ProgressSink;
}

/** Follows one request's run: hand `onEvent` to the verb, then `finish` with its result. */
export interface RunTracker {
  readonly onEvent: ProgressSink;
  /** Set once the verb opened a run. */
  readonly runId: string | undefined;
  /**
   * Posts the run's first message before anything runs: the run's progress replaces it later. Resolves with
   * Slack's refusal when the bot cannot post there (then nothing should run), else undefined.
   */
  open(first: SlackMessage): Promise<unknown>;
  /** Posts `result` in the run's thread once every update is out; false when the verb opened no run. */
  finish(result: SlackMessage): Promise<boolean>;
  /** The request opened no run after all (refused: a busy host): its first message goes. */
  abandon(): Promise<void>;
  /** The first post or update of the run that Slack refused, if any: then the channel's picture is incomplete. */
  readonly failure: unknown;
}

export interface RunMessages {
  /** A new request in `channel` by `requester` (a Slack user ID). */
  track(channel: string, requester: string | undefined): RunTracker;
  /** Events of runs taken up again (an answer, an expiry), whichever process started them. */
  readonly route: ProgressSink;
  /** Posts in the thread of the run's message; false when the run has none. */
  reply(runId: string, message: SlackMessage): Promise<boolean>;
  /** The run's message, whose thread holds its details; undefined when it has none. */
  threadOf(runId: string): Promise<SlackMessageRef | undefined>;
  /**
   * Rewrites the messages of runs left `interrupted` by a bot that stopped mid-run: the stages as recorded,
   * why the run ended, and what to do now. Returns how many messages were updated.
   */
  markInterrupted(runIds: readonly string[]): Promise<number>;
  /** Resolves once every queued post and update has been made, including any queued meanwhile. */
  settled(): Promise<void>;
}

/** Lines of the run's log kept for its thread: the end of it is what explains a failure. */
const LOG_LINES = 40;

interface RunEntry {
  readonly runId: string;
  readonly channel: string;
  readonly events: EventList;
  readonly updater: MessageUpdater;
  readonly logs: string[];
  readonly requestedBy: string | undefined;
  /**
   * The run's message once known: posted by this process, or recorded with the run by an earlier one (whose
   * updater has no ref until it first sends, so it cannot be asked).
   */
  ref: SlackMessageRef | undefined;
  /** Posts for this run, one after another, in event order. */
  work: Promise<void>;
  /** Told of every post or update Slack refused. */
  readonly onFailure?: ((error: unknown) => void) | undefined;
}

export function createRunMessages(options: RunMessagesOptions): RunMessages {
  const { slack, store, log } = options;
  const entries = new Map<string, RunEntry>();
  const pending = new Set<Promise<void>>();

  function enqueue(entry: RunEntry, what: string, step: () => Promise<void>): Promise<void> {
    const next = entry.work.then(step).catch((error: unknown) => {
      log.warn(`run ${entry.runId}: could not ${what}:`, describe(error));
      entry.onFailure?.(error);
    });
    entry.work = next;
    pending.add(next);
    void next.finally(() => pending.delete(next));
    return next;
  }

  function newUpdater(port: MessagePort, onFailure?: (error: unknown) => void): MessageUpdater {
    return createMessageUpdater(port, {
      ...(options.updateIntervalMs === undefined ? {} : { intervalMs: options.updateIntervalMs }),
      onError: (error) => {
        log.warn('a run message update failed:', describe(error));
        onFailure?.(error);
      },
    });
  }

  async function mainRef(entry: RunEntry): Promise<SlackMessageRef | undefined> {
    entry.ref ??= entry.updater.ref ?? (await entry.updater.flush()).ref;
    return entry.ref;
  }

  async function postInThread(entry: RunEntry, msg: SlackMessage, broadcast = false) {
    const main = await mainRef(entry);
    const content = { channel: entry.channel, text: msg.text, ...blocksOf(msg) };
    // Without the run's message (its post failed) the reply goes in the channel, where it is still seen.
    if (main === undefined) return slack.chat.postMessage(content);
    return slack.chat.postMessage({ ...content, thread_ts: main.ts, reply_broadcast: broadcast });
  }

  function apply(entry: RunEntry, event: EngineEvent): void {
    entry.events.push(event);
    try {
      options.observe?.(event);
    } catch (error) {
      log.warn(`run ${entry.runId}: an observer failed:`, describe(error));
    }
    if (event.type === 'log') {
      entry.logs.push(event.host === undefined ? event.message : `${event.host}: ${event.message}`);
      if (entry.logs.length > LOG_LINES) entry.logs.shift();
    }
    // A run's last state goes ahead of other runs' progress: people wait for it.
    entry.updater.set(progressMessage(entry.events.list), { urgent: event.type === 'run.finished' });
    if (event.type === 'diff.ready') {
      const plan = latestPlan(entry.events.list, event.host);
      enqueue(entry, `list the changes on ${event.host}`, async () => {
        await postInThread(entry, diffThreadMessage(event.host, event.diff, plan));
      });
    }
    if (event.type === 'approval.requested') {
      const changes = changesOf(entry.events.list, event.host);
      enqueue(entry, `ask about ${event.host}`, async () => {
        const question = approvalQuestionMessage({
          ...(changes === undefined ? {} : { changes }),
          approvalId: event.approvalId,
          host: event.host,
          question: event.question,
          expiresAt: new Date(event.expiresAt),
          ...(event.action === undefined ? {} : { action: event.action }),
          ...(event.rule === undefined ? {} : { rule: event.rule, approvedBy: [] }),
          nextWindow: event.nextWindow,
          ...(entry.requestedBy === undefined ? {} : { requestedBy: entry.requestedBy }),
          ...(options.approvers === undefined ? {} : { approvers: options.approvers }),
        });
        // Broadcast: approvers see the question in the channel, and its answer stays with the run.
        const posted = await postInThread(entry, question, true);
        if (posted.ts !== undefined) {
          store.attachApprovalMessage(event.approvalId, {
            channel: posted.channel ?? entry.channel,
            ts: posted.ts,
          });
        }
        if (options.approvers?.directMessage === true) {
          await tellApprovers(entry.channel, event.host, event.question, options.approvers.users);
        }
      });
    }
    if (event.type === 'run.finished' && event.outcome === 'cancelled') {
      // Its questions were withdrawn in the canceller's name: their buttons go, and they say so.
      enqueue(entry, 'close its questions', async () => {
        for (const q of store.approvalsOfRun(entry.runId)) {
          if (q.status !== 'denied' || q.slack === null) continue;
          const closed = decidedMessage(q);
          await slack.chat.update({
            channel: q.slack.channel,
            ts: q.slack.ts,
            text: closed.text,
            ...blocksOf(closed),
          });
        }
      });
    }
    if (event.type === 'run.finished' && event.outcome !== 'awaiting-approval') {
      // Nothing more will happen to the run: its message gets its last update and the entry goes.
      enqueue(entry, 'finish its message', async () => {
        await entry.updater.flush();
        if (entries.get(entry.runId) === entry) entries.delete(entry.runId);
      });
    }
  }

  /** A direct message to each named approver, pointing at the question (its buttons stay in one place). */
  async function tellApprovers(channel: string, host: string, question: string, users: readonly string[]) {
    for (const user of users) {
      const text = `A restart question waits for you in <#${channel}>: ${question}`;
      try {
        await slack.chat.postMessage({
          channel: user,
          text,
          blocks: [
            section(`🔔 *Restart question for ${escapeMrkdwn(host)}* in <#${escapeMrkdwn(channel)}>`),
            context(`${escapeMrkdwn(truncate(question, 500))} · Answer it in the run's thread there.`),
          ] as unknown as Block[],
        });
      } catch (error) {
        log.warn(`could not tell approver ${user} directly:`, describe(error));
      }
    }
  }

  /** A run this process has not seen (started before a restart): rebuilt from what the store recorded. */
  function revive(runId: string): RunEntry | undefined {
    const run = store.getRun(runId);
    if (run === undefined || run.slack === null) return undefined;
    const ref = run.slack;
    const port = slack.messagePort(ref.channel);
    const updater = newUpdater({
      // The message exists: the first state goes out as an update of it.
      post: async (msg) => {
        await port.update(ref, msg);
        return ref;
      },
      update: (at, msg) => port.update(at, msg),
      ...(port.turn === undefined ? {} : { turn: (_kind, urgent) => port.turn!('update', urgent) }),
    });
    const entry: RunEntry = {
      runId,
      channel: ref.channel,
      events: new EventList(recordedEvents(store, runId)),
      updater,
      logs: [],
      requestedBy: run.actor.kind === 'slack' ? run.actor.userId : undefined,
      ref,
      work: Promise.resolve(),
    };
    // Only a run that may still change is kept; a finished one is looked up again if ever needed.
    if (run.status === 'running' || run.status === 'awaiting-approval') entries.set(runId, entry);
    return entry;
  }

  const route: ProgressSink = (event) => {
    const entry = entries.get(event.runId) ?? revive(event.runId);
    if (entry !== undefined) apply(entry, event);
  };

  return {
    track(channel, requester) {
      let entry: RunEntry | undefined;
      let failure: unknown;
      const onFailure = (error: unknown) => {
        failure ??= error;
      };
      let updater: MessageUpdater | undefined;
      const updaterFor = () => {
        updater ??= newUpdater(slack.messagePort(channel), onFailure);
        return updater;
      };
      const start = (runId: string): RunEntry => {
        const created: RunEntry = {
          runId,
          channel,
          events: new EventList([]),
          updater: updaterFor(),
          logs: [],
          requestedBy: requester,
          ref: undefined,
          work: Promise.resolve(),
          onFailure,
        };
        entries.set(runId, created);
        // Kept with the run, so an answer given after a restart of the bot can still update the message.
        enqueue(created, 'record its message', async () => {
          const ref = await mainRef(created);
          if (ref !== undefined) store.attachRunMessage(runId, ref);
        });
        return created;
      };
      return {
        onEvent(event) {
          if (entry !== undefined && event.runId !== entry.runId) {
            route(event);
            return;
          }
          // The message appears with the run: a request refused before it starts (a busy host) posts nothing.
          entry ??= start(event.runId);
          apply(entry, event);
        },
        get runId() {
          return entry?.runId;
        },
        get failure() {
          return failure;
        },
        async open(first) {
          const opening = updaterFor();
          opening.set(first, { urgent: true });
          const delivery = await opening.flush();
          if (delivery.delivered) return undefined;
          return delivery.error ?? new Error('the first message was not posted');
        },
        async abandon() {
          const ref = updater?.ref;
          if (entry !== undefined || ref === undefined) return;
          await slack.client.chat.delete({ channel: ref.channel, ts: ref.ts }).catch((error: unknown) => {
            log.warn(`could not remove the message of a request that did not run:`, describe(error));
          });
        },
        async finish(result) {
          const run = entry;
          if (run === undefined) return false;
          const logs = [...run.logs];
          enqueue(run, 'post the result', async () => {
            await run.updater.flush();
            await postInThread(run, result);
            if (logs.length > 0) await postInThread(run, logMessage(logs));
          });
          await run.work;
          return true;
        },
      };
    },

    route,

    async reply(runId, msg) {
      const entry = entries.get(runId) ?? revive(runId);
      if (entry === undefined) return false;
      await enqueue(entry, 'reply in its thread', async () => {
        await postInThread(entry, msg);
      });
      return true;
    },

    async threadOf(runId) {
      const entry = entries.get(runId);
      if (entry !== undefined) return mainRef(entry);
      return store.getRun(runId)?.slack ?? undefined;
    },

    async markInterrupted(runIds) {
      let updated = 0;
      for (const runId of runIds) {
        const run = store.getRun(runId);
        if (run?.status !== 'interrupted') continue;
        const entry = revive(runId);
        if (entry === undefined) continue;
        entry.updater.set(interruptedMessage(entry.events.list, run.verb, run.hosts));
        if ((await entry.updater.flush()).delivered) updated += 1;
      }
      return updated;
    },

    async settled() {
      // A flush can take a while (a 429 waited out); whatever was queued meanwhile is waited for too.
      do {
        while (pending.size > 0) await Promise.all([...pending]);
        await Promise.all([...entries.values()].map((e) => e.updater.flush()));
      } while (pending.size > 0);
    },
  };
}

/** The progress picture, with a pointer to the questions when some wait for an answer, and its buttons. */
function progressMessage(events: readonly EngineEvent[]): SlackMessage {
  const base = withButtons(deployProgressMessage(events), events);
  const waiting = events.some((e) => e.type === 'approval.requested');
  const blocks = base.blocks ?? [];
  if (!waiting || blocks.length >= LIMITS.blocksPerMessage) return base;
  const open = foldOpenQuestions(events);
  if (open === 0) return base;
  const note = context(
    `⏸ ${open === 1 ? 'A restart question waits' : `${open} restart questions wait`} for an approver: see the thread.`,
  );
  return { ...base, blocks: [...blocks, note as unknown as Record<string, unknown>] };
}

/** Cancel while the run goes on; Retry and Roll back for the hosts that failed once it ended. */
function withButtons(base: SlackMessage, events: readonly EngineEvent[]): SlackMessage {
  const blocks = base.blocks ?? [];
  const buttons = runButtons(foldProgress(events));
  if (buttons === undefined || blocks.length >= LIMITS.blocksPerMessage) return base;
  return { ...base, blocks: [...blocks, buttons as unknown as Record<string, unknown>] };
}

/** The last picture of a run the bot could not finish, saying why and what to do about it. */
function interruptedMessage(
  events: readonly EngineEvent[],
  verb: string,
  hosts: readonly string[],
): SlackMessage {
  const base = deployProgressMessage(events);
  const targets = escapeMrkdwn(truncate(hosts.join(' '), 300));
  const note = context(
    '⚠️ *Interrupted: the bot stopped while this run was going, so it did not finish.* ' +
      `Check the screens with \`/signage status ${targets}\`, then run \`/signage ${escapeMrkdwn(verb)} ${targets}\` again.`,
  );
  // The picture leaves room for one note (deploy-progress.ts).
  return { ...base, blocks: [...(base.blocks ?? []), note as unknown as Record<string, unknown>] };
}

/** The host's latest plan totals in a run's events. */
function latestPlan(events: readonly EngineEvent[], host: string): PlanSummary | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'plan.ready' && e.host === host) return e.summary;
  }
  return undefined;
}

/** What the run worked out of the host's change, for its restart question. */
function changesOf(
  events: readonly EngineEvent[],
  host: string,
): { diff: DiffOutcome; plan: PlanSummary | undefined } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'diff.ready' && e.host === host) return { diff: e.diff, plan: latestPlan(events, host) };
  }
  return undefined;
}

function foldOpenQuestions(events: readonly EngineEvent[]): number {
  const open = new Set<string>();
  for (const e of events) {
    if (e.type === 'approval.requested') open.add(e.host);
    if ((e.type === 'stage.started' || e.type === 'stage.finished') && e.stage === 'restart')
      open.delete(e.host);
  }
  return open.size;
}

function logMessage(lines: readonly string[]): SlackMessage {
  // Log lines are commands' own words, which can carry a token.
  const body = truncate(redact(lines.join('\n')), LIMITS.sectionText - 100);
  const title = `Log, last ${lines.length} line${lines.length === 1 ? '' : 's'}`;
  return message(title, [context(title), section(code(escapeMrkdwn(body)))]);
}

/** What the store recorded of a run, as the events that would have produced it. */
function recordedEvents(store: StateStore, runId: string): EngineEvent[] {
  const run = store.getRun(runId);
  if (run === undefined) return [];
  const events: EngineEvent[] = [
    {
      type: 'run.started',
      runId,
      verb: run.verb,
      hosts: run.hosts,
      ...(run.revision ? { revision: run.revision } : {}),
    },
  ];
  const activations = store.activationsOf(runId);
  /** What became of an activation the stopped bot left mid-way, as its host told the next start. */
  const settled = (host: string): string => {
    const a = activations.filter((x) => x.host === host).at(-1);
    const note = a ? activationNote(a) : null;
    return note ? `; ${note}` : '';
  };
  for (const stage of store.stagesOf(runId)) {
    if (stage.status === 'running') {
      events.push({ type: 'stage.started', runId, host: stage.host, stage: stage.stage });
      continue;
    }
    events.push({
      type: 'stage.finished',
      runId,
      host: stage.host,
      stage: stage.stage,
      outcome: stage.status === 'interrupted' ? 'failed' : stage.status,
      durationMs: stage.durationMs ?? 0,
      ...(stage.bytes === null ? {} : { bytes: stage.bytes }),
      ...(stage.status === 'interrupted'
        ? { detail: `interrupted: the bot stopped during this stage${settled(stage.host)}` }
        : stage.detail === null
          ? {}
          : { detail: stage.detail }),
    });
  }
  for (const approval of store.pendingApprovals()) {
    if (approval.runId !== runId) continue;
    events.push({
      type: 'approval.requested',
      runId,
      approvalId: approval.id,
      host: approval.host,
      question: approval.question,
      expiresAt: approval.expiresAt.toISOString(),
      action: approval.action,
    });
  }
  if (run.status !== 'running') {
    events.push({ type: 'run.finished', runId, outcome: run.status });
  }
  return events;
}

/**
 * A run's events, kept small: copy progress and log lines replace their previous value in place, since the
 * picture shows only the latest of each (and a long copy would otherwise grow the list without bound).
 */
class EventList {
  readonly #list: EngineEvent[];
  readonly #latest = new Map<string, number>();

  constructor(initial: readonly EngineEvent[]) {
    this.#list = [];
    for (const e of initial) this.push(e);
  }

  get list(): readonly EngineEvent[] {
    return this.#list;
  }

  push(event: EngineEvent): void {
    const key =
      event.type === 'stage.progress'
        ? `progress:${event.host}:${event.stage}:${event.source}`
        : event.type === 'log'
          ? `log:${event.host ?? ''}`
          : undefined;
    if (key === undefined) {
      this.#list.push(event);
      return;
    }
    const at = this.#latest.get(key);
    if (at === undefined) {
      this.#latest.set(key, this.#list.length);
      this.#list.push(event);
    } else {
      this.#list[at] = event;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
