// HTTP mode's door, in front of Bolt's own check: a request must be signed with the app's signing secret, be
// stamped within five minutes of now in either direction (Bolt alone accepts any future stamp), and not have
// been seen before. Signatures are remembered for as long as their stamp is acceptable, so a byte-identical
// signed request sent again (a replay by whoever could read the traffic) is refused rather than run twice;
// Slack's own retries carry a new stamp, hence a new signature, and still get through.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** Slack's window for a request's stamp, either way. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;
/** Slack's requests are small; a larger body is refused before it is read whole. */
const BODY_LIMIT_BYTES = 1024 * 1024;

export type GuardVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 413; readonly reason: string };

export interface RequestGuard {
  check(headers: IncomingHttpHeaders, rawBody: string): GuardVerdict;
}

export function createRequestGuard(signingSecret: string, now: () => number = Date.now): RequestGuard {
  /** Signature → until when it could still be accepted (its stamp plus the window). */
  const seen = new Map<string, number>();

  function forgetExpired(at: number): void {
    for (const [signature, until] of seen) if (until < at) seen.delete(signature);
  }

  return {
    check(headers, rawBody) {
      const stamp = header(headers, 'x-slack-request-timestamp');
      const signature = header(headers, 'x-slack-signature');
      // Slack's TLS check carries no signature; Bolt answers it and strips anything else from it.
      if (stamp === undefined && signature === undefined && /^ssl_check=1(&|$)/.test(rawBody))
        return { ok: true };
      if (stamp === undefined || signature === undefined || !/^\d{1,12}$/.test(stamp)) {
        return { ok: false, status: 401, reason: 'unsigned request' };
      }
      const at = now();
      const stampMs = Number(stamp) * 1000;
      if (Math.abs(at - stampMs) > SIGNATURE_WINDOW_MS) {
        return { ok: false, status: 401, reason: 'request stamped more than five minutes from now' };
      }
      const expected = `v0=${createHmac('sha256', signingSecret).update(`v0:${stamp}:${rawBody}`).digest('hex')}`;
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
        return { ok: false, status: 401, reason: 'signature mismatch' };
      }
      forgetExpired(at);
      if (seen.has(signature)) return { ok: false, status: 401, reason: 'replay of a request already taken' };
      seen.set(signature, stampMs + SIGNATURE_WINDOW_MS);
      return { ok: true };
    },
  };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Wraps an HTTP receiver's listener: requests to `path` are read whole, checked, and handed on with the body
 * already read (Bolt reads `rawBody` when it is there) or refused with 401.
 */
export function guardedListener(
  inner: Listener,
  path: string,
  guard: RequestGuard,
  refused: (reason: string) => void,
): Listener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'POST' || url.pathname !== path) {
      inner(req, res);
      return;
    }
    void readBody(req).then(
      (body) => {
        if (body === undefined) {
          refused('body too large');
          res.writeHead(413).end();
          return;
        }
        const verdict = guard.check(req.headers, body.toString('utf8'));
        if (!verdict.ok) {
          refused(verdict.reason);
          res.writeHead(verdict.status).end();
          return;
        }
        (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
        try {
          inner(req, res);
        } catch {
          if (!res.headersSent) res.writeHead(500).end();
        }
      },
      () => {
        if (!res.headersSent) res.writeHead(400).end();
      },
    );
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
