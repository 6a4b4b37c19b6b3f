// The one scrubber for text that leaves the bot: log lines, and error text shown in Slack. Pure, so the
// Block Kit builders can use it as well as the loggers.

/** Slack token shapes (bot, user, app-level, refresh), caught even when they are not the bot's own. */
const TOKEN_SHAPE = /\b(?:xox[abeoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{6,}/g;
const REDACTED = '[redacted]';

/** Replaces each secret, and anything shaped like a Slack token, by a marker. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    // Too short a "secret" would blank out ordinary words; the factory refuses such values anyway.
    if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  }
  return out.replace(TOKEN_SHAPE, REDACTED);
}
