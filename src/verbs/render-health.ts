// How a host's health reads in status and the fleet report: its states, then the readings behind them.
import { describeStates, formatUptime, type HostHealth, type Reading } from '../core/health.ts';
import type { HostStatusRow } from '../engine/status.ts';

function readingText<T>(what: string, reading: Reading<T>, value: (v: T) => string): string | null {
  switch (reading.kind) {
    case 'off':
      return null;
    case 'not-available':
      return `${what} not available`;
    case 'unreadable':
      return `${what} unreadable (${reading.why})`;
    case 'ok':
      return `${what} ${value(reading.value)}`;
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** e.g. ["health: undervoltage now, throttled now", "up 3 d 4 h; power throttled=0x50005; temperature 47.2 °C"]. */
export function healthLines(health: HostHealth): string[] {
  const readings = [
    health.uptimeSeconds === null ? null : `up ${formatUptime(health.uptimeSeconds)}`,
    readingText('power', health.power, (v) => `throttled=${hex(v.raw)}`),
    readingText('temperature', health.temperature, (c) => `${c.toFixed(1)} °C`),
  ].filter((x): x is string => x !== null);
  return [`health: ${describeStates(health.states)}`, ...(readings.length > 0 ? [readings.join('; ')] : [])];
}

/** A reachable host whose health needs a look. */
export function healthNeedsLook(row: HostStatusRow): boolean {
  return (row.health?.states.length ?? 0) > 0;
}

/** ", 1 with health warnings" for a status title; empty when none has any. */
export function healthTitlePart(rows: readonly HostStatusRow[]): string {
  const n = rows.filter((r) => r.reachable && healthNeedsLook(r)).length;
  return n === 0 ? '' : `, ${n} with health warnings`;
}
