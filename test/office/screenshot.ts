// Installs the office's screenshot command on a host: `signage-office-screenshot` on its PATH, running
// screenshot-command.ts with the Node the tests run on (a real PNG on stdout, see png.ts).
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OfficeHost } from './host.ts';

export const SCREENSHOT_COMMAND = 'signage-office-screenshot';

export async function installScreenshot(host: OfficeHost): Promise<void> {
  const script = join(import.meta.dirname, 'screenshot-command.ts');
  const file = join(host.dir, 'bin', SCREENSHOT_COMMAND);
  // The paths are the office's own; no input reaches this text.
  await writeFile(file, `#!/bin/sh\nexec '${process.execPath}' '${script}'\n`);
  await chmod(file, 0o755);
}
