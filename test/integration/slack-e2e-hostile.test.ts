// Hostile and random `/signage` texts through the real slash-command handler of the whole bot (Bolt, the
// fake Slack, an engine composed on the simulated office). Shell metacharacters, quotes, `$(...)`, backticks,
// newlines, overlong text, odd Unicode, unknown verbs and flags, host names with `;`: each is answered with a
// private error in the acknowledgement itself (or, for random text that happens to be a valid command, runs
// as that command), and none of it reaches a host: the audit log of commands run on hosts stays empty and
// the hosts' own logs are unchanged. The requester is a deployer and approver, the most a text could use.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequestText } from '../../src/slack/text-input.ts';
import { parseCommand, tokenize } from '../../src/verbs/parse.ts';
import { verbs } from '../../src/verbs/registry.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import { type FakeSlack, messageProblems } from '../support/fake-slack/index.ts';
import {
  ALICE,
  CHANNEL,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';

/** Words that are not harmless: each makes a command invalid wherever it stands. */
const hostileWord = fc.oneof(
  fc.constantFrom(
    ';',
    '&&',
    '||',
    '|',
    '&',
    '>',
    '>>',
    '<',
    '$(reboot)',
    '`reboot`',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own syntax, typed literally
    '${IFS}',
    '$HOME',
    '~root',
    '*',
    '?',
    "'",
    '"',
    '\\',
    "'; rm -rf / #",
    `${A};reboot`,
    `${A}&&reboot`,
    `${A}|sh`,
    `${A}$(id)`,
    `"${A}"`,
    `'${B}'`,
    `@lobby;id`,
    'all;id',
    '--force',
    '-rf',
    '--restart=yes',
    '--config=/etc/shadow',
    '--dry-run=$(id)',
    '--no-such-flag',
    '-x',
    '--ref=$(id)',
    '--ref=`id`',
    '--ref=../../etc',
    '--ref=..',
    '--ref=-rf',
    '--ref=--upload-pack=touch',
    '--ref=main@{1}',
    '--ref=main;id',
    '--ref=a&rev=0',
    '--ref=main#x',
    '--ref=',
    'baard‐entrance', // a Unicode hyphen
    'baard-entrance\u200d', // a zero-width joiner
    'bäärd-entrance',
    'BAARD-ENTRANCE',
    '\u202ebaard-entrance', // a right-to-left override
    '\u0000',
    '\u001b[31m',
    '🙂',
    'x'.repeat(65),
  ),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => `$(${s})`),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => `\`${s}\``),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => `${A};${s}`),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => `--ref=$(${s})`),
  fc
    .stringMatching(/^--[a-z-]{1,12}$/)
    .filter(
      (f) => !['--restart', '--no-restart', '--dry-run', '--yes', '--running', '--both', '--ref'].includes(f),
    ),
);

const verbWord = fc.oneof(
  fc.constantFrom(...verbs.map((v) => v.name)),
  fc.constantFrom('reboot', 'rm', 'sh', 'exec', 'Deploy', 'deploy;', 'sudo', 'eval', '$(deploy)'),
);
const benignWord = fc.constantFrom(A, B, 'all', '@lobby', '--dry-run', '--restart', '--no-restart');
const separator = fc.constantFrom(' ', '  ', '\t', '\n', ' \r\n ');

/** A verb, then words of which at least one is hostile, in any order, joined by any whitespace. */
const hostileText = fc
  .tuple(
    verbWord,
    fc.array(benignWord, { maxLength: 3 }),
    fc.array(hostileWord, { minLength: 1, maxLength: 4 }),
    separator,
  )
  .chain(([verb, benign, hostile, sep]) =>
    fc
      .shuffledSubarray([...benign, ...hostile], { minLength: benign.length + hostile.length })
      .map((words) => [verb, ...words].join(sep)),
  );

/** Anything at all, short or past the length limit. */
const randomText = fc.oneof(
  fc.string({ maxLength: 80, unit: 'binary' }),
  fc.string({ maxLength: 40, unit: 'grapheme' }),
  fc.string({ minLength: 1001, maxLength: 1400 }),
);

describe.skipIf(unavailable !== null)('hostile /signage texts', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let logsBefore: string[][];

  async function send(text: string) {
    const result = await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text });
    expect(result.latencyMs).toBeLessThan(3000);
    return result;
  }

  const hostLogs = async () =>
    Promise.all([A, B].flatMap((h) => [office.systemctlLog(h), office.switchLog(h)]));

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
      bot: { tags: () => ['lobby'] },
    }));
    logsBefore = await hostLogs();
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('refuses every hostile text privately in the acknowledgement', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, async (text) => {
        const result = await send(text);
        expect(result.ack?.response_type).toBe('ephemeral');
        expect(typeof result.ack?.text).toBe('string');
        expect(messageProblems({ text: result.ack?.text, blocks: result.ack?.blocks })).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses random text unless it is a valid command', async () => {
    await fc.assert(
      fc.asyncProperty(randomText, async (text) => {
        const result = await send(text);
        const checked = checkRequestText(text);
        const words = checked.ok ? tokenize(checked.text) : undefined;
        const valid = words?.ok === true && parseCommand(verbs, words.tokens, '/signage').ok;
        if (!valid) {
          expect(result.ack?.response_type).toBe('ephemeral');
          expect(typeof result.ack?.text).toBe('string');
        }
      }),
      { numRuns: 50 },
    );
  });

  it('ran nothing on any host', async () => {
    await bot.bot.slack.settled();
    const { store } = bot.bot.composed;
    expect(store.auditLog({ limit: 10 })).toEqual([]);
    expect(store.recentRuns({ limit: 10 })).toEqual([]);
    expect(store.pendingApprovals()).toEqual([]);
    expect(await hostLogs()).toEqual(logsBefore);
    expect(fake.calls('chat.postMessage')).toEqual([]);
    expect(fake.violations).toEqual([]);
  });
});
