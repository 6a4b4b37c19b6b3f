#!/usr/bin/env node
// The `signage` command. See src/cli/main.ts for verbs, flags and exit codes. From a checkout, run bin/signage
// (it picks the checkout's own Node 24), `npx signage` or `npm run signage -- ...`.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `signage: needs Node 24 or later, and this is Node ${process.versions.node}; from a checkout run bin/signage, ` +
      '`npx signage` or `npm run signage -- ...`, which use the Node 24 in node_modules\n',
  );
  process.exit(2);
}
// `npm run signage -- ...` runs in the package's directory; the caller's own (INIT_CWD) is where they meant
// relative paths and ./signage.yml to be found.
if (process.env.npm_lifecycle_event === 'signage' && process.env.INIT_CWD)
  process.chdir(process.env.INIT_CWD);

const { runCli } = await import('../src/cli/main.ts');
const { guardedWrite } = await import('../src/cli/stop-requests.ts');
const { compose } = await import('../src/main/compose.ts');

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
      get columns() {
        return process.stdout.columns;
      },
    },
    stderr: {
      write: err,
      isTTY: process.stderr.isTTY === true,
      get columns() {
        return process.stderr.columns;
      },
    },
    stdin: process.stdin,
    stdoutStream: process.stdout,
    stderrStream: process.stderr,
  },
  (configFile) => compose(configFile, { env: process.env }),
);
process.exitCode = code;
