// How fleet status reads in a terminal and in Slack.
import { formatBytes } from '../core/bytes.ts';
import type { SyncState } from '../core/sync.ts';
import { actorName } from '../engine/run-scope.ts';
import { bootStaged, type HostStatusRow } from '../engine/status.ts';
import {
  type Block,
  context,
  escapeMrkdwn,
  header,
  LIMITS,
  message,
  section,
  slackDate,
} from '../slack/blocks/kit.ts';
import { healthLines, healthNeedsLook, healthTitlePart } from './render-health.ts';
import type { SlackMessage } from './verb.ts';

const SYNC_TEXT: Record<SyncState, string> = {
  'in-sync': 'in sync',
  'reboot-pending': 'reboot pending (in sync, but the booted kernel is not the running one)',
  unconfirmed: 'interrupted switch (the system profile is not what runs)',
  behind: 'behind (older generation than deployed)',
  drifted: 'drifted (not what was deployed)',
  'never-deployed': 'never deployed by the bot',
  'no-system': 'no NixOS system',
};

/** An unconfirmed host is mid-activation when the host holds the marker, else its switch was interrupted. */
function syncText(row: HostStatusRow): string {
  if (bootStaged(row))
    return 'staged for next boot (reboot pending; runs its previous system, boots the new one at its next reboot, behind the boot guard)';
  if (row.sync === 'unconfirmed' && row.facts?.activationMarker)
    return `activation not confirmed (${row.facts.activationMarker}; the host reverts by itself unless confirmed)`;
  return SYNC_TEXT[row.sync ?? 'no-system'];
}

/** "nixos-system-baard-entrance-26.05.2.signage" reads better as its version than as a hash. */
function shortSystem(path: string | null | undefined): string {
  if (!path) return '—';
  const name = path.replace(/^\/nix\/store\/[a-z0-9]{32}-/, '');
  return `${name} (${path.slice(11, 18)}…)`;
}

export function statusLines(row: HostStatusRow): string[] {
  const pending = row.pending ? [row.pending.text] : [];
  if (!row.reachable && row.offSchedule) return ['off (on schedule)', ...pending];
  if (!row.reachable) return [`unreachable: ${row.error ?? 'no answer'}`, ...pending];
  const f = row.facts!;
  const lines = [
    `${syncText(row)}; generation ${f.currentGeneration ?? '—'}; running ${shortSystem(f.currentSystem)}`,
  ];
  if (row.revision) lines.push(`fleet: ${row.revision.text}`);
  if (row.sync === 'unconfirmed' && !bootStaged(row))
    lines.push(`profile ${shortSystem(f.profileSystem)}: what it would boot and roll back from`);
  if (row.rebootPending)
    lines.push(`booted ${shortSystem(f.bootedSystem)}: a reboot would change the kernel`);
  if (f.store)
    lines.push(`/nix: ${formatBytes(f.store.freeBytes)} free of ${formatBytes(f.store.totalBytes)}`);
  if (row.health) lines.push(...healthLines(row.health));
  if (row.deployed && row.deployed.toplevel !== f.currentSystem) {
    lines.push(`last deployed ${shortSystem(row.deployed.toplevel)}`);
  }
  if (row.pendingApproval) lines.push(`a restart question is open (${row.pendingApproval})`);
  return [...lines, ...pending];
}

function lastRunText(row: HostStatusRow): string {
  const r = row.lastRun;
  return r ? `last ${r.verb} ${r.status} by ${actorName(r.actor)} at ${r.at}` : 'no runs yet';
}

export function statusText(rows: readonly HostStatusRow[]): string {
  const width = Math.max(4, ...rows.map((r) => r.host.length));
  return rows
    .flatMap((r) => {
      const [first, ...rest] = statusLines(r);
      return [
        `${r.reachable ? '●' : r.offSchedule ? '◌' : '○'} ${r.host.padEnd(width)}  ${first}`,
        ...rest.map((l) => `  ${' '.repeat(width)}  ${l}`),
        `  ${' '.repeat(width)}  ${lastRunText(r)}`,
      ];
    })
    .join('\n');
}

/** Hosts that need a look first, so a cap on the blocks never hides them. */
function byConcern(rows: readonly HostStatusRow[]): HostStatusRow[] {
  const rank = (r: HostStatusRow) =>
    r.offSchedule ? 2 : !r.reachable ? 0 : r.sync === 'in-sync' && !healthNeedsLook(r) ? 2 : 1;
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => rank(a.row) - rank(b.row) || a.index - b.index)
    .map((entry) => entry.row);
}

function hostBlock(r: HostStatusRow): Block {
  const last = r.lastRun
    ? `last ${r.lastRun.verb} ${r.lastRun.status} by ${actorName(r.lastRun.actor)} ${slackDate(new Date(r.lastRun.at))}`
    : 'no runs yet';
  return section(
    `${r.reachable ? ':large_green_circle:' : r.offSchedule ? ':black_circle:' : ':red_circle:'} *${escapeMrkdwn(r.host)}*\n` +
      statusLines(r).map(escapeMrkdwn).join('\n') +
      `\n${last}`,
  );
}

/** One section per host, unreachable and out-of-sync hosts first, in at most `max` blocks. */
export function statusBlocks(rows: readonly HostStatusRow[], max: number): Block[] {
  const ordered = byConcern(rows);
  if (ordered.length <= max) return ordered.map(hostBlock);
  const shown = ordered.slice(0, Math.max(0, max - 1));
  const rest = ordered.slice(shown.length);
  const inSync = rest.filter((r) => r.reachable && r.sync === 'in-sync').length;
  return [
    ...shown.map(hostBlock),
    context(
      `…and ${rest.length} more host${rest.length === 1 ? '' : 's'}` +
        (inSync === rest.length ? ', all in sync' : ` (${inSync} in sync)`) +
        '; ask about a host or a @tag to see them.',
    ),
  ];
}

export function statusTitle(rows: readonly HostStatusRow[]): string {
  const down = rows.filter((r) => !r.reachable && !r.offSchedule).length;
  const off = rows.filter((r) => r.reachable && r.sync !== 'in-sync').length;
  const scheduled = rows.filter((r) => r.offSchedule).length;
  const pending = rows.filter((r) => r.pending).length;
  return (
    `Status of ${rows.length} host${rows.length === 1 ? '' : 's'}: ${down} unreachable, ${off} not in sync` +
    (scheduled > 0 ? `, ${scheduled} off on schedule` : '') +
    (pending > 0 ? `, ${pending} pending` : '') +
    healthTitlePart(rows)
  );
}

export function statusSlack(rows: readonly HostStatusRow[], title = statusTitle(rows)): SlackMessage {
  const sites = [...new Set(rows.map((r) => r.site))];
  return message(title, [
    header(title),
    // The header and the sites line leave the rest of Slack's 50 blocks to the hosts.
    ...statusBlocks(rows, LIMITS.blocksPerMessage - 2),
    context(`site${sites.length === 1 ? '' : 's'} ${sites.join(', ') || '—'}`),
  ]);
}
