// Every command starts through one small fixed shell wrapper. It prints the id of its process group (sshd
// makes each session's command a session and process group leader of its own) as a first stderr line, then
// becomes the command. Knowing that group, the adapter can end the command and everything it started when a
// command times out or is cancelled: SSH "signal" requests are refused for root sessions on many servers,
// and closing the channel alone leaves the remote process running.
import { quoteArgv, withEnv } from './quote.ts';

const MARKER = 'signage-pgid';

/**
 * Reads the process group from /proc (the fifth field of stat), falling back to the shell's own pid. A
 * program whose name starts with `-` goes through `env --`: bash's exec would take it for an option, and
 * dash's exec does not accept `--`.
 */
export const WRAPPER_SCRIPT = [
  'read -r _ _ _ _ g _ < /proc/$$/stat 2>/dev/null || g=$$',
  `printf '${MARKER} %s\\n' "$g" >&2`,
  'case $1 in -*) exec env -- "$@" ;; esac',
  'exec "$@"',
].join('; ');

/** The command string for the exec request: the wrapper, then the caller's argv as its arguments. */
export function wrappedCommand(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  return quoteArgv(['/bin/sh', '-c', WRAPPER_SCRIPT, 'sh', ...withEnv(env, argv)]);
}

/** The command that signals a whole process group. */
export function killCommand(pgid: number, signal: 'TERM' | 'KILL'): string {
  return quoteArgv(['kill', '-s', signal, '--', `-${pgid}`]);
}

const MARKER_LINE = new RegExp(`^${MARKER} (\\d+)$`);
const MAX_SEARCH = 64 * 1024;

/**
 * Takes the wrapper's line out of stderr and keeps its process group id. Lines a login shell prints before
 * the wrapper runs pass through; once the marker is found (or no marker came in the first 64 KiB), all
 * further output passes through untouched.
 */
export class PgidFilter {
  pgid: number | null = null;
  private searching = true;
  private pending: Buffer = Buffer.alloc(0);
  private readonly onFound: (pgid: number) => void;

  constructor(onFound: (pgid: number) => void = () => {}) {
    this.onFound = onFound;
  }

  /** The part of `chunk` that is the command's own stderr. */
  push(chunk: Buffer): Buffer {
    if (!this.searching) return chunk;
    let data = Buffer.concat([this.pending, chunk]);
    const passed: Buffer[] = [];
    let nl = data.indexOf(0x0a);
    while (nl >= 0) {
      const line = data.subarray(0, nl).toString('latin1');
      const found = MARKER_LINE.exec(line);
      if (found) {
        this.searching = false;
        this.pgid = Number(found[1]);
        this.onFound(this.pgid);
        passed.push(data.subarray(nl + 1));
        this.pending = Buffer.alloc(0);
        return Buffer.concat(passed);
      }
      passed.push(data.subarray(0, nl + 1));
      data = data.subarray(nl + 1);
      nl = data.indexOf(0x0a);
    }
    if (data.length > MAX_SEARCH) {
      this.searching = false;
      passed.push(data);
      data = Buffer.alloc(0);
    }
    this.pending = Buffer.from(data);
    return Buffer.concat(passed);
  }

  /** What is still held back at the end of the stream. */
  flush(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    this.searching = false;
    return rest;
  }
}
