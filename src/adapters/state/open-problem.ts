// Why the state file could not be opened for writing, said for what it is: an existing file this user may not
// write (the state directory of a bot running as another user, typically) is not "cannot create".
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';

function describeOwner(path: string): string {
  try {
    const s = statSync(path);
    return `owned by uid ${s.uid}, mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}`;
  } catch {
    return 'owner unknown';
  }
}

/** The message follows the file's name (`FILE: …`), so it does not repeat it. */
export function stateFileProblem(e: unknown, stateDir: string, file: string): string {
  const err = e as NodeJS.ErrnoException;
  const me = `${userInfo().username} (uid ${process.getuid?.() ?? '?'})`;
  const code = err.code ?? '';
  if (err.syscall === 'mkdir') {
    if (code === 'EEXIST' || code === 'ENOTDIR')
      return `stateDir ${stateDir} is not a directory; name a directory (it holds signage.db)`;
    if (code === 'EACCES' || code === 'EPERM')
      return `cannot create the state directory ${stateDir}: ${me} may not write its parent`;
    return `cannot create the state directory ${stateDir}: ${err.message}`;
  }
  let exists = false;
  try {
    statSync(file);
    exists = true;
  } catch {}
  if (!exists) {
    if (code === 'EACCES' || code === 'EPERM')
      return `cannot create it: ${me} may not write ${stateDir} (${describeOwner(stateDir)})`;
    return `cannot create it: ${err.message}`;
  }
  if (code === 'EISDIR') return 'a directory, where the state database should be';
  if (code === 'EROFS') return 'on a read-only file system; signage writes to it (runs, locks, audit log)';
  if (code === 'EACCES' || code === 'EPERM')
    return (
      `exists, but ${me} may not write it (${describeOwner(file)}); run signage as the user that owns ` +
      'the state directory (the bot runs as its own), or give this one access'
    );
  return `cannot open it for writing: ${err.message}`;
}
