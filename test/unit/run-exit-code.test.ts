// A script reads a run's outcome from the exit code alone: only a run that is done exits 0. An interrupted
// run (stopped at a safe point before it ended) exits as an interrupt does, 130; the terminal puts the real
// signal's 128 + N in its place when the stop reached the command itself.
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/engine.ts';
import { runExitCode } from '../../src/verbs/render-run.ts';

const result = (status: RunResult['status']): RunResult => ({
  runId: 'r1',
  verb: 'deploy',
  status,
  hosts: [{ host: 'baard-entrance', status: status === 'ok' ? 'ok' : 'failed', interrupted: true }],
  canaries: [],
  lanBytes: 0,
  uplinkBytes: 0,
  revision: null,
});

describe('the exit code of a run', () => {
  it.each([
    ['ok', 0],
    ['failed', 1],
    ['awaiting-approval', 4],
    ['cancelled', 6],
    ['interrupted', 130],
  ] as const)('%s exits %i', (status, code) => {
    expect(runExitCode(result(status))).toBe(code);
  });

  it('is 0 for a run that is done and for nothing else', () => {
    const statuses: RunResult['status'][] = ['ok', 'failed', 'awaiting-approval', 'cancelled', 'interrupted'];
    expect(statuses.filter((s) => runExitCode(result(s)) === 0)).toEqual(['ok']);
  });
});
