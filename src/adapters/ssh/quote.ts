// An SSH exec request carries one command string, which the remote login shell parses. Every word we send is
// therefore quoted so that the shell hands it to the command verbatim: the argv a caller gives is the argv
// the remote program sees. POSIX quoting, understood by sh, dash, bash and zsh.

/** Words made only of these reach the command unchanged without quotes. `=` and `~` are left out on
 * purpose: a first word `A=b` would be an assignment, and a leading `~` is expanded. */
const PLAIN = /^[A-Za-z0-9_@%+:,./-]+$/;

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export class QuoteError extends Error {
  override readonly name = 'QuoteError';
}

export function quoteWord(word: string): string {
  if (word.includes('\0'))
    throw new QuoteError(`a command word contains a NUL byte, which no command can receive`);
  if (PLAIN.test(word)) return word;
  // Inside single quotes nothing is special; a single quote itself is closed, escaped and reopened.
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new QuoteError('an empty command has nothing to run');
  return argv.map(quoteWord).join(' ');
}

/**
 * The argv that runs `argv` with extra environment variables: `env -- K=V ... argv`. Sent this way rather
 * than as SSH "env" requests, which sshd drops unless its AcceptEnv names them.
 */
export function withEnv(env: Readonly<Record<string, string>>, argv: readonly string[]): string[] {
  const [program] = argv;
  if (program === undefined) throw new QuoteError('an empty command has nothing to run');
  const entries = Object.entries(env);
  if (entries.length === 0) return [...argv];
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) {
      throw new QuoteError(
        `environment variable name ${JSON.stringify(name)} is not of the form [A-Z_][A-Z0-9_]*`,
      );
    }
    if (typeof value !== 'string') throw new QuoteError(`environment variable ${name} must be a string`);
    if (value.includes('\0')) throw new QuoteError(`environment variable ${name} contains a NUL byte`);
  }
  // env would take a first word holding `=` for one more assignment instead of the program to run.
  if (program.includes('=')) {
    throw new QuoteError(
      `cannot run ${JSON.stringify(program)} with env: a program name must not contain "="`,
    );
  }
  return ['env', '--', ...entries.map(([name, value]) => `${name}=${value}`), ...argv];
}
