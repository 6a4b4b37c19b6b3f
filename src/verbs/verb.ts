// The shape every verb in commands/ has. One file per verb holds its argument schema, its call into the
// engine and its renderings, so the terminal and Slack share everything but the last step.
import type { ParseArgsOptionsConfig } from 'node:util';
import type { z } from 'zod';
import type { Actor, ProgressSink } from '../core/events.ts';

/** Who may run a verb: viewers run `view` verbs; deployers run both. */
export type Access = 'view' | 'deploy';

/** What the front end offers a running verb besides the engine. */
export interface VerbContext<Engine> {
  readonly engine: Engine;
  readonly actor: Actor;
  readonly onEvent: ProgressSink;
  readonly signal: AbortSignal;
  /**
   * Whether the front end can put a question to a person: Slack always can (buttons), a terminal when it is
   * interactive. Where it cannot, a restart happens only when the command says so (`--restart`).
   */
  readonly canAsk: boolean;
}

/** Raw tokens after `node:util` parseArgs: positionals plus flag values, before validation. */
export interface ParsedTokens {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | readonly (string | boolean)[] | undefined>>;
}

/** A Slack message as the Web API takes it: fallback text plus Block Kit blocks. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks?: readonly Record<string, unknown>[];
}

/** A file a verb's result carries (a screenshot): the terminal writes it out, Slack uploads it. */
export interface VerbFile {
  /** File name, e.g. `baard-entrance.png`. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** A short title, and a description for screen readers. */
  readonly title: string;
  readonly altText: string;
}

export interface Verb<Engine, Args, Result> {
  readonly name: string;
  /** One line for help listings and the manifest's description. */
  readonly summary: string;
  /** Arguments after the verb, e.g. `<host|@tag|all> [--dry-run]`. */
  readonly usage: string;
  readonly access: Access;
  /** Runs without the engine (no configuration, no hosts): only `help`. */
  readonly offline?: boolean;
  /** What the words after the verb are, for messages about one of them ("host 2: …"); `host` by default. */
  readonly positional?: string;
  /** Flags, as `node:util` parseArgs takes them (strict: unknown flags are errors). */
  readonly options: ParseArgsOptionsConfig;
  /** Validates the parsed tokens into typed arguments; every message names the bad part. */
  readonly schema: z.ZodType<Args, ParsedTokens>;
  run(ctx: VerbContext<Engine>, args: Args): Promise<Result>;
  /** Exit status for the terminal: 0 ok, 1 failed, other codes documented per verb. */
  exitCode(result: Result): number;
  renderText(result: Result): string;
  renderJson(result: Result): unknown;
  renderSlack(result: Result): SlackMessage;
  /** The file the result carries, if the verb makes one. */
  file?(result: Result): VerbFile;
}
