// What the fake Slack saw and holds: every Web API call, the channel messages as they stand after updates,
// private (ephemeral) replies however they were sent, acknowledgements with their latency, and violations —
// things real Slack would refuse or penalise (a late acknowledgement, blocks beyond the limits).

export type Json = Record<string, unknown>;

export interface ApiCall {
  readonly method: string;
  readonly args: Json;
  /** The bearer token the call used. */
  readonly token: string | undefined;
  /** performance.now() when it arrived. */
  readonly at: number;
  readonly status: number;
  readonly response: Json;
  /** A 429 for going over Slack's rate limits (rather than one a test asked for). */
  readonly enforced?: boolean;
}

export interface StoredMessage {
  readonly channel: string;
  readonly ts: string;
  text: string;
  blocks: unknown[] | undefined;
  /** Who posted it: the bot's user ID, or a person's for mentions. */
  readonly user: string;
  readonly threadTs: string | undefined;
  readonly broadcast: boolean;
  deleted: boolean;
  /** performance.now() of each chat.update (or replace_original) applied to it. */
  readonly updateTimes: number[];
  /** IDs of the files it shares (files.completeUploadExternal). */
  readonly files?: readonly string[];
}

export interface ResponseRecord {
  readonly id: string;
  readonly body: Json;
  readonly status: number;
  readonly at: number;
}

export type EphemeralVia = 'ack' | 'response_url' | 'chat.postEphemeral';

export interface EphemeralRecord {
  readonly user: string;
  readonly channel: string;
  readonly text: string;
  readonly blocks: unknown[] | undefined;
  readonly via: EphemeralVia;
  readonly threadTs: string | undefined;
  readonly at: number;
}

export interface AckRecord {
  readonly envelopeId: string;
  readonly type: string;
  readonly payload: Json | undefined;
  readonly latencyMs: number;
}

/** A copy safe to hand to a test (later updates do not change it). */
export function snapshot(m: StoredMessage): StoredMessage {
  return {
    ...m,
    blocks: m.blocks === undefined ? undefined : structuredClone(m.blocks),
    updateTimes: [...m.updateTimes],
  };
}

/** The most updates any one-second window held. */
export function peakPerSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= 1000) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

/** Slack message timestamps: seconds, a dot, six digits; unique and increasing. */
export function tsClock(): () => string {
  let last = 0;
  return () => {
    const micros = Math.max(last + 1, Date.now() * 1000);
    last = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };
}
