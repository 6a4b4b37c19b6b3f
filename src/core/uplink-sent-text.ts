// How a copy's uplink bytes read in the copy stage's detail and a run's host line: what crossed compressed,
// and how much of it as deltas. Pure.
import { formatBytes } from './bytes.ts';

/** ` (3.2 MB compressed, 0.4 MB of it as 61 deltas)`, or nothing when the NARs crossed as they are. */
export function uplinkSentText(r: {
  readonly uplinkBytes: number;
  readonly uplinkSentBytes: number;
  readonly uplinkDeltaBytes?: number;
  readonly uplinkDeltaPaths?: number;
}): string {
  if (r.uplinkSentBytes === r.uplinkBytes) return '';
  const n = r.uplinkDeltaPaths ?? 0;
  const deltas =
    n > 0 ? `, ${formatBytes(r.uplinkDeltaBytes ?? 0)} of it as ${n} ${n === 1 ? 'delta' : 'deltas'}` : '';
  return ` (${formatBytes(r.uplinkSentBytes)} compressed${deltas})`;
}
