// Argument pieces verbs share. Everything typed (in Slack or a terminal) is validated here before any of it
// reaches the engine, let alone a host.
import { z } from 'zod';
import { checkGitRef } from '../core/revision.ts';
import type { RestartPolicy } from '../engine/pipeline.ts';

const LABEL = '[a-z0-9][a-z0-9-]{0,62}';

const SELECTOR = new RegExp(`^(all|@${LABEL}|${LABEL})$`);

/** A host name, `@tag` or `all`; anything else (quotes, `;`, `$(...)`, spaces) is refused. */
export const selector = z
  .string()
  .max(64, { error: (issue) => `${JSON.stringify(issue.input)} is longer than any host name`, abort: true })
  .regex(SELECTOR, {
    error: (issue) => {
      const typed = String(issue.input);
      // Host names are lower case (as DNS and NixOS's networking.hostName treat them).
      const lower = typed.toLowerCase();
      const hint = lower !== typed && SELECTOR.test(lower) ? `; host names are lower case: ${lower}` : '';
      return `expected a host name, @tag or all, got ${JSON.stringify(typed)}${hint}`;
    },
  });

/** Host words as typed, `a,b` being two hosts as in `a b`. */
export const selectors = (min: 0 | 1) =>
  z
    .array(z.string())
    .transform((words) => words.flatMap((w) => w.split(',')).filter((w) => w !== ''))
    .pipe(
      z
        .array(selector)
        .min(min, { error: 'name a host, @tag or all' })
        .max(200, { error: 'at most 200 hosts at once' }),
    );

export const noPositionals = z.array(z.string()).max(0, { error: 'takes no host names' });

/** `--restart` approves the restart up front; `--no-restart` leaves the screen alone; neither asks. */
export const restartFlags = {
  restart: { type: 'boolean' },
  'no-restart': { type: 'boolean' },
} as const;

export function restartPolicy(values: {
  restart?: boolean | undefined;
  'no-restart'?: boolean | undefined;
}): RestartPolicy | undefined {
  if (values.restart) return 'yes';
  if (values['no-restart']) return 'no';
  return undefined;
}

export const restartValues = z
  .object({ restart: z.boolean().optional(), 'no-restart': z.boolean().optional() })
  .refine((v) => !(v.restart && v['no-restart']), {
    error: '--restart and --no-restart contradict each other',
  });

/** What to do when no flag says: ask where a person can be asked, otherwise leave the screen alone. */
export function effectiveRestart(flag: RestartPolicy | undefined, canAsk: boolean): RestartPolicy {
  return flag ?? (canAsk ? 'ask' : 'no');
}

/** `--ref REF`: a branch, tag or full commit id of the fleet flake; without it, the default branch head. */
export const refFlag = { ref: { type: 'string' } } as const;

export const gitRef = z.string().superRefine((value, ctx) => {
  const checked = checkGitRef(value);
  if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.error });
});

export const refValues = z.object({ ref: gitRef.optional() });

export const REF_USAGE = '[--ref <branch|tag|commit>]';

/** `--now`: activate and restart outside the hosts' maintenance windows (approvers only; audited). */
export const nowFlag = { now: { type: 'boolean' } } as const;

export const nowValues = z.object({ now: z.boolean().optional() });

export const NOW_USAGE = '[--now]';
