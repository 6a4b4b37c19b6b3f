// A run: one request carried out (a deploy, a switch, a rollback...). It holds the hosts' locks, records its
// stages and every command it runs on a host, and reports progress as events. Each stage ends ok, noop
// (nothing to do is not the same as done) or failed, with its duration and bytes.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Actor, EngineEvent, ProgressSink } from '../core/events.ts';
import { DEFAULT_HEALTH } from '../core/health.ts';
import type { HostFacts } from '../core/host-facts.ts';
import type { ExecOptions, ExecResult, HostConnection } from '../core/ports/hosts.ts';
import type { CancelRequest, LockHold, RunOptions, RunStatus } from '../core/ports/state.ts';
import type { Revision } from '../core/revision.ts';
import type { HostSpec, StageName, StorePath } from '../core/types.ts';
import { type CancelWatch, watchCancel } from './cancel-watch.ts';
import type { EngineDeps } from './deps.ts';
import { HostBusy, HostCommandFailed, Interrupted, messageOf, StateError, stopReason } from './errors.ts';

export interface RunRequest {
  readonly verb: string;
  readonly hosts: readonly string[];
  readonly actor: Actor;
  readonly onEvent: ProgressSink;
  readonly signal?: AbortSignal;
  /** Verbs that change hosts take their locks; read-only verbs do not. */
  readonly lock: boolean;
  /** The fleet revision every build of the run uses; absent for runs that build nothing. */
  readonly revision?: Revision;
  /** What the run was asked with, kept so it can be run again. */
  readonly options?: RunOptions;
}

export interface StageDone<T> {
  readonly outcome: 'ok' | 'noop';
  readonly value: T;
  readonly bytes?: number;
  readonly detail?: string;
}

export interface HostExecOptions extends Omit<ExecOptions, 'onStderr' | 'signal'> {
  readonly onStderrLine?: (line: string) => void;
  /** Return a non-zero exit as data instead of failing. */
  readonly allowFailure?: boolean;
}

/** Commands and queries on hosts, each written to the audit log. */
export interface HostAccess {
  /** Records other work that runs a command on the host, e.g. the `nix-store --serve` a builder copy starts. */
  record<T>(host: HostSpec, argv: readonly string[], work: () => Promise<T>): Promise<T>;
  exec(host: HostSpec, argv: readonly string[], opts?: HostExecOptions): Promise<ExecResult>;
  /** With `health`, the host's power and temperature commands answer in the same round trip. */
  probe(host: HostSpec, opts?: { readonly health?: boolean }): Promise<HostFacts>;
  validPaths(host: HostSpec, paths: readonly StorePath[]): Promise<ReadonlySet<StorePath>>;
  /** A new connection of its own (see HostsPort.fresh), audited like the others; the caller closes it. */
  fresh(host: HostSpec): FreshAccess;
}

export interface FreshAccess {
  exec(argv: readonly string[], opts?: HostExecOptions): Promise<ExecResult>;
  probe(): Promise<HostFacts>;
  close(): Promise<void>;
}

export interface RunScope extends HostAccess {
  readonly runId: string;
  readonly actor: Actor;
  readonly revision: Revision | null;
  readonly signal: AbortSignal;
  /** A safe point: throws Interrupted when the run was asked to stop, naming what comes next. */
  checkpoint(next: string): void;
  /** Someone asked to cancel the run (from this process or another); null otherwise. */
  cancelRequest(): CancelRequest | null;
  emit(event: EngineEvent): void;
  log(message: string, host?: string): void;
  stage<T>(host: string, stage: StageName, work: () => Promise<StageDone<T>>): Promise<T>;
  /** Records a stage that was not run, and why. */
  skip(host: string, stage: StageName, detail: string): void;
  finish(status: Exclude<RunStatus, 'running'>, summary?: unknown): void;
}

export function openRun(deps: EngineDeps, req: RunRequest): RunScope {
  const { store } = deps;
  const run = store.createRun({
    verb: req.verb,
    hosts: req.hosts,
    actor: req.actor,
    now: deps.now(),
    ...(req.revision ? { revision: req.revision } : {}),
    ...(req.options ? { options: req.options } : {}),
  });
  const cancel = watchCancel(deps, run.id, req.signal, actorName);
  let tookOver: readonly LockHold[] = [];
  if (req.lock) {
    const locked = store.acquireLocks(req.hosts, run.id, req.actor, deps.now());
    if (!locked.ok) {
      cancel.stop();
      store.finishRun(run.id, { status: 'failed', now: deps.now(), summary: { refused: 'busy' } });
      const who = locked.held.map(
        (h) =>
          `${h.host} is being deployed by ${actorName(h.holder)} (run ${h.runId}, since ${h.since.toISOString()})`,
      );
      throw new HostBusy(who.join('; '), 'wait for that run to finish, or check it with `status`');
    }
    tookOver = locked.tookOver ?? [];
  }
  if (req.revision && req.lock) {
    // The audit log says, per host, which exact fleet revision this run put there: the locked flake URL.
    for (const host of req.hosts) {
      store.audit({
        at: deps.now(),
        runId: run.id,
        host,
        actor: req.actor,
        argv: ['(fleet revision)', req.revision.flake],
        exitCode: 0,
        durationMs: 0,
      });
    }
  }
  const scope = runScope(deps, run.id, req.actor, req.onEvent, cancel.signal, req.revision ?? null, cancel);
  scope.emit({
    type: 'run.started',
    runId: run.id,
    verb: req.verb,
    hosts: req.hosts,
    ...(req.revision ? { revision: req.revision } : {}),
  });
  for (const h of tookOver) {
    scope.log(
      `took over ${h.host} from run ${h.runId} of ${actorName(h.holder)} (since ${h.since.toISOString()}): ` +
        'its process is gone, so that run is marked interrupted; check what it left with `status`',
      h.host,
    );
  }
  return scope;
}

/**
 * Works within an existing run without changing its status: an answer to a restart question acts on its host
 * whether the run still works on other hosts, waits for answers, or ended (even in another process).
 */
export function joinRun(
  deps: EngineDeps,
  runId: string,
  actor: Actor,
  onEvent: ProgressSink,
): RunScope | undefined {
  const run = deps.store.getRun(runId);
  return run ? runScope(deps, runId, actor, onEvent, new AbortController().signal, run.revision) : undefined;
}

/**
 * Stages that change what a host runs are never cut short by a request to stop: their host commands run to
 * their end (or their own time limit), and the run stops at the next safe point after them.
 */
const UNINTERRUPTIBLE: ReadonlySet<StageName> = new Set(['switch', 'rollback', 'restart']);
const shielded = new AsyncLocalStorage<boolean>();

/** The signal a host command honours: none inside an uninterruptible stage. */
function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal && shielded.getStore() !== true ? { signal } : {};
}

function runScope(
  deps: EngineDeps,
  runId: string,
  actor: Actor,
  onEvent: ProgressSink,
  signal: AbortSignal,
  revision: Revision | null,
  cancel?: CancelWatch,
): RunScope {
  const { store } = deps;
  const emit = (event: EngineEvent) => {
    try {
      onEvent(event);
    } catch {
      // A front end that fails to render must not fail the deploy it reports on.
    }
  };
  const checkpoint = (next: string) => {
    cancel?.check();
    if (signal.aborted) throw new Interrupted(`stopped before ${next}: ${stopReason(signal)}`);
  };
  return {
    runId,
    actor,
    revision,
    signal,
    checkpoint,
    cancelRequest: () => cancel?.request() ?? deps.store.getRun(runId)?.cancelRequest ?? null,
    emit,
    log: (message, host) => emit({ type: 'log', runId, message, ...(host ? { host } : {}) }),
    async stage(host, stage, work) {
      checkpoint(`the ${stage} stage of ${host}`);
      const startedAt = deps.now();
      store.startStage({ runId, host, stage, now: startedAt });
      emit({ type: 'stage.started', runId, host, stage });
      try {
        const done = UNINTERRUPTIBLE.has(stage) ? await shielded.run(true, work) : await work();
        const durationMs = deps.now().getTime() - startedAt.getTime();
        store.recordStage({
          runId,
          host,
          stage,
          outcome: done.outcome,
          startedAt,
          durationMs,
          ...pick(done),
        });
        emit({
          type: 'stage.finished',
          runId,
          host,
          stage,
          outcome: done.outcome,
          durationMs,
          ...pick(done),
        });
        return done.value;
      } catch (caught) {
        // Whatever a stop request cut short (a build, a copy) is reported as the interruption it is.
        const e =
          signal.aborted && !UNINTERRUPTIBLE.has(stage) && !(caught instanceof Interrupted)
            ? new Interrupted(`stopped during the ${stage} stage of ${host}: ${stopReason(signal)}`)
            : caught;
        const durationMs = deps.now().getTime() - startedAt.getTime();
        const detail = messageOf(e);
        store.recordStage({ runId, host, stage, outcome: 'failed', startedAt, durationMs, detail });
        emit({ type: 'stage.finished', runId, host, stage, outcome: 'failed', durationMs, detail });
        throw e;
      }
    },
    skip(host, stage, detail) {
      const now = deps.now();
      store.recordStage({ runId, host, stage, outcome: 'skipped', startedAt: now, durationMs: 0, detail });
      emit({ type: 'stage.finished', runId, host, stage, outcome: 'skipped', durationMs: 0, detail });
    },
    ...hostAccess(deps, runId, actor, signal),
    finish(status, summary) {
      cancel?.stop();
      store.finishRun(runId, { status, now: deps.now(), ...(summary === undefined ? {} : { summary }) });
      emit({ type: 'run.finished', runId, outcome: status });
    },
  };
}

/** Host access outside a run (status): audited with no run id. */
export function hostAccess(
  deps: EngineDeps,
  runId: string | null,
  actor: Actor,
  signal?: AbortSignal,
): HostAccess {
  const { store } = deps;
  // Every command run on a host goes into the audit log before it runs, and how it ended once it has: a
  // command the log cannot record is not run.
  const audited = async <T>(host: HostSpec, argv: readonly string[], work: () => Promise<T>): Promise<T> => {
    const at = deps.now();
    let id: number;
    try {
      id = store.auditStart({ at, runId, host: host.name, actor, argv });
    } catch (e) {
      throw new StateError(e);
    }
    const end = (exitCode: number | null, error: string | null) => {
      try {
        store.auditEnd(id, { exitCode, durationMs: deps.now().getTime() - at.getTime(), error });
      } catch (e) {
        throw new StateError(e);
      }
    };
    let result: T;
    try {
      result = await work();
    } catch (e) {
      end(null, messageOf(e));
      throw e;
    }
    const exit = isExecResult(result) ? result : null;
    // Whole: the store masks secrets before it cuts the excerpt.
    end(exit ? exit.exitCode : 0, exit && exit.exitCode !== 0 ? exit.stderr : null);
    return result;
  };

  const execOn = async (
    conn: HostConnection,
    host: HostSpec,
    argv: readonly string[],
    opts: Omit<HostExecOptions, 'forward'>,
  ): Promise<ExecResult> => {
    const { onStderrLine, allowFailure, ...rest } = opts;
    const result = await audited(host, argv, () =>
      conn.exec(argv, {
        ...rest,
        ...signalOption(signal),
        ...(onStderrLine ? { onStderr: onStderrLine } : {}),
      }),
    );
    if (result.exitCode !== 0 && !allowFailure) {
      throw new HostCommandFailed(host.name, argv, result.exitCode, result.stderr);
    }
    return result;
  };

  return {
    record: audited,
    exec(host, argv, opts = {}) {
      return execOn(deps.remote.connection(host), host, argv, opts);
    },
    fresh(host) {
      const conn = deps.remote.fresh(host);
      return {
        exec: (argv, opts = {}) => execOn(conn, host, argv, opts),
        probe: () => audited(host, ['(probe over a new connection)'], () => conn.probe(signalOption(signal))),
        close: () => conn.close(),
      };
    },
    probe: (host, opts = {}) =>
      audited(host, probeAudit(host, opts.health === true), () =>
        deps.remote
          .connection(host)
          .probe({ ...signalOption(signal), ...(opts.health ? { health: true } : {}) }),
      ),
    validPaths: (host, paths) =>
      audited(
        host,
        ['nix-store', '--check-validity', '--print-invalid', `(${paths.length} path hashes on stdin)`],
        () => deps.remote.connection(host).validPaths(paths, signalOption(signal)),
      ),
  };
}

/** The audit log names the health commands a probe ran, as it names every other command. */
function probeAudit(host: HostSpec, health: boolean): string[] {
  const what = ['(probe: current and booted system, generations, free space)'];
  if (!health) return what;
  const settings = host.health ?? DEFAULT_HEALTH;
  const commands = [settings.power, settings.temperature].flatMap((c) => (c ? [c.join(' ')] : []));
  return commands.length === 0 ? what : [...what, `(health: ${commands.join('; ')})`];
}

function isExecResult(x: unknown): x is ExecResult {
  return typeof x === 'object' && x !== null && 'exitCode' in x && 'stderr' in x;
}

function pick(done: { bytes?: number; detail?: string }): { bytes?: number; detail?: string } {
  return {
    ...(done.bytes === undefined ? {} : { bytes: done.bytes }),
    ...(done.detail === undefined ? {} : { detail: done.detail }),
  };
}

export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'slack':
      return `<@${actor.userId}>`;
    case 'cli':
      return `${actor.user} (terminal)`;
    case 'schedule':
      return `the ${actor.job} schedule`;
  }
}
