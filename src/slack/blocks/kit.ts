// Small constructors for the Block Kit pieces the bot uses. Each one clamps its text to Slack's limits, so a
// long host list or error detail degrades into a truncated message rather than an `invalid_blocks` error
// that would leave the user with nothing.
import type { types } from '@slack/bolt';
import type { SlackMessage } from '../../verbs/verb.ts';

export type Block = types.KnownBlock;

/** Limits from Slack's Block Kit reference; the fake Slack in test/support enforces the same numbers. */
export const LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  buttonText: 75,
  buttonValue: 2000,
  actionsElements: 25,
  blockId: 255,
  /** Fallback text shows in notifications; kept short although Slack accepts far more. */
  fallbackText: 3000,
} as const;

const ELLIPSIS = '…';

/** Cuts `text` to at most `max` UTF-16 units, ending in an ellipsis, without splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - ELLIPSIS.length);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + ELLIPSIS;
}

/** Escapes the three characters Slack's mrkdwn treats as markup, so names and errors cannot inject links or mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack renders empty text objects as errors; a lone space would be invisible, so say so instead. */
function nonEmpty(text: string): string {
  return text.trim() === '' ? '(empty)' : text;
}

export function header(text: string): Block {
  return {
    type: 'header',
    text: { type: 'plain_text', text: truncate(nonEmpty(text), LIMITS.headerText), emoji: true },
  } satisfies types.HeaderBlock;
}

export function section(mrkdwn: string, blockId?: string): Block {
  const block: types.SectionBlock = {
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(nonEmpty(mrkdwn), LIMITS.sectionText) },
  };
  if (blockId !== undefined) block.block_id = truncate(blockId, LIMITS.blockId);
  return block;
}

export function context(...mrkdwn: string[]): Block {
  return {
    type: 'context',
    elements: mrkdwn
      .slice(0, LIMITS.contextElements)
      .map((text) => ({ type: 'mrkdwn' as const, text: truncate(nonEmpty(text), LIMITS.contextText) })),
  } satisfies types.ContextBlock;
}

export function divider(): Block {
  return { type: 'divider' } satisfies types.DividerBlock;
}

export interface ButtonSpec {
  readonly text: string;
  readonly actionId: string;
  readonly value: string;
  readonly style?: 'primary' | 'danger';
  /** A dialog Slack shows before the click is sent. */
  readonly confirm?: {
    readonly title: string;
    readonly text: string;
    readonly confirm: string;
    readonly deny: string;
  };
}

export function button(spec: ButtonSpec): types.Button {
  const element: types.Button = {
    type: 'button',
    text: { type: 'plain_text', text: truncate(nonEmpty(spec.text), LIMITS.buttonText), emoji: true },
    action_id: spec.actionId,
    value: spec.value,
  };
  if (spec.style !== undefined) element.style = spec.style;
  if (spec.confirm !== undefined) {
    const c = spec.confirm;
    element.confirm = {
      title: { type: 'plain_text', text: truncate(c.title, 100) },
      text: { type: 'plain_text', text: truncate(c.text, 300) },
      confirm: { type: 'plain_text', text: truncate(c.confirm, 30) },
      deny: { type: 'plain_text', text: truncate(c.deny, 30) },
    };
  }
  return element;
}

export function actions(blockId: string, elements: readonly types.Button[]): Block {
  return {
    type: 'actions',
    block_id: truncate(blockId, LIMITS.blockId),
    elements: elements.slice(0, LIMITS.actionsElements),
  } satisfies types.ActionsBlock;
}

/**
 * Keeps a message within the block limit: when `blocks` is too long, the tail is replaced by `overflow(n)`,
 * a block saying how many were left out.
 */
export function capBlocks(blocks: readonly Block[], overflow: (omitted: number) => Block): Block[] {
  if (blocks.length <= LIMITS.blocksPerMessage) return [...blocks];
  const kept = blocks.slice(0, LIMITS.blocksPerMessage - 1);
  return [...kept, overflow(blocks.length - kept.length)];
}

/** The one place Block Kit's typed blocks become the verb contract's plain records. */
export function message(text: string, blocks: readonly Block[]): SlackMessage {
  return {
    text: truncate(nonEmpty(text), LIMITS.fallbackText),
    blocks: blocks as unknown as readonly Record<string, unknown>[],
  };
}

/**
 * A Slack date token: each reader sees the time in their own time zone, and clients that cannot render it
 * show the UTC fallback.
 */
export function slackDate(at: Date): string {
  const epoch = Math.floor(at.getTime() / 1000);
  const fallback = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${epoch}^{date_short_pretty} at {time}|${fallback}>`;
}

/** A preformatted block of text; backticks inside are neutralised so they cannot close it early. */
export function code(text: string): string {
  return `\`\`\`${text.replace(/```/g, "'''")}\`\`\``;
}
