// Runs one command on a host over a pooled connection: argv quoted word for word, stdin written then closed,
// output handed on line by line and kept bounded, a non-zero exit returned as data. A command that times out
// or is cancelled is ended on the host, with everything it started: its process group (reported by the
// wrapper) is sent TERM, then KILL two seconds later, over a second channel.
import type { ClientChannel } from 'ssh2';
import type { ExecOptions, ExecResult, HostFailure } from '../../core/ports/hosts.ts';
import type { HostSpec } from '../../core/types.ts';
import { seconds } from './connect.ts';
import { about, HostError, invalidRequest, showCommand } from './errors.ts';
import { OutputStream } from './output.ts';
import { Aborted, type ConnectionPool, type Lease } from './pool.ts';
import { QuoteError } from './quote.ts';
import type { SshSettings } from './settings.ts';
import { killCommand, PgidFilter, wrappedCommand } from './wrapper.ts';

/** Between TERM and KILL, and the longest wait for each step of stopping a command. */
const GRACE_MS = 2000;

export interface ExecTarget {
  readonly host: HostSpec;
  readonly pool: ConnectionPool;
  readonly settings: SshSettings;
}

export async function execOn(
  target: ExecTarget,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const { host } = target;
  const command = buildCommand(host, argv, opts);
  const shown = showCommand(argv);
  const timeoutMs = opts.timeoutMs ?? target.settings.commandTimeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw invalidRequest(host, `timeoutMs must be 0 (none) or more, not ${timeoutMs}`, 'fix the caller');
  }
  let lease: Lease;
  try {
    lease = await target.pool.acquire(host, opts.signal);
  } catch (e) {
    if (e instanceof Aborted)
      throw commandFailure(host, 'CommandAborted', shown, null, null, `was ${e.message}`);
    throw e;
  }
  try {
    return await runOnChannel(target, lease, command, shown, timeoutMs, opts);
  } finally {
    lease.release();
  }
}

function buildCommand(host: HostSpec, argv: readonly string[], opts: ExecOptions): string {
  if (!Array.isArray(argv) || argv.some((w) => typeof w !== 'string')) {
    throw invalidRequest(host, 'a command must be an array of strings', 'fix the caller');
  }
  if (
    opts.stdin !== undefined &&
    typeof opts.stdin !== 'string' &&
    !(opts.stdin instanceof Uint8Array) &&
    !(Symbol.asyncIterator in Object(opts.stdin))
  ) {
    throw invalidRequest(host, 'stdin must be a string or bytes', 'fix the caller');
  }
  try {
    return wrappedCommand(argv, opts.env ?? {});
  } catch (e) {
    if (e instanceof QuoteError) throw invalidRequest(host, e.message, 'fix the command or its environment');
    throw e;
  }
}

function runOnChannel(
  target: ExecTarget,
  lease: Lease,
  command: string,
  shown: string,
  timeoutMs: number,
  opts: ExecOptions,
): Promise<ExecResult> {
  const { host, settings } = target;
  const stdout = new OutputStream(opts.keepStdoutBytes ?? settings.keepOutputBytes, opts.onStdout);
  const stderr = new OutputStream(settings.keepOutputBytes, opts.onStderr);
  let notePgid: (pgid: number | null) => void = () => {};
  const pgidKnown = new Promise<number | null>((resolve) => {
    notePgid = resolve;
  });
  const filter = new PgidFilter((pgid) => notePgid(pgid));
  let noteChannel: (ch: ClientChannel | null) => void = () => {};
  const channelOpen = new Promise<ClientChannel | null>((resolve) => {
    noteChannel = resolve;
  });
  let noteClosed: () => void = () => {};
  const closedP = new Promise<void>((resolve) => {
    noteClosed = resolve;
  });
  let closed = false;
  let exit: { code: number | null; signal: string | null } | null = null;
  let stopping: 'timeout' | 'abort' | null = null;
  const started = Date.now();
  const streamedInput =
    opts.stdin !== undefined && typeof opts.stdin !== 'string' && !(opts.stdin instanceof Uint8Array);

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const onAbort = () => void stop('abort');
    const settle = (outcome: { result: ExecResult } | { error: HostError }) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if ('result' in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    const failure = (
      kind: 'CommandTimeout' | 'CommandAborted' | 'RemoteCommandFailed',
      why: string,
      hint?: string,
    ) =>
      commandFailure(host, kind, shown, stdout, stderr, why, {
        timeoutMs,
        exitCode: exit?.code ?? null,
        ...(hint ? { hint } : {}),
      });

    // Sent on a channel of its own, outside the session limit. sshd may refuse it while at its own MaxSessions
    // (other commands being stopped at the same moment free theirs soon), so it is tried a few times.
    const signalGroup = (pgid: number, sig: 'TERM' | 'KILL', attempt = 1) => {
      if (closed) return;
      try {
        lease.client.exec(killCommand(pgid, sig), (err, ch) => {
          if (err) {
            if (attempt < 5 && lease.lostReason() === null) {
              setTimeout(() => signalGroup(pgid, sig, attempt + 1), 200 * attempt);
            }
            return;
          }
          ch.on('data', () => {});
          ch.stderr.on('data', () => {});
          ch.end();
        });
        lease.countChannel();
      } catch {
        // The connection is gone: so is the session, and sshd has hung up on the command.
      }
    };
    const closedWithin = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        void closedP.then(() => {
          clearTimeout(t);
          resolve(true);
        });
      });

    const stop = async (why: 'timeout' | 'abort') => {
      if (stopping || settled) return;
      stopping = why;
      const ch = await channelOpen;
      if (why === 'abort' && streamedInput && ch && !closed) {
        // A streamed input can fill the connection for seconds on a slow uplink (the host's SSH window is
        // megabytes), and a signal or a close sent after it waits behind it all. Dropping the connection ends
        // the session at once: sshd hangs up on the command, which stops at its next read or write.
        lease.client.destroy();
        settle({
          error: failure(
            'CommandAborted',
            'was cancelled',
            'the connection was dropped, so sshd ended the command on the host',
          ),
        });
        return;
      }
      // Whether the command is known to have ended on the host: its session closed after the signals.
      let ended = ch === null || closed;
      if (ch && !closed) {
        const pgid = await Promise.race([pgidKnown, closedWithin(GRACE_MS).then(() => null)]);
        if (pgid !== null && !closed) {
          signalGroup(pgid, 'TERM');
          ended = await closedWithin(GRACE_MS);
          if (!ended) {
            signalGroup(pgid, 'KILL');
            ended = await closedWithin(GRACE_MS);
          }
        }
        if (!closed) {
          ch.close();
          await closedWithin(GRACE_MS);
        }
      }
      const hint = ended
        ? 'the command and everything it started were ended on the host'
        : `the command could not be confirmed ended on ${host.name}: look for it there (ps -ef)`;
      settle({
        error:
          why === 'timeout'
            ? failure('CommandTimeout', `timed out after ${seconds(timeoutMs)}`, hint)
            : failure('CommandAborted', 'was cancelled', hint),
      });
    };

    const finish = () => {
      stdout.end();
      const rest = filter.flush();
      if (rest.length > 0) stderr.push(rest);
      stderr.end();
      closed = true;
      notePgid(null);
      noteClosed();
      if (stopping) return;
      if (exit === null) {
        const lost = lease.lostReason();
        settle({
          error: lost
            ? new HostError({
                kind: 'ConnectionLost',
                ...about(host),
                message: `lost the connection to ${host.name} while running \`${shown}\`: ${lost}`,
                hint: `check that ${host.name} is up and on the network; the command may or may not have finished there`,
              })
            : failure('RemoteCommandFailed', 'ended without reporting an exit status'),
        });
        return;
      }
      settle({
        result: {
          exitCode: exit.code,
          signal: exit.signal,
          stdout: opts.binaryStdout === true ? '' : stdout.text(),
          ...(opts.binaryStdout === true ? { stdoutBytes: stdout.bytes() } : {}),
          stderr: stderr.text(),
          stdoutTruncated: stdout.truncated,
          stderrTruncated: stderr.truncated,
          durationMs: Date.now() - started,
        },
      });
    };

    if (opts.signal) {
      if (opts.signal.aborted) {
        noteChannel(null);
        settle({ error: failure('CommandAborted', 'was cancelled before it started') });
        return;
      }
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeoutMs > 0) timer = setTimeout(() => void stop('timeout'), timeoutMs);

    // sshd frees a finished session slightly after the client sees it close, so a channel opened at once in its
    // place can be refused ("open failed") at the host's MaxSessions: a refused open is tried again, briefly.
    let openAttempts = 0;
    const open = () => {
      try {
        lease.client.exec(command, opened);
      } catch (e) {
        opened(e instanceof Error ? e : new Error(String(e)), undefined as unknown as ClientChannel);
      }
    };
    const opened = (err: Error | undefined, ch: ClientChannel) => {
      if (err && /open failed/i.test(err.message) && openAttempts < 5 && !stopping && !lease.lostReason()) {
        openAttempts++;
        setTimeout(open, 25 * 2 ** openAttempts);
        return;
      }
      if (err) {
        noteChannel(null);
        closed = true;
        noteClosed();
        if (stopping) return;
        const lost = lease.lostReason();
        settle({
          error: lost
            ? new HostError({
                kind: 'ConnectionLost',
                ...about(host),
                message: `lost the connection to ${host.name} before \`${shown}\` started: ${lost}`,
                hint: `check that ${host.name} is up and on the network, then retry`,
              })
            : failure(
                'RemoteCommandFailed',
                `could not be started: ${err.message}${/open failed/i.test(err.message) ? ` (the host's sshd refused a session ${openAttempts + 1} times: is its MaxSessions below ${settings.maxSessionsPerConnection}?)` : ''}`,
              ),
        });
        return;
      }
      lease.countChannel();
      let channelDone = false;
      let stderrDone = false;
      const maybeFinish = () => {
        if (channelDone && stderrDone) finish();
      };
      ch.on('data', (chunk: Buffer) => stdout.push(chunk));
      ch.stderr.on('data', (chunk: Buffer) => stderr.push(filter.push(chunk)));
      ch.on('exit', (code: number | null, signal?: string) => {
        exit = {
          code: typeof code === 'number' ? code : null,
          signal: typeof signal === 'string' ? signal.replace(/^SIG/, '') : null,
        };
      });
      ch.on('close', () => {
        channelDone = true;
        maybeFinish();
      });
      ch.stderr.on('close', () => {
        stderrDone = true;
        maybeFinish();
      });
      ch.on('error', () => {
        // Reported through 'close' and the connection's loss.
      });
      if (opts.stdin === undefined) ch.end();
      else if (typeof opts.stdin === 'string') ch.end(Buffer.from(opts.stdin, 'utf8'));
      else if (opts.stdin instanceof Uint8Array) ch.end(Buffer.from(opts.stdin));
      else void pump(ch, opts.stdin, () => closed, aliveWhileHostSends(lease));
      noteChannel(ch);
    };
    open();
  });
}

/**
 * Writes a stream to the channel as fast as the channel drains, then ends it. Stops when the command's session
 * closed (it wants no more); a stream that throws closes the channel, so the command sees its input cut.
 */
/**
 * While a stream is written, anything the host sends (its SSH window growing as it takes the data) proves it
 * alive, whatever its keepalive answers say: those queue behind the stream's data in flight, up to the host's
 * SSH window (2 MiB for OpenSSH), which a slow uplink takes seconds to carry (11 s at 1.5 Mbit/s, beyond three
 * keepalives of 2 s). ssh2 counts unanswered keepalives in a private counter, reset here as its own answers
 * reset it; returns the listener's removal.
 */
function aliveWhileHostSends(lease: Lease): () => void {
  const client = lease.client as unknown as {
    _resetKA?: () => void;
    _sock?: { on(e: 'data', f: () => void): void; off(e: 'data', f: () => void): void };
  };
  const sock = client._sock;
  if (typeof client._resetKA !== 'function' || !sock) return () => {};
  const reset = () => client._resetKA?.();
  sock.on('data', reset);
  return () => sock.off('data', reset);
}

async function pump(
  ch: ClientChannel,
  input: AsyncIterable<Uint8Array>,
  isClosed: () => boolean,
  stopWatching: () => void,
): Promise<void> {
  // Until the channel closes: what was written is still crossing after the input ends.
  ch.once('close', stopWatching);
  if (isClosed()) stopWatching();
  try {
    for await (const chunk of input) {
      if (isClosed()) return;
      if (!ch.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            ch.off('drain', done);
            ch.off('close', done);
            resolve();
          };
          ch.on('drain', done);
          ch.on('close', done);
        });
      }
    }
    if (!isClosed()) ch.end();
  } catch {
    if (!isClosed()) ch.close();
  }
}

function commandFailure(
  host: HostSpec,
  kind: 'CommandTimeout' | 'CommandAborted' | 'RemoteCommandFailed',
  shown: string,
  stdout: OutputStream | null,
  stderr: OutputStream | null,
  why: string,
  extra: { timeoutMs?: number; exitCode?: number | null; hint?: string } = {},
): HostError {
  const context = {
    ...about(host),
    command: shown,
    stdoutTail: stdout?.tail() ?? '',
    stderrTail: stderr?.tail() ?? '',
    message: `${host.name}: \`${shown}\` ${why}`,
  };
  let failure: HostFailure;
  switch (kind) {
    case 'CommandTimeout':
      failure = {
        kind,
        ...context,
        timeoutMs: extra.timeoutMs ?? 0,
        hint: `${extra.hint ?? 'it never started'}; give it more time if it needs it`,
      };
      break;
    case 'CommandAborted':
      failure = { kind, ...context, hint: extra.hint ?? 'it was stopped before it started on the host' };
      break;
    case 'RemoteCommandFailed':
      failure = {
        kind,
        ...context,
        exitCode: extra.exitCode ?? null,
        hint: extra.hint ?? `see the output of the command (stderrTail), or run it on ${host.name} by hand`,
      };
      break;
  }
  return new HostError(failure);
}
