// How an error message shows the value it refused: short, quoted, and never a credential pasted into the
// wrong place.

const MAX = 60;
const SECRET_SHAPE = /(xox[a-z]|xapp)-|PRIVATE KEY/;

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    if (SECRET_SHAPE.test(value)) return 'a token-shaped value (not shown)';
    return clip(JSON.stringify(value));
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const text = JSON.stringify(value) ?? '[…]';
    return SECRET_SHAPE.test(text)
      ? 'a list holding a token-shaped value (not shown)'
      : `the list ${clip(text)}`;
  }
  if (value instanceof Date) return `the date ${value.toISOString()}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function clip(text: string): string {
  return text.length <= MAX ? text : `${text.slice(0, MAX - 1)}…`;
}
