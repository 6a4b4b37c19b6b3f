// What a system built here says about its boot (its kernel, initrd, module and firmware links and its switch
// inhibitors), read by the same fixed script the hosts run, so both sides are parsed alike.
import { execa } from 'execa';
import { parseSystemBoot, SYSTEM_BOOT_SCRIPT, type SystemBoot } from '../../core/reboot-need.ts';
import type { StorePath } from '../../core/types.ts';

export async function systemBoot(toplevel: StorePath): Promise<SystemBoot> {
  const r = await execa('sh', ['-c', SYSTEM_BOOT_SCRIPT, 'signage-boot-facts', toplevel], {
    reject: false,
    timeout: 30_000,
  });
  const parsed = r.exitCode === 0 ? parseSystemBoot(r.stdout) : null;
  if (parsed === null) {
    throw new Error(
      `could not read the boot links of ${toplevel} on the builder: ${r.stderr || r.shortMessage}`,
    );
  }
  return parsed;
}
