// Slack's Block Kit limits, written down independently of the bot's own kit.ts so that a test checks the bot
// against Slack's numbers rather than against themselves. Each problem names where it is (block index and
// field) and which limit it breaks; an empty list means Slack would accept the blocks.

export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  blockId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  buttonUrl: 3000,
  messageText: 40_000,
} as const;

const BLOCK_TYPES = new Set([
  'section',
  'header',
  'context',
  'divider',
  'actions',
  'image',
  'rich_text',
  'input',
  'file',
  'video',
  'markdown',
]);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function textProblems(
  where: string,
  t: unknown,
  max: number,
  types: readonly string[] = ['plain_text', 'mrkdwn'],
): string[] {
  if (!isObject(t)) return [`${where}: a text object is required`];
  const out: string[] = [];
  if (typeof t.type !== 'string' || !types.includes(t.type))
    out.push(`${where}.type must be ${types.join(' or ')}`);
  if (typeof t.text !== 'string' || t.text.length === 0) out.push(`${where}.text must be a non-empty string`);
  else if (t.text.length > max) out.push(`${where}.text is ${t.text.length} characters; the limit is ${max}`);
  return out;
}

/** What Slack would refuse in `blocks` (as `invalid_blocks`). */
export function blockProblems(blocks: unknown, maxBlocks: number = SLACK_LIMITS.blocksPerMessage): string[] {
  if (!Array.isArray(blocks)) return ['blocks must be an array'];
  const out: string[] = [];
  if (blocks.length > maxBlocks) {
    out.push(`${blocks.length} blocks; the limit is ${maxBlocks}`);
  }
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `blocks[${i}]`;
    if (!isObject(block)) {
      out.push(`${at} is not an object`);
      return;
    }
    if (typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) {
      out.push(`${at}.type ${JSON.stringify(block.type)} is not a block type`);
      return;
    }
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0)
        out.push(`${at}.block_id must be a non-empty string`);
      else if (block.block_id.length > SLACK_LIMITS.blockId)
        out.push(`${at}.block_id is longer than ${SLACK_LIMITS.blockId}`);
      else if (blockIds.has(block.block_id)) out.push(`${at}.block_id ${block.block_id} is used twice`);
      else blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) out.push(`${at} needs text or fields`);
        if (block.text !== undefined)
          out.push(...textProblems(`${at}.text`, block.text, SLACK_LIMITS.sectionText));
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length > SLACK_LIMITS.sectionFields) {
            out.push(`${at}.fields must be an array of at most ${SLACK_LIMITS.sectionFields}`);
          } else {
            block.fields.forEach((f, j) => {
              out.push(...textProblems(`${at}.fields[${j}]`, f, SLACK_LIMITS.sectionFieldText));
            });
          }
        }
        if (block.accessory !== undefined)
          out.push(...elementProblems(`${at}.accessory`, block.accessory, actionIds));
        break;
      }
      case 'header':
        out.push(...textProblems(`${at}.text`, block.text, SLACK_LIMITS.headerText, ['plain_text']));
        break;
      case 'context': {
        const elements = block.elements;
        if (
          !Array.isArray(elements) ||
          elements.length === 0 ||
          elements.length > SLACK_LIMITS.contextElements
        ) {
          out.push(`${at}.elements must hold 1 to ${SLACK_LIMITS.contextElements} elements`);
          break;
        }
        elements.forEach((e, j) => {
          if (isObject(e) && e.type === 'image') return;
          out.push(...textProblems(`${at}.elements[${j}]`, e, SLACK_LIMITS.contextText));
        });
        break;
      }
      case 'actions': {
        const elements = block.elements;
        if (
          !Array.isArray(elements) ||
          elements.length === 0 ||
          elements.length > SLACK_LIMITS.actionsElements
        ) {
          out.push(`${at}.elements must hold 1 to ${SLACK_LIMITS.actionsElements} elements`);
          break;
        }
        elements.forEach((e, j) => {
          out.push(...elementProblems(`${at}.elements[${j}]`, e, actionIds));
        });
        break;
      }
      default:
        break;
    }
  });
  return out;
}

function elementProblems(at: string, e: unknown, actionIds: Set<string>): string[] {
  if (!isObject(e)) return [`${at} is not an object`];
  const out: string[] = [];
  if (typeof e.action_id === 'string') {
    if (e.action_id.length > SLACK_LIMITS.actionId)
      out.push(`${at}.action_id is longer than ${SLACK_LIMITS.actionId}`);
    if (actionIds.has(e.action_id)) out.push(`${at}.action_id ${e.action_id} is used twice`);
    actionIds.add(e.action_id);
  }
  if (e.type === 'button') {
    out.push(...textProblems(`${at}.text`, e.text, SLACK_LIMITS.buttonText, ['plain_text']));
    if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > SLACK_LIMITS.buttonValue)) {
      out.push(`${at}.value must be a string of at most ${SLACK_LIMITS.buttonValue}`);
    }
    if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') {
      out.push(`${at}.style must be primary or danger`);
    }
    if (typeof e.url === 'string' && e.url.length > SLACK_LIMITS.buttonUrl) out.push(`${at}.url is too long`);
  }
  return out;
}

/** A whole message: fallback text and blocks. */
export function messageProblems(message: { text?: unknown; blocks?: unknown }): string[] {
  const out: string[] = [];
  const hasText = typeof message.text === 'string' && message.text.length > 0;
  if (!hasText && message.blocks === undefined) out.push('a message needs text or blocks');
  if (typeof message.text === 'string' && message.text.length > SLACK_LIMITS.messageText) {
    out.push(`text is ${message.text.length} characters; the limit is ${SLACK_LIMITS.messageText}`);
  }
  if (message.blocks !== undefined) out.push(...blockProblems(message.blocks));
  return out;
}
