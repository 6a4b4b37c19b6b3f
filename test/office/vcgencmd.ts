// The office's vcgencmd: a stand-in for the Raspberry Pi's firmware tool with the two answers the bot asks
// for. What it prints is what a test last set (setVcgencmd, written into the host's /run as a Pi's state is
// lost at reboot), else a healthy Pi's answer. A host made with `vcgencmd: false` has none, as a screen
// that is not a Pi.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OfficeHost } from './host.ts';
import type { RunResult } from './run.ts';

export const VCGENCMD_DIR = '/run/signage-office/vcgencmd';

/** Prints the set answer for get_throttled or measure_temp and exits with the set status (0 by default). */
export const VCGENCMD = `#!/bin/sh
d=${VCGENCMD_DIR}
case "$1" in
  get_throttled) default=throttled=0x0 ;;
  measure_temp) default="temp=45.0'C" ;;
  *) echo "error=2 error_msg=\\"Command not registered\\"" >&2; exit 255 ;;
esac
echo "$1" >> "$d.log" 2>/dev/null
if [ -e "$d/$1" ]; then
  cat "$d/$1"
  exit "$(cat "$d/$1.exit" 2>/dev/null || echo 0)"
fi
echo "$default"
`;

export async function installVcgencmd(host: OfficeHost): Promise<void> {
  await writeFile(join(host.dir, 'bin', 'vcgencmd'), VCGENCMD, { mode: 0o755 });
}

export type VcgencmdCommand = 'get_throttled' | 'measure_temp';

/** Makes the host's vcgencmd print `output` (a line like `throttled=0x50005`) and exit `exitCode`. */
export async function setVcgencmd(
  onHost: (argv: readonly string[]) => Promise<RunResult>,
  command: VcgencmdCommand,
  output: string,
  exitCode = 0,
): Promise<void> {
  const script = 'mkdir -p "$1" && printf "%s\\n" "$3" > "$1/$2" && printf "%s\\n" "$4" > "$1/$2.exit"';
  const result = await onHost(['sh', '-c', script, 'sh', VCGENCMD_DIR, command, output, String(exitCode)]);
  if (result.exitCode !== 0) throw new Error(`could not set vcgencmd ${command}: ${result.stderr}`);
}
