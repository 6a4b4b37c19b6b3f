// `signage VERB ...`: the terminal front end. Same verbs, same engine as Slack; progress bars on a TTY,
// `--json` for scripts, and exit codes scripts can rely on:
//   0 done · 1 a host failed (or, for status, is unreachable or out of sync) · 2 bad command or configuration
//   3 a host is busy with another run · 4 a restart question is still open · 5 not allowed · 70 internal error
//   129, 130, 143 stopped by SIGHUP, SIGINT, SIGTERM · 141 output closed (EPIPE): the run stopped at a safe point
import { existsSync } from 'node:fs';
import { writeFile as writeFileBytes } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Actor } from '../core/events.ts';
import { TargetError } from '../core/targets.ts';
import type { Engine, RunResult } from '../engine/engine.ts';
import { EngineError, HostBusy, hintOf, NotApprover, StateError } from '../engine/errors.ts';
import { type AnyVerb, flagProblem, parseCommand } from '../verbs/parse.ts';
import { verbs } from '../verbs/registry.ts';
import { UsageError } from '../verbs/usage-error.ts';
import type { VerbFile } from '../verbs/verb.ts';
import { askPending } from './ask.ts';
import { type Output, terminalProgress } from './progress.ts';
import { STOP_EXIT_CODES, type StopCause, watchStopRequests } from './stop-requests.ts';

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdoutStream: Writable;
  /** Watched with stdout for a closed pipe (EPIPE). */
  readonly stderrStream?: Writable;
}

/** Builds the engine from the configuration; the composition root provides it. */
export type EngineFactory = (
  configFile: string,
) => Promise<{ engine: Engine; close: () => Promise<void>; warnings?: readonly string[] }>;

const GLOBAL_HELP = `usage: signage [--config FILE] [--json] VERB [ARGS...]

  --config FILE  the configuration file (default: $SIGNAGE_CONFIG, else ./signage.yml)
  --json         print the result as JSON (no progress, no questions)
  --output FILE  where a verb's file goes (show: the PNG; \`-\` or leaving it out: stdout, never a terminal)

verbs:
${verbs.map((v) => `  ${v.name.padEnd(9)} ${v.summary}`).join('\n')}

\`signage help VERB\` explains one verb.`;

export async function runCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
  compose: EngineFactory,
): Promise<number> {
  // Global flags come before the verb; --json is also accepted after it, where scripts tend to put it.
  const verbAt = firstPositional(argv);
  const globalArgs = verbAt < 0 ? [...argv] : argv.slice(0, verbAt);
  const rest = verbAt < 0 ? [] : argv.slice(verbAt);
  let globals: {
    config?: string | undefined;
    json?: boolean | undefined;
    help?: boolean | undefined;
    version?: boolean | undefined;
  };
  try {
    globals = parseArgs({
      args: globalArgs,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    const flags = ['--config', '--json', '--help', '--version'];
    io.stderr.write(`signage: ${flagProblem(e, flags)}\n${GLOBAL_HELP}\n`);
    return 2;
  }
  if (globals.version) {
    const pkg = await import('../../package.json', { with: { type: 'json' } });
    io.stdout.write(`signage ${pkg.default.version}\n`);
    return 0;
  }
  if (globals.help || rest.length === 0) {
    io.stdout.write(`${GLOBAL_HELP}\n`);
    return globals.help ? 0 : 2;
  }
  const json = globals.json === true || rest.includes('--json');
  const output = takeOutput(rest.filter((t) => t !== '--json'));
  if (!output.ok) {
    io.stderr.write(`signage: ${output.message}\n`);
    return 2;
  }
  const parsed = parseCommand(verbs, output.tokens, 'signage');
  if (!parsed.ok) {
    io.stderr.write(`signage: ${parsed.message}\n`);
    return 2;
  }
  if (output.file !== undefined && parsed.verb.file === undefined) {
    io.stderr.write(`signage: --output is for verbs that make a file (show), not ${parsed.verb.name}\n`);
    return 2;
  }
  if (parsed.verb.file !== undefined && output.file === undefined) {
    // Refused before anything runs: the image would have nowhere to go.
    if (json) {
      io.stderr.write(`signage: with --json, give --output FILE for the ${parsed.verb.name} image\n`);
      return 2;
    }
    if ((io.stdoutStream as { isTTY?: boolean }).isTTY === true) {
      io.stderr.write(
        `signage: ${parsed.verb.name} makes a PNG image, which is not written to a terminal; give --output FILE, or redirect stdout to a file\n`,
      );
      return 2;
    }
  }
  const config = chooseConfig(globals.config, env);
  return runVerb(parsed.verb, parsed.args, { json, config, io, compose, output: output.file });
}

/**
 * `--output FILE` (or `-o FILE`, `--output=FILE`) is the terminal's own: where a verb's file goes. Slack never
 * sees it, so nothing typed in chat can name a file on the bot's machine.
 */
function takeOutput(
  tokens: readonly string[],
): { ok: true; tokens: string[]; file?: string } | { ok: false; message: string } {
  const kept: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    let value: string | undefined;
    if (t === '--output' || t === '-o') {
      value = tokens[i + 1];
      if (value === undefined || value === '') return { ok: false, message: `${t} needs a file name` };
      i++;
    } else if (t.startsWith('--output=')) {
      value = t.slice('--output='.length);
      if (value === '') return { ok: false, message: '--output needs a file name' };
    } else {
      kept.push(t);
      continue;
    }
    if (file !== undefined) return { ok: false, message: '--output given twice' };
    file = value;
  }
  return { ok: true, tokens: kept, ...(file === undefined ? {} : { file }) };
}

interface ConfigChoice {
  /** Absolute, so every message names the very file that was tried. */
  readonly file: string;
  /** Where the name came from, for the message when the file is missing. */
  readonly from: string;
}

function chooseConfig(flag: string | undefined, env: NodeJS.ProcessEnv): ConfigChoice {
  if (flag !== undefined) return { file: resolve(flag), from: 'named by --config' };
  if (env.SIGNAGE_CONFIG) return { file: resolve(env.SIGNAGE_CONFIG), from: 'named by $SIGNAGE_CONFIG' };
  return {
    file: resolve('signage.yml'),
    from: 'the default (./signage.yml in the current directory), as neither --config nor $SIGNAGE_CONFIG is set',
  };
}

async function runVerb(
  verb: AnyVerb,
  args: unknown,
  opts: {
    json: boolean;
    config: ConfigChoice;
    io: CliIo;
    compose: EngineFactory;
    output?: string | undefined;
  },
): Promise<number> {
  const { io, json } = opts;
  const actor: Actor = { kind: 'cli', user: userInfo().username };
  const progress = terminalProgress(io.stderr);
  const stops = watchStopRequests(process, [io.stdoutStream, ...(io.stderrStream ? [io.stderrStream] : [])]);
  let composed: Awaited<ReturnType<EngineFactory>> | undefined;
  let result: unknown;
  let failure: { e: unknown; note?: string } | undefined;
  try {
    if (!verb.offline) composed = await opts.compose(opts.config.file);
    for (const w of composed?.warnings ?? []) io.stderr.write(`signage: warning: ${w}\n`);
    const engine = composed?.engine as Engine;
    // An activation a stopped process left open is settled first: the host says how it ended.
    if (composed)
      for (const s of await engine.settleActivations(actor)) io.stderr.write(`signage: ${s.message}\n`);
    const canAsk = !json && io.stdin.isTTY === true;
    const ctx = {
      engine,
      actor,
      onEvent: json ? () => {} : progress.onEvent,
      signal: stops.signal,
      canAsk,
    };
    if (!stops.signal.aborted) {
      result = await verb.run(ctx, args);
      progress.done();
      if (canAsk && isRunResult(result) && !stops.signal.aborted) {
        result = await askPending(engine, result, ctx, { input: io.stdin, output: io.stdoutStream });
      }
    }
  } catch (e) {
    progress.done();
    const missing = !verb.offline && !existsSync(opts.config.file);
    failure = { e, ...(missing ? { note: `${opts.config.file} is ${opts.config.from}` } : {}) };
  } finally {
    stops.dispose();
    await composed?.close();
  }
  const cause = stops.cause();
  if (cause !== null) return reportStop(cause, verb, result, failure, io, json);
  if (failure) return reportError(failure.e, verb, io, json, failure.note);
  const file = verb.file?.(result);
  if (file !== undefined) {
    const written = await writeFile(file, opts.output, io, json);
    if (written !== 0) return written;
    // The file went to stdout: nothing else may go there.
    if (opts.output === undefined || opts.output === '-') return verb.exitCode(result);
  }
  io.stdout.write(
    json ? `${JSON.stringify(verb.renderJson(result), null, 2)}\n` : `${verb.renderText(result)}\n`,
  );
  return verb.exitCode(result);
}

/**
 * A verb's file: to `output` (`-` is stdout), or to stdout when no file is named. Binary never goes to a
 * terminal, where it would only garble the screen.
 */
async function writeFile(
  file: VerbFile,
  output: string | undefined,
  io: CliIo,
  json: boolean,
): Promise<number> {
  if (output !== undefined && output !== '-') {
    try {
      await writeFileBytes(output, file.bytes);
    } catch (e) {
      io.stderr.write(`signage: could not write ${output}: ${(e as Error).message}\n`);
      return 1;
    }
    if (!json) io.stderr.write(`signage: wrote ${file.name} (${file.bytes.length} bytes) to ${output}\n`);
    return 0;
  }
  if (json) {
    io.stderr.write('signage: with --json, give --output FILE for the image\n');
    return 2;
  }
  if ((io.stdoutStream as { isTTY?: boolean }).isTTY === true) {
    io.stderr.write(
      `signage: not writing a ${file.name} image to a terminal; give --output FILE, or redirect stdout (> ${file.name})\n`,
    );
    return 2;
  }
  await new Promise<void>((resolve, reject) =>
    io.stdoutStream.write(Buffer.from(file.bytes), (e) => (e ? reject(e) : resolve())),
  );
  return 0;
}

/** One line on stderr about the stop (the result, if any, as JSON for scripts), and 128 + the signal. */
function reportStop(
  cause: StopCause,
  verb: AnyVerb,
  result: unknown,
  failure: { e: unknown } | undefined,
  io: CliIo,
  json: boolean,
): number {
  const code = STOP_EXIT_CODES[cause];
  const why = cause === 'EPIPE' ? 'its output was closed' : `interrupted by ${cause}`;
  let what: string;
  if (isRunResult(result)) {
    const done =
      result.status === 'awaiting-approval'
        ? 'waits for its restart question'
        : `is recorded as ${result.status}`;
    what = `run ${result.runId} stopped at a safe point and ${done}; its hosts are free unless a question is open (check them with \`signage status\`)`;
  } else if (failure) {
    what = failure.e instanceof Error ? failure.e.message : String(failure.e);
  } else {
    what = 'stopped before it changed anything';
  }
  if (json && isRunResult(result))
    io.stdout.write(
      `${JSON.stringify({ ...(verb.renderJson(result) as object), exitCode: code }, null, 2)}\n`,
    );
  io.stderr.write(`signage ${verb.name}: ${why}: ${what}\n`);
  return code;
}

/** Index of the verb: the first word that is neither a flag nor the value of --config. */
function firstPositional(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') i++;
    else if (!a.startsWith('-')) return i;
  }
  return -1;
}

function isRunResult(x: unknown): x is RunResult {
  return (
    typeof x === 'object' &&
    x !== null &&
    'runId' in x &&
    'hosts' in x &&
    Array.isArray((x as RunResult).hosts)
  );
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof TargetError || (e as { name?: string })?.name === 'ConfigError')
    return 2;
  if (e instanceof StateError) return 2;
  if (e instanceof HostBusy) return 3;
  if (e instanceof NotApprover) return 5;
  if (e instanceof EngineError) return 1;
  return 70;
}

function reportError(e: unknown, verb: AnyVerb, io: CliIo, json: boolean, context?: string): number {
  const code = exitCodeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  const hint = [hintOf(e), context].filter((h) => h !== undefined).join('; ') || undefined;
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ error: message, ...(hint ? { hint } : {}), exitCode: code }, null, 2)}\n`,
    );
  } else {
    io.stderr.write(`signage ${verb.name}: ${message}\n${hint ? `  ${hint}\n` : ''}`);
    if (code === 70 && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  }
  return code;
}
