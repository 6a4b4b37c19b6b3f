import { describe, expect, it } from 'vitest';
import { fitRows, terminalProgress } from '../../src/cli/progress.ts';
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

describe('terminal progress in a narrow terminal', () => {
  it('continues a long line on the next rows instead of cutting it off, and redraws over all of them', () => {
    let text = '';
    let columns = 40;
    const progress = terminalProgress({
      write: (t) => (text += t),
      isTTY: true,
      get columns() {
        return columns;
      },
    });
    const detail = 'copied 10 MiB from baard-kitchen and 2 MiB over the uplink\nsecond line of a long detail';
    progress.onEvent({ type: 'stage.started', runId, host: 'baard-entrance', stage: 'copy' });
    progress.onEvent({
      type: 'stage.finished',
      runId,
      host: 'baard-entrance',
      stage: 'copy',
      outcome: 'ok',
      durationMs: 1200,
      detail,
    });
    const last = text.slice(text.lastIndexOf('\x1b[J') + 3);
    const rows = last.split('\n').filter((r) => r !== '');
    expect(rows.every((r) => [...r].length <= 39)).toBe(true);
    // Every word of the note's first line is there, in order, across the rows.
    expect(rows.map((r) => r.trim()).join(' ')).toContain('2 MiB over');
    expect(rows.join('')).toContain('uplink');
    expect(last).not.toContain('second line');
    // The next redraw moves up over every row it drew, and follows a resize.
    columns = 200;
    progress.done();
    expect(text).toContain(`\x1b[${rows.length}F`);
    expect(
      text
        .slice(text.lastIndexOf('\x1b[J') + 3)
        .split('\n')
        .filter((r) => r !== ''),
    ).toHaveLength(1);
  });
});

describe('fitRows', () => {
  it('splits on code points, never past the width', () => {
    const rows = fitRows('é'.repeat(25), 11, 2);
    expect(rows).toEqual(['éééééééééé', '  éééééééé', '  ééééééé']);
  });
});

describe('terminal progress of what a deploy changes', () => {
  const diff: EngineEvent = {
    type: 'diff.ready',
    runId,
    host: 'baard-entrance',
    diff: {
      known: true,
      diff: {
        from: null,
        to: '/nix/store/0c8cqv3m2mbghq2k8nnynvq4hc9h2b3n-nixos-system-baard-entrance-1',
        changes: [],
        counts: { added: 2, removed: 0, upgraded: 1, downgraded: 0, changed: 0 },
        rebuilt: 0,
        pathsAdded: 3,
        pathsRemoved: 0,
        bytesBefore: 0,
        bytesAfter: 2048,
      },
    },
  };
  const planned: EngineEvent = {
    type: 'stage.finished',
    runId,
    host: 'baard-entrance',
    stage: 'plan',
    outcome: 'ok',
    durationMs: 300,
    detail: '0 B present',
  };

  it('says it on a line of its own in a log, and beside the plan on a terminal', () => {
    for (const isTTY of [false, true]) {
      let text = '';
      const progress = terminalProgress({ write: (t) => (text += t), isTTY, columns: 200 });
      progress.onEvent(planned);
      progress.onEvent(diff);
      progress.done();
      const said = 'changes: 1 upgraded, 2 added · no system running yet · 0 B → 2 KiB (+2 KiB)';
      if (isTTY)
        expect(text).toMatch(new RegExp(`plan\\s+ok: 0 B present · ${said.replace(/[+()]/g, '\\$&')}`));
      else expect(text).toContain(`baard-entrance: ${said}\n`);
    }
  });
});
