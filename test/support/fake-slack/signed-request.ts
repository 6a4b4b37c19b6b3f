// Requests as Slack signs them for an app in HTTP mode: v0=HMAC-SHA256(secret, "v0:" + ts + ":" + body).
import { createHmac } from 'node:crypto';

export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedPostOptions {
  readonly secret: string;
  /** Seconds since the epoch (default: now). */
  readonly ts?: number;
  /** Sign with a wrong secret. */
  readonly badSignature?: boolean;
}

export interface SignedPostResult {
  readonly status: number;
  readonly body: string;
  readonly latencyMs: number;
}

/** POSTs `body` (a form string, or an object sent as JSON) to the bot's events URL, signed. */
export async function postSignedEvent(
  url: string,
  body: string | Record<string, unknown>,
  options: SignedPostOptions,
): Promise<SignedPostResult> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const ts = options.ts ?? Math.floor(Date.now() / 1000);
  const signature = slackSignature(
    options.badSignature ? `${options.secret}-wrong` : options.secret,
    ts,
    raw,
  );
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json',
      'x-slack-signature': signature,
      'x-slack-request-timestamp': String(ts),
    },
    body: raw,
  });
  const text = await response.text();
  return { status: response.status, body: text, latencyMs: performance.now() - started };
}
