// The office's screenshot command, run on a host (inside its namespaces, through its sshd) by the bot exactly
// as `screenshot.command` says: it prints a PNG on stdout showing the name of the system the host runs
// (/run/current-system), or "no-system" on a host that has none yet.
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { encodePng, renderText } from './png.ts';

let shown: string;
try {
  shown = basename(readlinkSync('/run/current-system'));
} catch {
  shown = 'no-system';
}
process.stdout.write(encodePng(renderText(shown)));
