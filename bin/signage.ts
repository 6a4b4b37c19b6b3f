#!/usr/bin/env node
// The `signage` command. See src/cli/main.ts for verbs, flags and exit codes.
import { runCli } from '../src/cli/main.ts';
import { compose } from '../src/main/compose.ts';

const code = await runCli(
  process.argv.slice(2),
  process.env,
  {
    stdout: {
      write: (t) => process.stdout.write(t),
      isTTY: process.stdout.isTTY === true,
      columns: process.stdout.columns,
    },
    stderr: {
      write: (t) => process.stderr.write(t),
      isTTY: process.stderr.isTTY === true,
      columns: process.stderr.columns,
    },
    stdin: process.stdin,
    stdoutStream: process.stdout,
  },
  (configFile) => compose(configFile, { env: process.env }),
);
process.exitCode = code;
