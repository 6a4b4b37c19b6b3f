// Small text pieces the Slack messages share: stage marks, progress bars, copy sources, counts. Sizes,
// durations and shares come from core/bytes.ts, so the terminal and Slack say the same thing.
import { formatBytes, formatDuration, formatPercent, ratio } from '../../core/bytes.ts';
import type { StageName, StageOutcome } from '../../core/types.ts';

export { formatBytes, formatDuration, formatPercent };

export type StageStatus = StageOutcome | 'running';

/** ✓ done (also "nothing to do"), … running, ✗ failed, – skipped. */
export function stageMark(status: StageStatus): string {
  switch (status) {
    case 'ok':
    case 'noop':
      return '✓';
    case 'running':
      return '…';
    case 'failed':
      return '✗';
    case 'skipped':
      return '–';
  }
}

/** The order stages happen in, which is the order they are shown in. */
export const STAGE_ORDER: readonly StageName[] = [
  'build',
  'plan',
  'copy',
  'switch',
  'approve',
  'restart',
  'rollback',
];

/** A bar of `width` cells, full in proportion to done/total. */
export function progressBar(done: number, total: number, width = 12): string {
  const share = total > 0 ? Math.min(1, Math.max(0, ratio(done, total))) : 1;
  const filled = Math.round(share * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** "12 MiB / 300 MiB (4%)". */
export function progressFigures(done: number, total: number): string {
  return `${formatBytes(done)} / ${formatBytes(total)} (${formatPercent(total > 0 ? ratio(done, total) : 1)})`;
}

/** Where a copy comes from, for people: a peer over the LAN, or the builder over the uplink. */
export function sourceLabel(source: string): string {
  if (source === 'builder') return 'builder (uplink)';
  if (source.startsWith('peer:')) return `${source.slice('peer:'.length)} (LAN)`;
  return source;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
