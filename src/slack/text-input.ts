// What a person typed after `/signage` or `@signage`, checked before anything reads it: a length limit, and no
// control or bidirectional-formatting characters (they can make a host name read differently from what it
// is). Tabs and line breaks are just spaces.

export const MAX_REQUEST_CHARS = 1000;

export type TextCheck =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: string };

/** Characters that reorder or hide text when displayed. */
const BIDI: Record<number, string> = {
  1564: 'ARABIC LETTER MARK',
  8206: 'LEFT-TO-RIGHT MARK',
  8207: 'RIGHT-TO-LEFT MARK',
  8234: 'LEFT-TO-RIGHT EMBEDDING',
  8235: 'RIGHT-TO-LEFT EMBEDDING',
  8236: 'POP DIRECTIONAL FORMATTING',
  8237: 'LEFT-TO-RIGHT OVERRIDE',
  8238: 'RIGHT-TO-LEFT OVERRIDE',
  8294: 'LEFT-TO-RIGHT ISOLATE',
  8295: 'RIGHT-TO-LEFT ISOLATE',
  8296: 'FIRST STRONG ISOLATE',
  8297: 'POP DIRECTIONAL ISOLATE',
};

/** Treated as a space. */
const SPACES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x85, 0x2028, 0x2029]);

export function checkRequestText(raw: string): TextCheck {
  const chars = [...raw];
  if (chars.length > MAX_REQUEST_CHARS) {
    return {
      ok: false,
      reason: `The request is ${chars.length} characters long; at most ${MAX_REQUEST_CHARS} are accepted.`,
    };
  }
  let out = '';
  for (const [index, char] of chars.entries()) {
    const cp = char.codePointAt(0) ?? 0;
    if (SPACES.has(cp)) {
      out += ' ';
      continue;
    }
    const name = forbidden(cp);
    if (name !== undefined) {
      return {
        ok: false,
        reason: `The request contains ${codePoint(cp)} (${name}) at position ${index + 1}; retype it without that character.`,
      };
    }
    out += char;
  }
  return { ok: true, text: out.trim() };
}

function forbidden(cp: number): string | undefined {
  if (cp < 0x20 || cp === 0x7f) return 'a control character';
  if (cp >= 0x80 && cp <= 0x9f) return 'a control character';
  if (cp >= 0xd800 && cp <= 0xdfff) return 'a lone surrogate';
  return BIDI[cp] === undefined ? undefined : `${BIDI[cp]}, a bidirectional formatting character`;
}

function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}
