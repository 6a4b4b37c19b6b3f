// The configuration's value types. Each is checked by one predicate and has one message for every way it
// can be wrong, naming what was expected and showing what was found: "expected an integer from 1 to
// 65535, got "x"". A missing value says "required", with a hint where one helps.

import { validateDetailed, validate as validCron } from 'node-cron';
import { z } from 'zod';
import { isHostAddress, isSshUser } from '../../core/endpoint.ts';
import { show } from './show.ts';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

// `abort: false`: a bad value must not stop the cross-field checks of the mappings around it.
function checked<T>(ok: (v: unknown) => boolean, expected: string, missing = 'required') {
  return z.custom<T>(ok, {
    abort: false,
    error: (iss) => (iss.input === undefined ? missing : `expected ${expected}, got ${show(iss.input)}`),
  });
}

const isString = (v: unknown): v is string => typeof v === 'string';

export function intIn(min: number, max: number) {
  return checked<number>(
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
    `an integer from ${min} to ${max}`,
  );
}

export const port = intIn(1, 65535);

/** Host, site and tag names: what users type, and safe in a command line or a file name. */
export function name(kind: 'host' | 'site' | 'tag') {
  return checked<string>(
    (v) => isString(v) && NAME_PATTERN.test(v),
    `a ${kind} name: lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters`,
  );
}

/** File paths go into NIX_SSHOPTS, which is split on whitespace, so they may not contain any. */
export function filePath(missing?: string) {
  return checked<string>(
    (v) => isString(v) && v.length > 0 && !/[\s\0]/.test(v) && !v.startsWith('~'),
    'a file path without spaces (relative to this file, or absolute; ~ is not expanded)',
    missing,
  );
}

/** What ssh connects to: a name or an address, never something ssh would read as an option. */
export const address = checked<string>(
  isHostAddress,
  'a host name or IPv4 address (letters, digits, "." and "-"; Nix store URLs cannot carry IPv6 addresses, so use a name)',
);

/** Where an HTTP server listens: an IPv4 address, a name, or IPv6's any (`::`) or loopback (`::1`). */
export const listenAddress = checked<string>(
  (v) => isString(v) && (v === '::' || v === '::1' || isHostAddress(v)),
  'an address to listen on, such as 127.0.0.1 (loopback, behind a reverse proxy), 0.0.0.0, :: or a host name',
);

/** An http(s) URL, such as Slack's Web API behind a proxy. */
export const httpUrl = checked<string>((v) => {
  if (!isString(v)) return false;
  try {
    const url = new URL(v);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === ''
    );
  } catch {
    return false;
  }
}, 'an http:// or https:// URL without user or password, such as https://slack.com/api/');

export const sshUser = checked<string>(
  isSshUser,
  'a user name (lower-case letters, digits, "_" and "-", not starting with "-" or a digit)',
);

/** The bot appends `#nixosConfigurations.HOST…` itself. */
export const flakeRef = checked<string>(
  (v) => isString(v) && v.length > 0 && !v.includes('#') && !v.startsWith('-') && !/[\s\0]/.test(v),
  'a flake reference without "#" or spaces, e.g. "github:office/signage-fleet" or "./fleet"',
  'required: the flake that defines nixosConfigurations for the screens, e.g. "./fleet"',
);

/** A command run on a host as an argument vector: no shell, so each word is a plain string. */
export const argv = checked<string[]>(
  (v) => Array.isArray(v) && v.length > 0 && v.every((w) => isString(w) && w.length > 0),
  'a non-empty list of non-empty strings, e.g. [systemctl, restart, display-manager.service]',
);

/** A host command, or false for none (a screen without that sensor). */
export const argvOrOff = checked<string[] | false>(
  (v) => v === false || (Array.isArray(v) && v.length > 0 && v.every((w) => isString(w) && w.length > 0)),
  'a non-empty list of non-empty strings, e.g. [vcgencmd, get_throttled], or false',
);

export const slackUser = checked<string>(
  (v) => isString(v) && /^[UW][A-Z0-9]{2,}$/.test(v),
  'a Slack user ID like U0123ABCD (profile → ⋯ → Copy member ID)',
);

export const slackUsergroup = checked<string>(
  (v) => isString(v) && /^S[A-Z0-9]{2,}$/.test(v),
  'a Slack user group ID like S0123ABCD',
);

export const slackChannel = checked<string>(
  (v) => isString(v) && /^[CGD][A-Z0-9]{2,}$/.test(v),
  'a Slack channel ID like C0123ABCD (channel details → About, at the bottom)',
);

/** "everyone", or a list of user IDs: checked item by item so a bad ID is named by its index. */
export const viewers = z
  .unknown()
  .superRefine((v, ctx) => {
    if (v === 'everyone') return;
    if (!Array.isArray(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected "everyone" or a list of Slack user IDs, got ${show(v)}`,
      });
      return;
    }
    for (const [i, id] of v.entries()) {
      const r = slackUser.safeParse(id);
      if (!r.success)
        ctx.addIssue({ code: 'custom', path: [i], message: r.error.issues[0]?.message ?? 'invalid' });
    }
  })
  .transform((v) => v as 'everyone' | string[]);

function cronField<T>(allowFalse: boolean) {
  const expected = `a cron expression like "*/15 * * * *"${allowFalse ? ' or false' : ''}`;
  return z.custom<T>((v) => (allowFalse && v === false) || (isString(v) && validCron(v)), {
    abort: false,
    error: (iss) => {
      if (iss.input === undefined) return 'required';
      return `expected ${expected}, got ${show(iss.input)}${isString(iss.input) ? cronWhy(iss.input) : ''}`;
    },
  });
}

function cronWhy(expression: string): string {
  const first = validateDetailed(expression).errors[0];
  if (first === undefined) return '';
  if (first.field === 'expression') return ` (${first.message})`;
  return ` (its ${first.field} field ${JSON.stringify(first.value ?? '')} is not valid)`;
}

export const cron = cronField<string>(false);
export const cronOrOff = cronField<string | false>(true);

export const timezone = checked<string>((v) => {
  if (!isString(v) || v.length === 0) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone like "Europe/Oslo"');
