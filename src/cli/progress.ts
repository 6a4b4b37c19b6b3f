// Progress in a terminal: on a TTY, one live line per host (stage, and a bar per copy source) redrawn in
// place; elsewhere (a pipe, a log), one plain line per finished stage.
import { formatBytes, formatDuration } from '../core/bytes.ts';
import { outcomeSummary } from '../core/closure-diff-text.ts';
import type { EngineEvent } from '../core/events.ts';

export interface Output {
  write(text: string): void;
  readonly isTTY: boolean;
  readonly columns?: number | undefined;
}

interface HostLine {
  stage: string;
  note: string;
  copies: Map<string, { done: number; total: number }>;
}

function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * A line as rows that each fit the terminal (one column spare, so no row wraps by itself and the count of
 * rows to redraw stays true), continued under `indent` rather than cut off.
 */
export function fitRows(line: string, columns: number, indent: number): string[] {
  const room = Math.max(columns - 1, 10);
  const pad = Math.min(indent, Math.floor(room / 2));
  let chars = [...line];
  const rows = [chars.slice(0, room).join('')];
  chars = chars.slice(room);
  while (chars.length > 0) {
    rows.push(' '.repeat(pad) + chars.slice(0, room - pad).join(''));
    chars = chars.slice(room - pad);
  }
  return rows;
}

export function terminalProgress(out: Output): { onEvent: (e: EngineEvent) => void; done: () => void } {
  const hosts = new Map<string, HostLine>();
  let drawn = 0;
  let last = 0;
  const lineOf = (host: string) => {
    let l = hosts.get(host);
    if (!l) {
      l = { stage: 'waiting', note: '', copies: new Map() };
      hosts.set(host, l);
    }
    return l;
  };
  const render = () => {
    const width = Math.max(...[...hosts.keys()].map((h) => h.length), 4);
    // Read at every redraw: the terminal may have been resized since the last one.
    const cols = out.columns ?? 100;
    const lines: string[] = [];
    for (const [host, l] of hosts) {
      // The first line of a long note only: the result below the bars gives the rest.
      const note = l.note.split('\n')[0]!;
      lines.push(...fitRows(`${host.padEnd(width)}  ${l.stage.padEnd(8)} ${note}`, cols, width + 12));
      for (const [source, c] of l.copies) {
        lines.push(
          ...fitRows(
            `${' '.repeat(width)}    ${bar(c.done, c.total)} ${formatBytes(c.done)} / ${formatBytes(c.total)} from ${source}`,
            cols,
            width + 4,
          ),
        );
      }
    }
    // Move up over what was drawn before, clear it, draw anew.
    out.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}\x1b[J${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const redraw = (force = false) => {
    const now = Date.now();
    if (force || now - last > 100) {
      last = now;
      render();
    }
  };

  const onEvent = (e: EngineEvent) => {
    if (!out.isTTY) {
      if (e.type === 'stage.finished') {
        out.write(
          `${e.host}: ${e.stage} ${e.outcome} in ${formatDuration(e.durationMs)}${e.detail ? ` (${e.detail})` : ''}\n`,
        );
      } else if (e.type === 'diff.ready') {
        out.write(`${e.host}: changes: ${outcomeSummary(e.diff)}\n`);
      } else if (e.type === 'log') {
        out.write(`${e.host ? `${e.host}: ` : ''}${e.message}\n`);
      }
      return;
    }
    switch (e.type) {
      case 'stage.started':
        Object.assign(lineOf(e.host), { stage: e.stage, note: '…' });
        break;
      case 'stage.progress':
        lineOf(e.host).copies.set(e.source, { done: e.doneBytes, total: e.totalBytes });
        break;
      case 'stage.finished':
        Object.assign(lineOf(e.host), {
          stage: e.stage,
          note: `${e.outcome}${e.detail ? `: ${e.detail}` : ''}`,
        });
        break;
      case 'diff.ready': {
        const l = lineOf(e.host);
        l.note = `${l.note} · changes: ${outcomeSummary(e.diff)}`;
        break;
      }
      case 'approval.requested':
        Object.assign(lineOf(e.host), { stage: 'restart', note: e.question });
        break;
      default:
        return;
    }
    redraw(e.type !== 'stage.progress');
  };
  return {
    onEvent,
    done: () => {
      if (hosts.size > 0 && out.isTTY) render();
    },
  };
}
