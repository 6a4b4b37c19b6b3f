// What a user is told when the state file cannot be opened for writing: never "cannot create" a file that is
// there, and the cause (not a directory, someone else's file, read-only) named.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/adapters/state/open.ts';
import { stateFileProblem } from '../../src/adapters/state/open-problem.ts';

const scratch = mkdtempSync(join(tmpdir(), 'signage-state-open-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const failure = (code: string, syscall: string) =>
  Object.assign(new Error(`${code}: failed, ${syscall}`), { code, syscall });

describe('opening the state file', () => {
  it('says a stateDir that is a file is not a directory', () => {
    const notDir = join(scratch, 'a-file');
    writeFileSync(notDir, '');
    const opened = openStateStore({ stateDir: notDir, now: new Date() });
    expect(opened.ok).toBe(false);
    if (!opened.ok)
      expect(opened.message).toBe(
        `stateDir ${notDir} is not a directory; name a directory (it holds signage.db); nothing was run`,
      );
  });

  it('says an existing file it may not write exists, with its owner and mode, and what to do', () => {
    const file = join(scratch, 'signage.db');
    writeFileSync(file, '', { mode: 0o400 });
    const m = stateFileProblem(failure('EACCES', 'open'), scratch, file);
    expect(m).toMatch(/^exists, but .+ \(uid \d+\) may not write it \(owned by uid \d+, mode 0400\)/);
    expect(m).toContain('run signage as the user that owns the state directory');
    expect(m).not.toContain('cannot create');
  });

  it('says a missing file cannot be created when the directory is not writable', () => {
    const m = stateFileProblem(failure('EACCES', 'open'), scratch, join(scratch, 'missing.db'));
    expect(m).toMatch(new RegExp(`^cannot create it: .+ may not write ${scratch}`));
  });

  it('names a read-only file system and a directory in the file’s place', () => {
    const file = join(scratch, 'signage.db');
    expect(stateFileProblem(failure('EROFS', 'open'), scratch, file)).toContain('read-only file system');
    expect(stateFileProblem(failure('EISDIR', 'open'), scratch, file)).toContain('a directory');
  });
});
