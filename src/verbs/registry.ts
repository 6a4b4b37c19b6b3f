// Every verb, in the order help lists them. The manifest's slash command advertises the same names (a test
// checks that the two agree).
import build from '../../commands/build.ts';
import cancel from '../../commands/cancel.ts';
import copy from '../../commands/copy.ts';
import deploy from '../../commands/deploy.ts';
import help from '../../commands/help.ts';
import hosts from '../../commands/hosts.ts';
import overlap from '../../commands/overlap.ts';
import pending from '../../commands/pending.ts';
import plan from '../../commands/plan.ts';
import reboot from '../../commands/reboot.ts';
import restart from '../../commands/restart.ts';
import rollback from '../../commands/rollback.ts';
import show from '../../commands/show.ts';
import status from '../../commands/status.ts';
import switchVerb from '../../commands/switch.ts';
import type { AnyVerb } from './parse.ts';

export const verbs: readonly AnyVerb[] = [
  deploy,
  status,
  plan,
  overlap,
  build,
  copy,
  switchVerb,
  rollback,
  restart,
  reboot,
  cancel,
  pending,
  show,
  hosts,
  help,
];
