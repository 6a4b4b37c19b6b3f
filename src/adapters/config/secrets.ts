// Slack's credentials, never in the configuration file: each comes from an environment variable, from a
// file named by VARIABLE_FILE, or from a systemd credential ($CREDENTIALS_DIRECTORY/NAME). Only the ones the
// chosen mode needs are read. Problems are reported together, and no message ever shows a value.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from './parse.ts';
import { Secret } from './secret.ts';

export interface SlackSecrets {
  readonly botToken: Secret;
  /** Socket Mode only. */
  readonly appToken?: Secret;
  /** HTTP mode only. */
  readonly signingSecret?: Secret;
}

export type SecretsResult =
  | { readonly ok: true; readonly value: SlackSecrets }
  | { readonly ok: false; readonly message: string };

interface Spec {
  readonly variable: string;
  readonly credential: string;
  readonly prefix?: string;
  readonly what: string;
}

const BOT: Spec = {
  variable: 'SLACK_BOT_TOKEN',
  credential: 'slack-bot-token',
  prefix: 'xoxb-',
  what: 'the Bot User OAuth Token',
};
const APP: Spec = {
  variable: 'SLACK_APP_TOKEN',
  credential: 'slack-app-token',
  prefix: 'xapp-',
  what: 'the app-level token (connections:write)',
};
const SIGNING: Spec = {
  variable: 'SLACK_SIGNING_SECRET',
  credential: 'slack-signing-secret',
  what: 'the signing secret',
};

type Found =
  | { readonly kind: 'value'; readonly value: string; readonly source: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'bad'; readonly message: string };

async function readSecretFile(file: string, source: string): Promise<Found | undefined> {
  try {
    return { kind: 'value', value: (await readFile(file, 'utf8')).trim(), source };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return { kind: 'bad', message: `${source} cannot be read (${code ?? 'error'})` };
  }
}

async function find(spec: Spec, env: Env): Promise<Found> {
  const inline = env[spec.variable];
  const fileVar = `${spec.variable}_FILE`;
  const file = env[fileVar];
  if (inline && file) return { kind: 'bad', message: `set ${spec.variable} or ${fileVar}, not both` };
  if (inline) return { kind: 'value', value: inline.trim(), source: `$${spec.variable}` };
  if (file) {
    const read = await readSecretFile(file, `${file} (named by $${fileVar})`);
    return read ?? { kind: 'bad', message: `${file} (named by $${fileVar}) does not exist` };
  }
  const credentials = env.CREDENTIALS_DIRECTORY;
  if (credentials) {
    const read = await readSecretFile(
      join(credentials, spec.credential),
      `the systemd credential ${spec.credential}`,
    );
    if (read) return read;
  }
  return { kind: 'missing' };
}

/** Why a value cannot be this secret, without ever quoting it. */
function shapeProblem(spec: Spec, value: string, source: string): string | undefined {
  if (value === '') return `${source} is empty; it should hold ${spec.what}`;
  if (/\s/.test(value)) return `${source} contains whitespace; it should hold only ${spec.what}`;
  if (spec.prefix !== undefined && !value.startsWith(spec.prefix)) {
    const other = [BOT, APP].find((s) => s.prefix !== undefined && value.startsWith(s.prefix));
    return other
      ? `${source} holds ${other.what} (${other.prefix}…), where ${spec.what} (${spec.prefix}…) belongs`
      : `${source} does not start with ${spec.prefix}; it should hold ${spec.what}`;
  }
  return undefined;
}

export async function loadSecrets(
  env: Env,
  need: { readonly needSocket: boolean; readonly needHttp: boolean },
): Promise<SecretsResult> {
  const specs = [BOT, ...(need.needSocket ? [APP] : []), ...(need.needHttp ? [SIGNING] : [])];
  const missing: Spec[] = [];
  const problems: string[] = [];
  const values = new Map<Spec, Secret>();
  for (const spec of specs) {
    const found = await find(spec, env);
    if (found.kind === 'missing') missing.push(spec);
    else if (found.kind === 'bad') problems.push(found.message);
    else {
      const problem = shapeProblem(spec, found.value, found.source);
      if (problem) problems.push(problem);
      else values.set(spec, new Secret(found.value));
    }
  }
  if (missing.length > 0) problems.unshift(missingMessage(missing));
  const botToken = values.get(BOT);
  if (problems.length > 0 || botToken === undefined) return { ok: false, message: problems.join('\n') };
  const appToken = values.get(APP);
  const signingSecret = values.get(SIGNING);
  return {
    ok: true,
    value: {
      botToken,
      ...(appToken === undefined ? {} : { appToken }),
      ...(signingSecret === undefined ? {} : { signingSecret }),
    },
  };
}

function missingMessage(missing: readonly Spec[]): string {
  const names = missing.map((s) => s.variable).join(', ');
  const credentials = missing.map((s) => s.credential).join(', ');
  return (
    `missing Slack credentials: ${names}. Give each as an environment variable, as a file named by ` +
    `${missing[0]!.variable}_FILE and the like, or as a systemd credential (${credentials}). ` +
    'The Slack app is created from manifest.yml; docs/slack.md says where to find each one.'
  );
}
