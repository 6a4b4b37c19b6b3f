// The schedule's promises: a job never overlaps itself, a failing job is logged and runs again at its next
// tick, and stopping waits for a job in progress. The ticks are node-cron's own (one a second here); jobs are
// held by the test rather than timed, so a slow machine only makes the test wait longer.
import { describe, expect, it } from 'vitest';
import { startSchedule } from '../../src/scheduler/schedule.ts';
import { captureLog } from '../support/fake-slack/index.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('startSchedule', () => {
  it('skips a tick that comes while the job still runs, and says so', async () => {
    const log = captureLog();
    const g = gate();
    let started = 0;
    const schedule = startSchedule({
      log,
      jobs: [
        {
          name: 'slow',
          cron: '0 0 1 1 *',
          run: async () => {
            started += 1;
            await g.opened;
          },
        },
      ],
    });
    const first = schedule.runNow('slow');
    expect(await schedule.runNow('slow')).toBe('skipped');
    expect(started).toBe(1);
    g.open();
    expect(await first).toBe('ran');
    expect(await schedule.runNow('slow')).toBe('ran');
    expect(started).toBe(2);
    expect(log.text()).toContain('slow is still running from its previous tick; this tick is skipped');
    await schedule.stop();
  });

  it('logs a failing job and keeps it scheduled', async () => {
    const log = captureLog();
    let runs = 0;
    const schedule = startSchedule({
      log,
      jobs: [
        {
          name: 'flaky',
          cron: '0 0 1 1 *',
          run: async () => {
            runs += 1;
            throw new Error(`attempt ${runs} failed`);
          },
        },
      ],
    });
    expect(await schedule.runNow('flaky')).toBe('failed');
    expect(await schedule.runNow('flaky')).toBe('failed');
    expect(runs).toBe(2);
    expect(log.lines.filter((l) => l.startsWith('error schedule: flaky failed:'))).toEqual([
      'error schedule: flaky failed: attempt 1 failed',
      'error schedule: flaky failed: attempt 2 failed',
    ]);
    await schedule.stop();
  });

  it('runs on its ticks without overlapping, and stop waits for the run in progress', async () => {
    const log = captureLog();
    const g = gate();
    let started = 0;
    let finished = 0;
    const schedule = startSchedule({
      log,
      timezone: 'Europe/Oslo',
      jobs: [
        {
          name: 'every-second',
          cron: '* * * * * *',
          run: async () => {
            started += 1;
            // Held until the test lets go: the ticks that come meanwhile must not start it again.
            await g.opened;
            finished += 1;
          },
        },
      ],
    });
    const until = async (what: string, pred: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until('the first tick', () => started === 1);
    await until('a tick while the job runs', () => log.text().includes('this tick is skipped'));
    expect(started).toBe(1);

    let stopped = false;
    const stopping = schedule.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    g.open();
    await stopping;
    expect(finished).toBe(1);
    expect(started).toBe(1);
    expect(await schedule.runNow('every-second')).toBe('skipped');
    expect(log.text()).toContain('schedule: every-second at "* * * * * *" (Europe/Oslo)');
  });

  it('refuses to run a job it does not have', async () => {
    const schedule = startSchedule({ log: captureLog(), jobs: [] });
    await expect(schedule.runNow('nothing')).rejects.toThrow('no scheduled job nothing');
    await schedule.stop();
  });
});
