// The arguments `restart` and `reboot` share: the hosts, `--yes` (an operator who may approve answers the
// question up front) and `--now` (go ahead outside the hosts' maintenance windows; approvers only).
import { z } from 'zod';
import { NOW_USAGE, nowFlag, selectors } from './args.ts';
import { UsageError } from './usage-error.ts';

export const approvalFlags = { yes: { type: 'boolean' }, ...nowFlag } as const;

export const APPROVAL_USAGE = `<host|@tag|all>... [--yes] ${NOW_USAGE}`;

export const approvalArgs = z
  .object({
    positionals: selectors(1),
    values: z.object({ yes: z.boolean().optional(), now: z.boolean().optional() }).strict(),
  })
  .transform(({ positionals, values }) => ({
    targets: positionals,
    yes: values.yes ?? false,
    now: values.now ?? false,
  }));

export type ApprovalArgs = z.output<typeof approvalArgs>;

/**
 * `yes` when `--yes` answered, `ask` where a person can be asked. Where neither, the command is refused
 * before anything runs: a screen is never restarted or rebooted without someone saying so.
 */
export function approvalAnswer(
  args: ApprovalArgs,
  canAsk: boolean,
  doing: 'restart' | 'reboot',
): 'yes' | 'ask' {
  if (!args.yes && !canAsk) {
    throw new UsageError(
      `nobody to ask here: pass --yes to ${doing}, or ask from Slack or an interactive terminal`,
    );
  }
  return args.yes ? 'yes' : 'ask';
}
