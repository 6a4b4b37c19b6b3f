// Runs jobs on cron expressions (node-cron, in the configured time zone). A job never overlaps itself: a tick
// that comes while the previous run is still going is skipped and logged. A failing job is logged and runs
// again at its next tick; nothing it throws reaches the process.
import { createTask, type ScheduledTask } from 'node-cron';

/** Where the schedule logs; the bot's logger fits. */
export interface ScheduleLog {
  debug(...parts: unknown[]): void;
  info(...parts: unknown[]): void;
  warn(...parts: unknown[]): void;
  error(...parts: unknown[]): void;
}

export interface Job {
  /** For the log, and for `runNow`. */
  readonly name: string;
  readonly cron: string;
  readonly run: () => Promise<unknown>;
}

export interface Schedule {
  /** Runs a job now, as its tick would (skipped if it is running); resolves when it is done. */
  runNow(name: string): Promise<'ran' | 'failed' | 'skipped'>;
  /** Stops the ticks and waits for running jobs to finish. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  readonly jobs: readonly Job[];
  /** IANA time zone the expressions are read in; the system's when absent. */
  readonly timezone?: string | undefined;
  readonly log: ScheduleLog;
}

export function startSchedule(options: ScheduleOptions): Schedule {
  const { log } = options;
  const running = new Map<string, Promise<'ran' | 'failed'>>();
  const tasks: ScheduledTask[] = [];
  let stopped = false;

  function trigger(job: Job): Promise<'ran' | 'failed' | 'skipped'> {
    if (stopped) return Promise.resolve('skipped');
    if (running.has(job.name)) {
      log.warn(`schedule: ${job.name} is still running from its previous tick; this tick is skipped`);
      return Promise.resolve('skipped');
    }
    const started = Date.now();
    const done = (async (): Promise<'ran' | 'failed'> => {
      try {
        await job.run();
        log.debug(`schedule: ${job.name} done in ${Date.now() - started} ms`);
        return 'ran';
      } catch (error) {
        log.error(`schedule: ${job.name} failed:`, error instanceof Error ? error.message : String(error));
        return 'failed';
      } finally {
        running.delete(job.name);
      }
    })();
    running.set(job.name, done);
    return done;
  }

  const cronLogger = {
    info: (m: string) => log.debug(`schedule: ${m}`),
    warn: (m: string) => log.warn(`schedule: ${m}`),
    error: (m: string | Error) => log.error(`schedule: ${m instanceof Error ? m.message : m}`),
    debug: (m: string | Error) => log.debug(`schedule: ${m instanceof Error ? m.message : m}`),
  };
  for (const job of options.jobs) {
    const task = createTask(
      job.cron,
      () => {
        // node-cron awaits what it is given; the job's own guard decides, so nothing is returned to it.
        void trigger(job);
      },
      {
        name: job.name,
        logger: cronLogger,
        ...(options.timezone === undefined ? {} : { timezone: options.timezone }),
      },
    );
    tasks.push(task);
  }
  for (const task of tasks) void task.start();
  log.info(
    `schedule: ${options.jobs.map((j) => `${j.name} at "${j.cron}"`).join(', ') || 'no jobs'}` +
      (options.timezone === undefined ? '' : ` (${options.timezone})`),
  );

  let stopping: Promise<void> | undefined;
  return {
    runNow(name) {
      const job = options.jobs.find((j) => j.name === name);
      if (job === undefined) return Promise.reject(new Error(`no scheduled job ${name}`));
      return trigger(job);
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        await Promise.all(tasks.map((task) => task.destroy()));
        await Promise.all([...running.values()]);
      })();
      return stopping;
    },
  };
}
