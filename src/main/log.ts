// The bot's log: one line per event on stderr, with a time and a level, so journald and `grep` both read it.
// Line breaks inside a message are escaped rather than starting a line that looks like a new event. Every
// line is scrubbed of Slack token shapes: a rejection or a start-up failure logged here, outside the Slack
// app's own redacting sink, must not put a token in the journal either.
import { format } from 'node:util';
import type { LogSink, SlackLogLevel } from '../slack/bolt-logger.ts';
import { redact } from '../slack/redact.ts';

const RANK: Record<SlackLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function isLogLevel(value: string): value is SlackLogLevel {
  return value in RANK;
}

export function lineLogger(
  write: (line: string) => void,
  level: SlackLogLevel = 'info',
  now: () => Date = () => new Date(),
): LogSink {
  const at =
    (which: SlackLogLevel) =>
    (...parts: unknown[]) => {
      if (RANK[which] < RANK[level]) return;
      const text = redact(format(...parts.map(brief))).replace(/\r?\n/g, '\\n');
      write(`${now().toISOString()} ${which.toUpperCase().padEnd(5)} ${text}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** An error's message, with its stack only for errors nobody expected (they are bugs worth a trace). */
function brief(part: unknown): unknown {
  if (!(part instanceof Error)) return part;
  return part.stack ?? `${part.name}: ${part.message}`;
}
