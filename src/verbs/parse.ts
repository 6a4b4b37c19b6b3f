// From typed words to a verb with validated arguments, the same for `/signage ...` and `signage ...`.
// Nothing here runs anything: a command that does not parse never reaches the engine.
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { nearest } from '../core/targets.ts';
import type { ParsedTokens, Verb } from './verb.ts';

// biome-ignore lint/suspicious/noExplicitAny: verbs differ in their argument and result types
export type AnyVerb = Verb<any, any, any>;

export type Parsed =
  | { readonly ok: true; readonly verb: AnyVerb; readonly args: unknown }
  | { readonly ok: false; readonly message: string };

/** Longest command text accepted: far above any real command, far below anything abusive. */
export const MAX_TEXT = 1000;

/** Splits a chat command into words. Refuses overlong text and control characters before anything else. */
export function tokenize(text: string): { ok: true; tokens: string[] } | { ok: false; message: string } {
  if (text.length > MAX_TEXT) {
    return { ok: false, message: `that command is ${text.length} characters long; the limit is ${MAX_TEXT}` };
  }
  // Tabs and newlines separate words; every other control character is refused.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    return { ok: false, message: 'that command contains control characters' };
  }
  return {
    ok: true,
    tokens: text
      .trim()
      .split(/\s+/)
      .filter((t) => t.length > 0),
  };
}

export function usageOf(verb: AnyVerb, prefix: string): string {
  return `${prefix} ${verb.name}${verb.usage ? ` ${verb.usage}` : ''}`;
}

export function parseCommand(verbs: readonly AnyVerb[], tokens: readonly string[], prefix: string): Parsed {
  const [name, ...rest] = tokens;
  const names = verbs.map((v) => v.name);
  if (!name) return { ok: false, message: `name a verb: ${names.join(', ')} (try \`${prefix} help\`)` };
  const verb = verbs.find((v) => v.name === name);
  if (!verb) {
    const near = nearest(name.slice(0, 40), names);
    const guess = near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : '';
    return {
      ok: false,
      message: `unknown verb ${JSON.stringify(name.slice(0, 40))}${guess}; verbs: ${names.join(', ')}`,
    };
  }
  let tokensParsed: ParsedTokens;
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: verb.options,
      allowPositionals: true,
      strict: true,
    });
    tokensParsed = { positionals, values };
  } catch (e) {
    const flags = Object.keys(verb.options).map((f) => `--${f}`);
    return { ok: false, message: `${flagProblem(e, flags)}\nusage: ${usageOf(verb, prefix)}` };
  }
  const result = verb.schema.safeParse(tokensParsed);
  if (!result.success)
    return {
      ok: false,
      message: `${describeIssues(result.error, verb.positional ?? 'host')}\nusage: ${usageOf(verb, prefix)}`,
    };
  return { ok: true, verb, args: result.data };
}

/** node:util's complaint about flags, with the nearest known flag for an unknown one. */
export function flagProblem(e: unknown, known: readonly string[]): string {
  const message = e instanceof Error ? e.message : String(e);
  // node:util's messages explain `--` positionals at length; the first sentence is what a user needs.
  const first = message.split('. ')[0]!.replace(/\.$/, '');
  const unknown = /^Unknown option '(-[^']*)'/.exec(message)?.[1];
  if (unknown === undefined) return first;
  const near = nearest(unknown.slice(0, 40), known);
  const flags = known.length > 0 ? `; flags here: ${known.join(', ')}` : '; this verb takes no flags';
  return `${first}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}${flags}`;
}

function describeIssues(error: z.ZodError, positional: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String);
      const where =
        path[0] === 'positionals'
          ? positional !== 'host'
            ? positional
            : path.length > 1
              ? `host ${Number(path[1]) + 1}`
              : 'hosts'
          : path
              .slice(1)
              .map((p) => `--${p}`)
              .join('.');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
