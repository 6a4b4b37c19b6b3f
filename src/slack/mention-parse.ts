// `@signage …` in plain words: "status baard-entrance", "what is running on baard-entrance", "is
// baard-entrance ok?", "status of @lobby". Becomes a verb and its arguments, or a friendly reply saying what
// the bot understands. Pure; the text has already been through checkRequestText.
import type { SlackMessage } from '../verbs/verb.ts';
import { context, escapeMrkdwn, message, section } from './blocks/kit.ts';

export const DEFAULT_MENTION_VERBS: readonly string[] = ['status', 'hosts', 'help'];

export type MentionParse =
  | { readonly kind: 'request'; readonly verb: string; readonly tokens: readonly string[] }
  | { readonly kind: 'reply'; readonly message: SlackMessage };

export interface MentionParseOptions {
  /** The bot's own user ID: its mention is removed. Without it, a leading mention is. */
  readonly botUserId?: string | undefined;
  /** Verbs a mention may name (default: status, hosts, help). */
  readonly verbs?: readonly string[] | undefined;
}

const POLITE = new Set([
  'hey',
  'hi',
  'hello',
  'please',
  'pls',
  'plz',
  'can',
  'could',
  'would',
  'you',
  'tell',
  'me',
  'show',
  'give',
  'check',
]);
/** Words around the hosts in a sentence that are not hosts. */
const FILLER = new Set([
  'of',
  'on',
  'for',
  'the',
  'about',
  'please',
  'and',
  'is',
  'are',
  'running',
  'runs',
  'run',
  'deployed',
  'installed',
  'currently',
  'now',
  'right',
  'version',
  'at',
  'in',
  'doing',
  'screen',
  'screens',
  'host',
]);
const HEALTHY = new Set([
  'ok',
  'okay',
  'up',
  'fine',
  'alive',
  'healthy',
  'running',
  'working',
  'online',
  'good',
]);
const HOST_WORDS = new Set(['hosts', 'screens', 'machines', 'pis']);
/** "is everything ok": the whole fleet, which status shows when given no hosts. */
const EVERYTHING = new Set(['everything', 'everyone', 'fleet', 'things', 'going', 'looking', 'it']);

export function parseMention(text: string, options: MentionParseOptions = {}): MentionParse {
  const verbs = new Set(options.verbs ?? DEFAULT_MENTION_VERBS);
  const words = tokenize(decodeSlackMarkup(stripBotMention(text, options.botUserId)));
  const lower = words.map((w) => w.toLowerCase());
  // "show me the status" is polite; "show baard-entrance" asks for the show verb.
  const politeHere = () =>
    POLITE.has(lower[0] ?? '') &&
    !(
      verbs.has(lower[0] ?? '') &&
      !POLITE.has(lower[1] ?? '') &&
      !verbs.has(lower[1] ?? '') &&
      lower.length > 1
    );
  while (lower.length > 0 && politeHere()) {
    lower.shift();
    words.shift();
  }
  const first = lower[0];
  if (first === undefined) return help(verbs);

  const request = (verb: string, tokens: readonly string[]): MentionParse =>
    verb === 'help' || !verbs.has(verb)
      ? help(verbs, verb === 'help' ? undefined : text)
      : { kind: 'request', verb, tokens };
  const hostsIn = (from: number) =>
    words
      .slice(from)
      .filter((_, i) => !FILLER.has(lower[from + i] ?? '') && !EVERYTHING.has(lower[from + i] ?? ''));

  // "status baard-entrance", "deploy @lobby": a verb first, then its arguments.
  if (verbs.has(first) || first === 'help') {
    return request(first, hostsIn(1));
  }
  // "list hosts", "which hosts are there", "what screens do you know".
  if (['list', 'which', 'what', 'whats', "what's", 'all'].includes(first) && HOST_WORDS.has(lower[1] ?? '')) {
    return request('hosts', []);
  }
  if (HOST_WORDS.has(first) && lower.length === 1) return request('hosts', []);
  // "what is running on baard-entrance", "what's on @lobby", "what does baard-entrance run".
  if (['what', 'whats', "what's", 'which'].includes(first)) {
    const rest = hostsIn(1).filter(
      (w) => !['does', 'do', 'system', 'configuration', 'config', 'have', 'has'].includes(w.toLowerCase()),
    );
    if (rest.length > 0) return request('status', rest);
  }
  // "is baard-entrance ok?", "are lobby-1 and lobby-2 up", "how is baard-entrance doing", "how's @lobby".
  if (first === 'is' || first === 'are') {
    const last = lower.at(-1) ?? '';
    const hosts = HEALTHY.has(last) ? words.slice(1, -1) : words.slice(1);
    const named = hosts.filter((w) => !FILLER.has(w.toLowerCase()) && !EVERYTHING.has(w.toLowerCase()));
    if (named.length > 0 || hosts.some((w) => EVERYTHING.has(w.toLowerCase())))
      return request('status', named);
  }
  if (first === 'how' || first === "how's" || first === 'hows') {
    return request('status', hostsIn(1));
  }
  return help(verbs, text);
}

function stripBotMention(text: string, botUserId: string | undefined): string {
  if (botUserId !== undefined) {
    return text.replace(new RegExp(`<@${escapeRegExp(botUserId)}(?:\\|[^>]*)?>`, 'g'), ' ');
  }
  return text.replace(/^\s*<@[A-Z0-9]+(?:\|[^>]*)?>/, ' ');
}

/** Slack's encoding of links, user groups and the three escaped characters, back to what was typed. */
function decodeSlackMarkup(text: string): string {
  return text
    .replace(/<!subteam\^[A-Z0-9]+\|(@[^>]+)>/g, '$1')
    .replace(/<(?:https?:\/\/|mailto:)([^>|]+)\|([^>]+)>/g, '$2')
    .replace(/<(?:https?:\/\/|mailto:)([^>|]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function tokenize(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((w) => w.replace(/^["'`“‘(]+/, '').replace(/["'`”’)?!.:]+$/, ''))
    .filter((w) => w !== '');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function help(verbs: ReadonlySet<string>, unclear?: string): MentionParse {
  const examples = [
    verbs.has('status') ? '`@signage status baard-entrance`' : undefined,
    verbs.has('status') ? '`@signage is baard-entrance ok?`' : undefined,
    verbs.has('status') ? '`@signage what is running on @lobby`' : undefined,
    verbs.has('hosts') ? '`@signage hosts`' : undefined,
  ].filter((e) => e !== undefined);
  const opening =
    unclear === undefined
      ? 'I answer questions about the screens.'
      : `I did not understand “${escapeMrkdwn(
          unclear
            .replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, '')
            .trim()
            .slice(0, 200),
        )}”.`;
  const body = examples.length > 0 ? `${opening} Try ${examples.join(', ')}.` : opening;
  return {
    kind: 'reply',
    message: message(body, [
      section(body),
      context('Changes (deploy, restart, rollback …) go through `/signage`; `/signage help` lists them.'),
    ]),
  };
}
