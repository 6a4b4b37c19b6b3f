// What the office needs of the machine. Tests that need an office skip without it, except under CI=true,
// where the no-skips reporter turns any skip into a failure.
import { accessSync, constants } from 'node:fs';
import { servingUnavailable } from './nix-serve.ts';

const TOOLS = [
  '/usr/bin/nix',
  '/usr/bin/nix-store',
  '/usr/sbin/sshd',
  '/usr/bin/ssh',
  '/usr/bin/ssh-agent',
  '/usr/bin/ssh-add',
  '/usr/bin/ssh-keygen',
  '/usr/sbin/ip',
  '/usr/sbin/tc',
  '/usr/bin/nsenter',
  '/usr/bin/unshare',
  '/usr/bin/mount',
  // Run on the hosts by the tests.
  '/usr/bin/ps',
  '/usr/bin/ss',
  '/usr/bin/kill',
];

export function officeUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the simulated office needs root (network namespaces, bind mounts)';
  const missing = TOOLS.filter((t) => {
    try {
      accessSync(t, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) return `missing ${missing.join(', ')} (run scripts/setup)`;
  return servingUnavailable();
}
