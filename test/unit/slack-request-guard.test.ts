// HTTP mode's door: Slack's signature, a stamp within five minutes either way, and each signed request taken once.
import { describe, expect, it } from 'vitest';
import { createRequestGuard } from '../../src/slack/request-guard.ts';
import { slackSignature } from '../support/fake-slack/signed-request.ts';

const SECRET = 'fake-signing-secret-0123456789abcdef';
const NOW = 1_800_000_000_000;
const body = 'command=%2Fsignage&text=restart+baard-entrance+--yes';

function headers(ts: number, raw = body, secret = SECRET) {
  return { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(secret, ts, raw) };
}

describe('createRequestGuard', () => {
  const stamp = NOW / 1000;

  it('takes a signed request once and refuses the same bytes again', () => {
    const guard = createRequestGuard(SECRET, () => NOW);
    expect(guard.check(headers(stamp), body)).toEqual({ ok: true });
    expect(guard.check(headers(stamp), body)).toMatchObject({ ok: false, status: 401, reason: /replay/ });
    // Slack's own retry is stamped anew, so it is signed anew.
    expect(guard.check(headers(stamp + 1), body)).toEqual({ ok: true });
  });

  it('refuses stamps more than five minutes away in either direction', () => {
    const guard = createRequestGuard(SECRET, () => NOW);
    expect(guard.check(headers(stamp + 10 * 60), body)).toMatchObject({ ok: false, status: 401 });
    expect(guard.check(headers(stamp - 6 * 60), body)).toMatchObject({ ok: false, status: 401 });
    expect(guard.check(headers(stamp + 4 * 60), body)).toEqual({ ok: true });
    expect(guard.check(headers(stamp - 4 * 60), body)).toEqual({ ok: true });
  });

  it('refuses a wrong signature, a changed body and a missing header, and remembers none of them', () => {
    const guard = createRequestGuard(SECRET, () => NOW);
    expect(guard.check(headers(stamp, body, 'another-secret-entirely'), body).ok).toBe(false);
    expect(guard.check(headers(stamp), `${body}&x=1`).ok).toBe(false);
    expect(guard.check({ 'x-slack-request-timestamp': String(stamp) }, body).ok).toBe(false);
    expect(guard.check({ ...headers(stamp), 'x-slack-request-timestamp': 'soon' }, body).ok).toBe(false);
    expect(guard.check(headers(stamp), body)).toEqual({ ok: true });
  });

  it("lets Slack's unsigned TLS check through to Bolt, and nothing else unsigned", () => {
    const guard = createRequestGuard(SECRET, () => NOW);
    expect(guard.check({}, 'ssl_check=1&token=x')).toEqual({ ok: true });
    expect(guard.check({}, body).ok).toBe(false);
  });

  it('forgets signatures once their stamp could no longer be accepted', () => {
    let now = NOW;
    const guard = createRequestGuard(SECRET, () => now);
    expect(guard.check(headers(stamp), body).ok).toBe(true);
    now += 6 * 60_000;
    // Refused for its age now, not remembered any more.
    expect(guard.check(headers(stamp), body)).toMatchObject({ ok: false, reason: /five minutes/ });
  });
});
