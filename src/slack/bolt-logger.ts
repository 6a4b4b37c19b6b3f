// The bot's log as Bolt, its Web API client and its Socket Mode client see it. Everything that goes through
// here is scrubbed of the bot's secrets first: a library that logs a request or an error one day must not
// put a token in the journal.
import { format } from 'node:util';
import { type Logger, LogLevel } from '@slack/bolt';
import { redact } from './redact.ts';

export { redact };

export type SlackLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the bot's log lines go (src/main/log.ts writes them to stderr). */
export interface LogSink {
  debug(...parts: unknown[]): void;
  info(...parts: unknown[]): void;
  warn(...parts: unknown[]): void;
  error(...parts: unknown[]): void;
}

const RANK: Record<SlackLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A sink that formats each line and scrubs it before passing it on. */
export function redactingSink(sink: LogSink, secrets: readonly string[]): LogSink {
  const at =
    (which: SlackLogLevel) =>
    (...parts: unknown[]) => {
      sink[which](redact(format(...parts.map(describe)), secrets));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function describe(part: unknown): unknown {
  // Errors keep their stack: they are what a bug report needs, and the stack is scrubbed like the rest.
  if (part instanceof Error) return part.stack ?? `${part.name}: ${part.message}`;
  return part;
}

const BOLT_LEVEL: Record<SlackLogLevel, LogLevel> = {
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
};

function levelName(level: LogLevel): SlackLogLevel {
  switch (level) {
    case LogLevel.DEBUG:
      return 'debug';
    case LogLevel.WARN:
      return 'warn';
    case LogLevel.ERROR:
      return 'error';
    default:
      return 'info';
  }
}

/**
 * Bolt's logger interface over a sink: lines below `level` are dropped here (Bolt's debug output is
 * plentiful), and each line says it came from the Slack library.
 */
export function boltLogger(sink: LogSink, level: SlackLogLevel = 'info'): Logger {
  let current: SlackLogLevel = level;
  let name = 'slack';
  const at =
    (which: SlackLogLevel) =>
    (...parts: unknown[]) => {
      if (RANK[which] < RANK[current]) return;
      sink[which](`${name}:`, ...parts);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel(next: LogLevel) {
      current = levelName(next);
    },
    getLevel: () => BOLT_LEVEL[current],
    setName(next: string) {
      name = next;
    },
  };
}

export function toBoltLevel(level: SlackLogLevel): LogLevel {
  return BOLT_LEVEL[level];
}
