// The configuration file's shape, with its defaults. Every mapping is strict: a misspelt field is an error
// that lists the known ones, not a setting silently ignored. docs/configuration.md documents each field.
import { z } from 'zod';
import { DEFAULT_ACTIVATION, DEFAULT_REBOOT_SECONDS } from '../../core/activation-sequence.ts';
import { DEFAULT_HEALTH } from '../../core/health.ts';
import { checkGitRef } from '../../core/revision.ts';
import { parseWindow } from '../../core/windows.ts';
import {
  address,
  argv,
  argvOrOff,
  cron,
  cronOrOff,
  filePath,
  flakeRef,
  httpUrl,
  intIn,
  listenAddress,
  name,
  port,
  slackChannel,
  slackUser,
  slackUsergroup,
  sshUser,
  timezone,
  viewers,
} from './fields.ts';

export const DEFAULT_RESTART_COMMAND: readonly string[] = ['systemctl', 'restart', 'display-manager.service'];

/** The known fields travel as the message of an unknown-field issue; problems.ts turns it into a sentence. */
function strict<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? Object.keys(shape).join(', ') : undefined),
  });
}

/** Cross-field checks run even when a field failed, so every problem is reported at once. */
const always = { when: () => true };

/** A section left out (or left empty) is checked as an empty mapping, so a missing field inside is named. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v ?? {}, schema);
}

const isSet = (v: unknown) => v !== undefined && v !== null;
const fieldOf = (o: unknown, key: string): unknown =>
  typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;

const builder = strict({
  signingKeyFile: filePath(
    'required: the secret key file the builder signs store paths with (or set $SIGNAGE_SIGNING_KEY_FILE)',
  ),
  nixBinDir: filePath().optional(),
});

const ssh = strict({
  knownHostsFile: filePath(
    "required: a known_hosts file with every host's key (host keys are always checked)",
  ),
  identityFile: filePath().optional(),
  agentSocket: filePath().optional(),
  connectTimeoutSeconds: intIn(1, 600).default(10),
  commandTimeoutSeconds: intIn(1, 86_400).default(900),
}).superRefine((v, ctx) => {
  const key = isSet(fieldOf(v, 'identityFile'));
  const agent = isSet(fieldOf(v, 'agentSocket'));
  if (key === agent) {
    ctx.addIssue({
      code: 'custom',
      message: key
        ? 'set identityFile or agentSocket, not both'
        : "set identityFile (a private key file) or agentSocket (an SSH agent socket holding the bot's key only; the agent of whoever runs the command is never used, so that no other key of theirs signs the bot's logins)",
    });
  }
}, always);

const defaults = strict({
  user: sshUser.default('root'),
  port: port.default(22),
  site: name('site').default('office'),
  tags: z.array(name('tag')).default([]),
  restartCommand: argv.default([...DEFAULT_RESTART_COMMAND]),
});

// What a new system must pass before it is confirmed, and how long the host waits for that before reverting
// by itself. Per tag and per host; the most specific setting wins (a host's own, then its tags', then these).
const healthCheck = strict({
  name: z.string().min(1).max(80),
  argv,
  timeoutSeconds: intIn(1, 3600).default(60),
});

const activationOverride = strict({
  revertSeconds: intIn(5, 3600).optional(),
  settleSeconds: intIn(0, 600).optional(),
  rebootSeconds: intIn(10, 3600).optional(),
  checks: z.array(healthCheck).optional(),
});

const activation = strict({
  revertSeconds: intIn(5, 3600).default(DEFAULT_ACTIVATION.revertSeconds),
  settleSeconds: intIn(0, 600).default(DEFAULT_ACTIVATION.settleSeconds),
  rebootSeconds: intIn(10, 3600).default(DEFAULT_REBOOT_SECONDS),
  checks: z.array(healthCheck).default(DEFAULT_ACTIVATION.checks.map((c) => ({ ...c, argv: [...c.argv] }))),
  tags: z
    .record(name('tag'), activationOverride)
    .nullable()
    .transform((v) => v ?? {})
    .default({}),
});

// Screen health in status and the fleet report: the commands that say power and temperature, and the limits.
// Per tag and per host; a host's own setting wins, then the first of its tags that sets it, then these.
const healthOverride = strict({
  power: argvOrOff.optional(),
  temperature: argvOrOff.optional(),
  hotCelsius: intIn(30, 120).optional(),
  minFreeMiB: intIn(0, 1_048_576).optional(),
});

const health = strict({
  power: argvOrOff.default([...(DEFAULT_HEALTH.power ?? [])]),
  temperature: argvOrOff.default([...(DEFAULT_HEALTH.temperature ?? [])]),
  hotCelsius: intIn(30, 120).default(DEFAULT_HEALTH.hotCelsius),
  minFreeMiB: intIn(0, 1_048_576).default(DEFAULT_HEALTH.minFreeBytes / 1024 / 1024),
  tags: z
    .record(name('tag'), healthOverride)
    .nullable()
    .transform((v) => v ?? {})
    .default({}),
});

const hostOverride = strict({
  address: address.optional(),
  lanAddress: address.optional(),
  port: port.optional(),
  user: sshUser.optional(),
  site: name('site').optional(),
  tags: z.array(name('tag')).optional(),
  restartCommand: argv.optional(),
  activation: activationOverride.optional(),
  health: healthOverride.optional(),
  screenshotCommand: argv.optional(),
});

// What a screen shows: a command on the host that prints a PNG of its display on stdout (for a Wayland kiosk,
// `[grim, -]`), run as configured, without a shell. Per host (`hosts.NAME.screenshotCommand`), per tag, or
// for every host; without any, screenshots are off.
const screenshot = strict({
  command: argv.optional(),
  timeoutSeconds: intIn(1, 600).default(20),
  maxBytes: intIn(1024, 50_000_000).default(10_000_000),
  /** A screenshot in the run's thread after a confirmed deploy and after a restart. */
  afterChange: z.boolean().default(true),
  /** How long the screen is given to draw before that screenshot. */
  settleSeconds: intIn(0, 600).default(5),
  tags: z
    .record(name('tag'), strict({ command: argv }))
    .nullable()
    .transform((v) => v ?? {})
    .default({}),
});

/** `hosts: {name: }` with nothing under a name means no overrides. */
const hosts = z
  .record(
    name('host'),
    hostOverride.nullable().transform((v) => v ?? {}),
  )
  .nullable()
  .transform((v) => v ?? {});

const limits = strict({
  parallelHosts: intIn(1, 64).default(4),
  parallelPeerCopies: intIn(1, 16).default(3),
  approvalTimeoutMinutes: intIn(1, 10_080).default(30),
});

/**
 * How the builder's share of a copy crosses the uplink (src/engine/uplink-stream.ts): one compressed, signed
 * stream into a fixed importer on the host, or Nix's own `nix copy --to ssh://` (one round trip a path, nothing
 * compressed). The temporary space bounds what the host holds unpacked at once before importing it.
 */
const uplink = strict({
  transport: z.enum(['stream', 'nix-copy']).default('stream'),
  deltas: z.boolean().default(true),
  compressionLevel: intIn(1, 19).default(9),
  tempSpaceMiB: intIn(16, 1_048_576).default(512),
  /** The largest base a delta is made against: the screen holds it in memory to rebuild the NAR. */
  deltaMaxBaseMiB: intIn(1, 2047).default(256),
});

const slack = strict({
  mode: z.enum(['socket', 'http']).default('socket'),
  port: port.default(3000),
  /** HTTP mode listens here: loopback, behind the reverse proxy that terminates TLS for Slack. */
  listenAddress: listenAddress.default('127.0.0.1'),
  /** Slack's Web API (an API proxy, GovSlack). */
  apiUrl: httpUrl.default('https://slack.com/api/'),
  channel: slackChannel.optional(),
  approvers: section(
    strict({
      users: z.array(slackUser).default([]),
      usergroup: slackUsergroup.optional(),
      /** Also tell each named approver of a question in a direct message. */
      directMessage: z.boolean().default(false),
      /** A warning in the run's thread this many minutes before a question expires; 0: none. */
      warnBeforeExpiryMinutes: intIn(0, 1440).default(5),
    }),
  ),
  deployers: z.array(slackUser).default([]),
  viewers: viewers.default('everyone'),
  channels: z.array(slackChannel).default([]),
}).superRefine((v, ctx) => {
  const approvers = fieldOf(v, 'approvers');
  const users = fieldOf(approvers, 'users');
  if ((!Array.isArray(users) || users.length === 0) && !isSet(fieldOf(approvers, 'usergroup'))) {
    ctx.addIssue({
      code: 'custom',
      path: ['approvers'],
      message:
        'name at least one approver: users (Slack user IDs) or a usergroup, who may approve display restarts',
    });
  }
}, always);

/** Deploying off the default branch (a branch, a tag, a commit outside its history): who, and to which hosts. */
const refs = strict({
  defaultBranch: z
    .string()
    .refine((v) => checkGitRef(v).ok, { error: 'expected a branch name, e.g. main' })
    .optional(),
  nonDefault: z.enum(['deployers', 'approvers']).default('deployers'),
  hostsTagged: z.array(name('tag')).default([]),
});

const schedule = strict({
  status: cronOrOff.default('*/15 * * * *'),
  expireApprovals: cron.default('* * * * *'),
  /** When to look at pending hosts and bring those that answer, inside their window, up to date. */
  pendingWork: cron.default('* * * * *'),
  timezone: timezone.optional(),
});

/**
 * One maintenance window or off-hours range, checked where it is read so a bad one is named with its path.
 * Kept as written (the configuration's output reads back as input); hosts.ts parses it for the policy.
 */
const timeWindow = z
  .string({ error: 'expected a window as a string, e.g. "Mon-Fri 22:00-06:00"' })
  .superRefine((v, ctx) => {
    const w = parseWindow(v);
    if (!w.ok) ctx.addIssue({ code: 'custom', message: w.error });
  });

const windowList = z
  .array(timeWindow)
  .min(1, { error: 'an empty list; leave the field out for no restriction' });

const approvals = strict({
  /** Distinct approvers a restart question needs. */
  count: intIn(1, 10).default(1),
  /** false: whoever asked for the run cannot approve its restart (the two-person rule). */
  requesterMayApprove: z.boolean().default(true),
});

// A site's or a tag's policy (src/core/policy.ts resolves it per host: its tags, then its site).
const policy = strict({
  timezone: timezone.optional(),
  /** Activation, restarts and reboots wait for these; copies do not. */
  windows: windowList.optional(),
  /** The screens are off on schedule: not answering then is not a failure. */
  offHours: windowList.optional(),
  approvals: approvals.optional(),
});

const policies = (what: 'site' | 'tag') =>
  z
    .record(
      name(what),
      policy.nullable().transform((v) => v ?? {}),
    )
    .nullable()
    .transform((v) => v ?? {});

export const configSchema = strict({
  flake: flakeRef,
  stateDir: filePath('required: a directory for the state database (or set $STATE_DIRECTORY)'),
  builder: section(builder),
  ssh: section(ssh),
  defaults: section(defaults),
  hosts: section(hosts),
  limits: section(limits),
  uplink: section(uplink),
  activation: section(activation),
  health: section(health),
  screenshot: section(screenshot),
  slack: slack.optional(),
  schedule: section(schedule),
  refs: section(refs),
  sites: section(policies('site')),
  tags: section(policies('tag')),
}).superRefine((v, ctx) => {
  const s = fieldOf(v, 'slack');
  if (isSet(s) && !isSet(fieldOf(s, 'channel')) && fieldOf(fieldOf(v, 'schedule'), 'status') !== false) {
    ctx.addIssue({
      code: 'custom',
      path: ['slack', 'channel'],
      message:
        'required while schedule.status is on: the fleet report is posted there (or set schedule.status: false)',
    });
  }
}, always);

export type Config = z.output<typeof configSchema>;
export type SlackConfig = NonNullable<Config['slack']>;
export type HostOverride = z.output<typeof hostOverride>;
export type PolicyConfig = z.output<typeof policy>;
