#!/usr/bin/env node
// The `signage` command. See src/cli/main.ts for verbs, flags and exit codes.
import { runCli } from '../src/cli/main.ts';
import { guardedWrite } from '../src/cli/stop-requests.ts';
import { compose } from '../src/main/compose.ts';

// A closed pipe (`signage ... | head -2`) must not crash the command mid-run: writes to it are dropped, and
// runCli stops the run at its next safe point.
const out = guardedWrite(process.stdout);
const err = guardedWrite(process.stderr);
const code = await runCli(
  process.argv.slice(2),
  process.env,
  {
    stdout: {
      write: out,
      isTTY: process.stdout.isTTY === true,
      columns: process.stdout.columns,
    },
    stderr: {
      write: err,
      isTTY: process.stderr.isTTY === true,
      columns: process.stderr.columns,
    },
    stdin: process.stdin,
    stdoutStream: process.stdout,
    stderrStream: process.stderr,
  },
  (configFile) => compose(configFile, { env: process.env }),
);
process.exitCode = code;
