// The one way this adapter runs Nix: an argument array (never a shell string), an environment built from a
// short allowlist plus what the caller passes explicitly (NIX_SSHOPTS, SSH_AUTH_SOCK), stderr streamed line by
// line, and every failure turned into a NixError that carries what a user needs to see. The environment is
// never logged: an agent socket path is harmless, but the rule is simpler kept whole.
import { execa } from 'execa';
import { firstNixError, stripAnsi } from './progress.ts';

/** Lines of stderr kept for an error report; a long build log is streamed, not kept. */
const STDERR_TAIL_LINES = 40;
/** Lines kept from Nix's first error message on, to find its cause after a long trace. */
const ERROR_LINES = 200;
/** Grace between SIGTERM and SIGKILL after a timeout or an abort: lets nix stop its ssh children. */
const KILL_GRACE_MS = 3000;

// What Nix needs from the bot's own environment to find its configuration, its store and ssh. Anything else
// (Slack tokens, for one) stays out of the child's environment.
const INHERITED_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'LANG',
  'LC_ALL',
  'TZ',
  'NIX_CONF_DIR',
  'NIX_CONFIG',
  'NIX_USER_CONF_FILES',
  'NIX_REMOTE',
  'NIX_STORE_DIR',
  'NIX_STATE_DIR',
  'NIX_LOG_DIR',
  'NIX_DAEMON_SOCKET_PATH',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_CONFIG_DIRS',
  'XDG_DATA_HOME',
  'XDG_STATE_HOME',
] as const;

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export interface NixRunOptions {
  /** Variables for this command only, e.g. NIX_SSHOPTS and SSH_AUTH_SOCK; they win over inherited ones. */
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** 0 or absent: no timeout. */
  readonly timeoutMs?: number;
  /** Each stderr line as it arrives (without its newline). */
  readonly onStderrLine?: (line: string) => void;
  readonly input?: string;
  readonly cwd?: string;
  /**
   * The folder of the Nix to run (the configuration's builder.nixBinDir): a bare program name is taken from
   * there, and it comes first on the command's PATH, so whatever Nix runs in turn is of the same version.
   */
  readonly nixBinDir?: string;
  /**
   * Opens fd 3 for the ssh that Nix starts (an ssh store's `?log-fd=3`) and reads it as stderr. Otherwise ssh
   * shares Nix's stderr, and makes it non-blocking (OpenSSH does so to its stdio), so Nix's own log lines
   * that meet a full pipe fail to write and are dropped without a trace (Nix ignores failed writes to
   * stderr). Nix 2.24 logs every path's byte progress, hundreds of lines a path, and lost the start or end
   * of some paths' copies whenever the bot read slower than Nix wrote.
   */
  readonly sshLogFd?: boolean;
}

export interface NixOutput {
  readonly stdout: string;
  /** The last lines of stderr (all of it when short). */
  readonly stderrTail: string;
}

export interface NixErrorFields {
  readonly argv: readonly string[];
  /** null when the process did not exit on its own (killed, or never started). */
  readonly exitCode: number | null;
  /** Nix's own `error:` line when it printed one, else what went wrong in a few words. */
  readonly shortMessage: string;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;
}

/** A Nix command that failed, as data: what ran, how it ended, and Nix's own words. */
export class NixError extends Error implements NixErrorFields {
  override readonly name: string = 'NixError';
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly shortMessage: string;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;

  constructor(fields: NixErrorFields, message?: string) {
    super(message ?? `${describeCommand(fields.argv)} failed: ${fields.shortMessage}`);
    this.argv = fields.argv;
    this.exitCode = fields.exitCode;
    this.shortMessage = fields.shortMessage;
    this.stderrTail = fields.stderrTail;
    this.timedOut = fields.timedOut;
    this.aborted = fields.aborted;
  }
}

/** Refuses bad input before anything runs, with the same error type callers already handle. */
export function invalidInput(argv: readonly string[], why: string): NixError {
  return new NixError({
    argv,
    exitCode: null,
    shortMessage: why,
    stderrTail: '',
    timedOut: false,
    aborted: false,
  });
}

/** `nix copy`, `nix store sign` for messages: the program and its subcommand, not every path it was given. */
export function describeCommand(argv: readonly string[]): string {
  const [program = '?', ...rest] = argv;
  const words = [program];
  let i = 0;
  if (rest[i] === '--extra-experimental-features') i += 2;
  while (i < rest.length && words.length < 3 && /^[a-z][a-z-]*$/.test(rest[i]!)) words.push(rest[i++]!);
  return words.join(' ');
}

export function nixEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (!ENV_NAME.test(name))
      throw new TypeError(`environment variable name ${JSON.stringify(name)} is not valid`);
    env[name] = value;
  }
  return env;
}

/** Runs argv; resolves with stdout when it exits 0, rejects with a NixError otherwise. */
export async function runNix(argv: readonly string[], opts: NixRunOptions = {}): Promise<NixOutput> {
  const [program, ...args] = argv;
  if (program === undefined) throw invalidInput(argv, 'empty command');
  const binDir = opts.nixBinDir;
  const file = binDir !== undefined && !program.includes('/') ? `${binDir}/${program}` : program;
  if (opts.signal?.aborted) {
    throw new NixError({
      argv,
      exitCode: null,
      shortMessage: 'aborted before it started',
      stderrTail: '',
      timedOut: false,
      aborted: true,
    });
  }
  const tail: string[] = [];
  // From Nix's first error on: a long trace can push the `error:` line out of the tail.
  const fromFirstError: string[] = [];
  const onLine = opts.onStderrLine;
  // biome-ignore lint/correctness/useYield: yielding nothing is how an execa transform drops a line
  function* keepLine(line: unknown) {
    const text = String(line);
    tail.push(text);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    if (fromFirstError.length > 0 ? fromFirstError.length < ERROR_LINES : looksLikeError(text)) {
      fromFirstError.push(text);
    }
    onLine?.(text);
  }
  const env = nixEnv(opts.env);
  if (binDir !== undefined) env.PATH = env.PATH ? `${binDir}:${env.PATH}` : binDir;
  const result = await execa(file, args, {
    env,
    extendEnv: false,
    input: opts.input ?? '',
    reject: false,
    stripFinalNewline: true,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    ...(opts.signal === undefined ? {} : { cancelSignal: opts.signal }),
    forceKillAfterDelay: KILL_GRACE_MS,
    // A transform that keeps nothing: lines are streamed to the caller and only the tail is remembered,
    // so a long build log does not pile up in memory. With `sshLogFd`, fd 3 is read the same way.
    stdio: ['pipe', 'pipe', [keepLine], ...(opts.sshLogFd ? [[keepLine]] : [])],
  });
  const stderrTail = tail.join('\n');
  if (result.exitCode === 0 && !result.failed) return { stdout: String(result.stdout), stderrTail };

  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : null;
  const timedOut = result.timedOut === true;
  const aborted = result.isCanceled === true;
  let shortMessage: string;
  if (timedOut) shortMessage = `timed out after ${formatMs(opts.timeoutMs ?? 0)}`;
  else if (aborted) shortMessage = 'aborted';
  else if (result.code === 'ENOENT') shortMessage = `${file} was not found on PATH`;
  else {
    shortMessage =
      firstNixError(fromFirstError) ??
      firstNixError(tail) ??
      lastLine(tail) ??
      (exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exited with status ${exitCode}`);
  }
  throw new NixError({ argv, exitCode, shortMessage, stderrTail, timedOut, aborted });
}

function looksLikeError(line: string): boolean {
  return line.startsWith('error:') || (line.startsWith('@nix {"action":"msg"') && /"level":0[,}]/.test(line));
}

function lastLine(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = stripAnsi(lines[i]!).trim();
    if (line !== '' && !line.startsWith('@nix ')) return line;
  }
  return undefined;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
