import { describe, expect, it } from 'vitest';
import { terminalProgress } from '../../src/cli/progress.ts';
import type { EngineEvent } from '../../src/core/events.ts';

const runId = 'run-1';
const events: EngineEvent[] = [
  { type: 'stage.started', runId, host: 'baard-entrance', stage: 'copy' },
  {
    type: 'stage.progress',
    runId,
    host: 'baard-entrance',
    stage: 'copy',
    source: 'peer:baard-kitchen',
    doneBytes: 5 * 1024 * 1024,
    totalBytes: 10 * 1024 * 1024,
  },
  {
    type: 'stage.finished',
    runId,
    host: 'baard-entrance',
    stage: 'copy',
    outcome: 'ok',
    durationMs: 1200,
    detail: '10 MiB from peers',
  },
  { type: 'log', runId, host: 'baard-entrance', message: 'peer baard-open-space left out: unreachable' },
];

function capture(isTTY: boolean) {
  let text = '';
  const progress = terminalProgress({ write: (t) => (text += t), isTTY, columns: 120 });
  for (const e of events) progress.onEvent(e);
  progress.done();
  return text;
}

describe('terminal progress', () => {
  it('writes one plain line per finished stage and log line when not on a terminal', () => {
    expect(capture(false)).toBe(
      'baard-entrance: copy ok in 1.2 s (10 MiB from peers)\n' +
        'baard-entrance: peer baard-open-space left out: unreachable\n',
    );
  });

  it('draws a bar per copy source on a terminal, redrawing in place', () => {
    const text = capture(true);
    expect(text).toContain('[##########..........] 5 MiB / 10 MiB from peer:baard-kitchen');
    expect(text).toContain('\x1b[J');
    expect(text).toMatch(/baard-entrance\s+copy\s+ok: 10 MiB from peers/);
  });
});
