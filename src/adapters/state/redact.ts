// Command errors end up in the audit log and in stage details, and stderr can echo secrets: a token in a
// failing curl, a key file cat'ed by mistake, a URL with its password. Known shapes are masked before
// anything is written. Masking comes before cutting an excerpt, so a cut never leaves half a secret behind.

const MASK = '[redacted]';

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
/** An excerpt can start inside a key: everything up to an END line whose BEGIN was cut off. */
const PRIVATE_KEY_TAIL = /^[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/;
const SLACK_TOKEN = /\b(xox[a-z]|xapp)-[A-Za-z0-9-]+/g;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const ASSIGNED_SECRET =
  /\b([A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|(?:\[redacted\]|[^\s"'&;,()[\]{}])+)/gi;

export function maskSecrets(text: string): string {
  let out = text.replace(PRIVATE_KEY, `${MASK} private key`);
  if (PRIVATE_KEY_TAIL.test(out)) out = out.replace(PRIVATE_KEY_TAIL, `${MASK} private key`);
  return out
    .replace(SLACK_TOKEN, (_m, prefix: string) => `${prefix}-${MASK}`)
    .replace(URL_PASSWORD, (_m, head: string) => `${head}${MASK}@`)
    .replace(BEARER, (_m, head: string) => `${head}${MASK}`)
    .replace(ASSIGNED_SECRET, (_m, head: string) => `${head}${MASK}`);
}

/** The last `max` characters, masked: the end of stderr is where a failure says what went wrong. */
export function errorExcerpt(text: string, max = 2000): string {
  const masked = maskSecrets(text);
  return masked.length <= max ? masked : `…${masked.slice(-(max - 1))}`;
}

/** The first `max` characters, masked: a stage's detail leads with what happened. */
export function detailExcerpt(text: string, max = 4000): string {
  const masked = maskSecrets(text);
  return masked.length <= max ? masked : `${masked.slice(0, max - 1)}…`;
}
