// How the SSH adapter connects: where trust comes from, how it logs in, and how long it waits. Validated once,
// up front, so that a bad setting fails at start-up with a message naming it rather than at the first deploy.
import { z } from 'zod';

// Messages leave out the setting's name: parseSshSettings puts it in front.
const ms = () => z.number().int('must be a whole number of milliseconds');
const positive = () => ms().positive('must be more than 0');

const schema = z
  .strictObject({
    /** known_hosts file every host key is checked against; nothing else is trusted. */
    knownHostsFile: z.string().min(1, 'must name a file'),
    /** ssh-agent socket: logs in with its keys (never forwarded to a host). */
    agentSocket: z.string().min(1, 'must name a socket').optional(),
    /** Private key file, used when no agent is given. */
    identityFile: z.string().min(1, 'must name a file').optional(),
    /** Passphrase of the identity file, from the environment or a file; never logged. */
    identityPassphrase: z.string().optional(),
    connectTimeoutMs: positive().default(10_000),
    keepaliveIntervalMs: positive().default(5_000),
    /** Unanswered keepalives before a connection counts as lost. */
    keepaliveCountMax: z.number().int().min(1, 'must be at least 1').default(3),
    /** An unused connection is closed after this long. */
    idleCloseMs: positive().default(60_000),
    /** Default limit for one command; 0 for none. */
    commandTimeoutMs: ms()
      .min(0, 'must not be negative')
      .default(30 * 60_000),
    /** Commands at once on one connection (sshd's MaxSessions is 10 by default); more wait their turn. */
    maxSessionsPerConnection: z
      .number()
      .int()
      .min(1, 'must be at least 1')
      .max(64, 'must be at most 64')
      .default(8),
    /** Output kept per stream and command (its last part). */
    keepOutputBytes: z
      .number()
      .int()
      .min(1024, 'must be at least 1024')
      .default(256 * 1024),
  })
  .refine((s) => s.agentSocket !== undefined || s.identityFile !== undefined, {
    message: 'give agentSocket or identityFile (or both): the bot needs a key to log in with',
  });

export type SshSettingsInput = z.input<typeof schema>;
export type SshSettings = z.output<typeof schema>;

export class SshSettingsError extends Error {
  override readonly name = 'SshSettingsError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid SSH settings: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

export function parseSshSettings(input: unknown): SshSettings {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new SshSettingsError(
    parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)),
  );
}
