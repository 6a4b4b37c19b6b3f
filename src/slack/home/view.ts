// The App Home tab: the fleet at a glance, per site. Each screen's state, what it runs, its last deploy (who,
// when, how it ended), free space and open questions, with a "Show screen" button where a screenshot can be
// taken. Pure: the cached status rows and per-host notes in, a `home` view out, always within Slack's 100
// blocks: a big fleet is summarised (hosts that need a look keep their own block; the rest are counted).
import { formatBytes } from '../../core/bytes.ts';
import { actorName } from '../../engine/run-scope.ts';
import { bootStaged, type HostStatusRow } from '../../engine/status.ts';
import {
  type Block,
  button,
  context,
  divider,
  escapeMrkdwn,
  header,
  LIMITS,
  section,
  slackDate,
  truncate,
} from '../blocks/kit.ts';

/** Slack's limit for a Home tab view. */
export const HOME_BLOCKS = 100;

/** Every Show screen button's action ID starts with this; the host follows it (IDs are unique in a view). */
export const SHOW_SCREEN_ACTION = 'signage.home.show:';

/** A line about one host from elsewhere (e.g. work waiting for the host), shown under its state. */
export interface HostNote {
  readonly host: string;
  readonly text: string;
}

export interface HomeModel {
  /** The latest status of each host, as the cache holds it; empty before the first look. */
  readonly rows: readonly HostStatusRow[];
  /** When the rows were read; null before the first look. */
  readonly checkedAt: Date | null;
  readonly notes: readonly HostNote[];
  /** Hosts a screenshot can be taken of (a Show screen button each). */
  readonly screenshots: ReadonlySet<string>;
}

export interface HomeView {
  readonly type: 'home';
  readonly blocks: readonly Block[];
}

type State =
  | 'in sync'
  | 'behind'
  | 'drifted'
  | 'unreachable'
  | 'unconfirmed'
  | 'reboot pending'
  | 'staged for next boot'
  | 'never deployed'
  | 'no system';

const MARK: Record<State, string> = {
  'in sync': ':large_green_circle:',
  behind: ':large_orange_circle:',
  drifted: ':large_orange_circle:',
  unreachable: ':red_circle:',
  unconfirmed: ':large_yellow_circle:',
  'reboot pending': ':large_blue_circle:',
  'staged for next boot': ':large_blue_circle:',
  'never deployed': ':white_circle:',
  'no system': ':white_circle:',
};

export function stateOf(row: HostStatusRow): State {
  if (!row.reachable) return 'unreachable';
  switch (row.sync) {
    case 'in-sync':
      return row.rebootPending ? 'reboot pending' : 'in sync';
    case 'reboot-pending':
      return 'reboot pending';
    case 'unconfirmed':
      return bootStaged(row) ? 'staged for next boot' : 'unconfirmed';
    case 'behind':
      return 'behind';
    case 'drifted':
      return 'drifted';
    case 'never-deployed':
      return 'never deployed';
    default:
      return 'no system';
  }
}

/** Needs a look: anything but in sync or never deployed, or a question waiting for an answer. */
function needsLook(row: HostStatusRow, notes: readonly HostNote[]): boolean {
  const state = stateOf(row);
  return (
    (state !== 'in sync' && state !== 'never deployed') ||
    row.pendingApproval !== null ||
    notes.some((n) => n.host === row.host)
  );
}

/** The version a person recognises: the system's name without its hash, else the NixOS version. */
function version(row: HostStatusRow): string {
  const path = row.facts?.currentSystem;
  if (!path) return 'no system';
  return path.replace(/^\/nix\/store\/[a-z0-9]{32}-/, '').replace(/^nixos-system-/, '');
}

function hostText(row: HostStatusRow, notes: readonly HostNote[]): string {
  const state = stateOf(row);
  const lines = [`${MARK[state]} *${escapeMrkdwn(row.host)}* · ${state}`];
  if (row.reachable) {
    const free = row.facts?.store
      ? `${formatBytes(row.facts.store.freeBytes)} free on /nix`
      : 'free space unknown';
    lines.push(`runs \`${escapeMrkdwn(truncate(version(row), 80))}\` · ${free}`);
    if (row.revision) lines.push(escapeMrkdwn(truncate(row.revision.text, 200)));
  } else {
    lines.push(escapeMrkdwn(truncate(row.error ?? 'no answer', 300)));
  }
  const run = row.lastRun;
  lines.push(
    run
      ? `last ${escapeMrkdwn(run.verb)} *${run.status}* by ${who(run.actor)} ${slackDate(new Date(run.at))}`
      : 'no deploy by the bot yet',
  );
  if (row.pendingApproval !== null) lines.push(':question: a restart question waits for an answer');
  for (const note of notes)
    if (note.host === row.host) lines.push(`:hourglass: ${escapeMrkdwn(truncate(note.text, 300))}`);
  return truncate(lines.join('\n'), LIMITS.sectionText);
}

function who(actor: NonNullable<HostStatusRow['lastRun']>['actor']): string {
  return actor.kind === 'slack' ? `<@${actor.userId}>` : escapeMrkdwn(actorName(actor));
}

function hostBlock(row: HostStatusRow, model: HomeModel): Block {
  const block = section(hostText(row, model.notes));
  if (!model.screenshots.has(row.host)) return block;
  return {
    ...block,
    accessory: button({ text: 'Show screen', actionId: `${SHOW_SCREEN_ACTION}${row.host}`, value: row.host }),
  } as Block;
}

function counts(rows: readonly HostStatusRow[]): string {
  const by = new Map<State, number>();
  for (const row of rows) by.set(stateOf(row), (by.get(stateOf(row)) ?? 0) + 1);
  return [...by.entries()].map(([state, n]) => `${n} ${state}`).join(', ');
}

export function homeView(model: HomeModel): HomeView {
  const { rows } = model;
  const top: Block[] = [header('Signage fleet')];
  if (model.checkedAt === null) {
    top.push(section('Looking at the screens… this tab fills in once every host has answered.'));
    return { type: 'home', blocks: top };
  }
  const sites = [...new Set(rows.map((r) => r.site))].sort();
  const questions = rows.filter((r) => r.pendingApproval !== null).length;
  top.push(
    section(
      `*${rows.length} screen${rows.length === 1 ? '' : 's'}* at ${sites.length} site${sites.length === 1 ? '' : 's'}: ${counts(rows) || 'none'}` +
        (questions > 0 ? `\n:question: ${questions} restart question${questions === 1 ? '' : 's'} open` : ''),
    ),
    context(
      `Checked ${slackDate(model.checkedAt)}; refreshed after each run, question and scheduled check. \`/signage status\` looks again now.`,
    ),
  );
  const perSite = sites.map((site) => {
    const hosts = rows.filter((r) => r.site === site);
    return { site, hosts, look: hosts.filter((r) => needsLook(r, model.notes)) };
  });
  // One block per host when they fit; otherwise hosts that need a look, then a count of the rest per site.
  const full = top.length + perSite.reduce((n, s) => n + 2 + s.hosts.length, 0);
  const summarise = full > HOME_BLOCKS;
  const blocks = [...top];
  let left = 0;
  for (const { site, hosts, look } of perSite) {
    const shown = summarise ? look : hosts;
    // Room for this site's divider and heading, its hosts, and a last line saying what did not fit.
    const room = HOME_BLOCKS - blocks.length - 3;
    if (room < 1) {
      left += hosts.length;
      continue;
    }
    blocks.push(divider(), section(`*${escapeMrkdwn(site)}* · ${counts(hosts)}`));
    const fits = shown.slice(0, room);
    for (const row of fits) blocks.push(hostBlock(row, model));
    const quiet = hosts.length - fits.length;
    if (quiet > 0 && summarise) {
      const hidden = shown.length - fits.length;
      blocks.push(
        context(
          `${quiet} more screen${quiet === 1 ? '' : 's'} here` +
            (hidden === 0 ? ', all in sync or never deployed' : `, ${hidden} of them needing a look`) +
            `: \`/signage status @…\` or \`/signage status HOST\` shows them.`,
        ),
      );
    }
  }
  if (left > 0) {
    blocks.push(
      context(
        `…and ${left} more screen${left === 1 ? '' : 's'} at other sites: \`/signage status\` lists them all.`,
      ),
    );
  }
  return { type: 'home', blocks: blocks.slice(0, HOME_BLOCKS) };
}
