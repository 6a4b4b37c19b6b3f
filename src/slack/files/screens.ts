// Screenshots in Slack: on request (`/signage show HOST`, `@signage show HOST`, the Home tab's Show screen
// button), and by themselves in a run's thread after a host's new system is confirmed and after its display
// manager restarted, so the people who approved a deploy see what the screen shows now. A screenshot that
// cannot be taken or posted is said where the screenshot would have gone, in words.
import type { EngineEvent } from '../../core/events.ts';
import type { HostSpec } from '../../core/types.ts';
import type { Engine } from '../../engine/engine.ts';
import { hintOf } from '../../engine/errors.ts';
import { screenshotFile } from '../../verbs/screenshot-file.ts';
import type { SlackMessage, VerbFile } from '../../verbs/verb.ts';
import type { SlackApp } from '../app.ts';
import { errorMessage } from '../blocks/error.ts';
import { escapeMrkdwn } from '../blocks/kit.ts';
import type { LogSink } from '../bolt-logger.ts';
import type { RunMessages } from '../run-messages.ts';
import { UploadError, uploadFile } from './upload.ts';

export const SCREENSHOT_JOB = 'screenshot';

export interface ScreensOptions {
  readonly app: Pick<SlackApp, 'client'>;
  readonly engine: Pick<Engine, 'screenshot'>;
  readonly hosts: readonly HostSpec[];
  readonly runMessages: Pick<RunMessages, 'threadOf' | 'reply'>;
  readonly log: LogSink;
  /** Screenshots in a run's thread after a confirmed change (screenshot.afterChange). */
  readonly afterChange: boolean;
  /** How long the screen is given to draw first (screenshot.settleSeconds). */
  readonly settleMs: number;
}

export interface Screens {
  /** Posts `file` in `channel` (in a thread with `threadTs`), with `comment`. */
  post(
    file: VerbFile,
    where: { channel: string; threadTs?: string | undefined; comment: string },
  ): Promise<void>;
  /** A run's event: a confirmed switch or rollback, or a restart, brings a screenshot into its thread. */
  observe(event: EngineEvent): void;
  /** Resolves once every screenshot in flight has been posted (or its failure said). */
  settled(): Promise<void>;
}

/** Why a verb's file could not be posted, for the person who asked. */
export function uploadProblem(file: VerbFile, error: unknown): SlackMessage {
  return screenshotProblem(file.title, error);
}

/** Why a screenshot or its upload failed, for the person who asked. */
export function screenshotProblem(host: string, error: unknown): SlackMessage {
  if (error instanceof UploadError) {
    const notIn = error.code === 'channel_not_found' || error.code === 'not_in_channel';
    return errorMessage({
      summary: `The screenshot (${host}) could not be posted here.`,
      detail: error.message,
      next: notIn
        ? 'Invite the bot to this channel (`/invite @signage`), or ask in a channel it is in.'
        : error.code === 'missing_scope'
          ? 'The app lacks the files:write scope: update it from manifest.yml and reinstall it (docs/slack.md).'
          : "Try again; the bot's log has the details.",
    });
  }
  return errorMessage({
    summary: `No screenshot of ${host}.`,
    detail: error instanceof Error ? error.message : String(error),
    next: hintOf(error) ?? "Try again; the bot's log has the details.",
  });
}

const CHANGES: Readonly<Record<string, string>> = {
  switch: 'after its new system was confirmed',
  rollback: 'after the rollback was confirmed',
  restart: 'after the display manager restarted',
};

export function createScreens(options: ScreensOptions): Screens {
  const { app, engine, log, runMessages } = options;
  const withCommand = new Set(options.hosts.filter((h) => h.screenshot !== undefined).map((h) => h.name));
  const pending = new Set<Promise<void>>();

  async function post(
    file: VerbFile,
    where: { channel: string; threadTs?: string | undefined; comment: string },
  ) {
    await uploadFile(app.client, file, where);
  }

  async function afterChange(runId: string, host: string, why: string): Promise<void> {
    if (options.settleMs > 0) await new Promise((r) => setTimeout(r, options.settleMs));
    const thread = await runMessages.threadOf(runId);
    if (thread === undefined) return;
    try {
      const shot = await engine.screenshot(host, {
        actor: { kind: 'schedule', job: SCREENSHOT_JOB },
        onEvent: () => {},
      });
      await post(screenshotFile(shot), {
        channel: thread.channel,
        threadTs: thread.ts,
        comment: `🖥️ *${escapeMrkdwn(host)}* ${why}: what the screen shows (${shot.width}×${shot.height})`,
      });
    } catch (error) {
      log.warn(
        `run ${runId}: no screenshot of ${host} ${why}:`,
        error instanceof Error ? error.message : String(error),
      );
      await runMessages.reply(runId, screenshotProblem(host, error));
    }
  }

  return {
    post,
    observe(event) {
      if (!options.afterChange || event.type !== 'stage.finished' || event.outcome !== 'ok') return;
      const why = CHANGES[event.stage];
      if (why === undefined || !withCommand.has(event.host)) return;
      const work = afterChange(event.runId, event.host, why).catch((error: unknown) => {
        log.warn(`run ${event.runId}: the screenshot of ${event.host} was not posted:`, error);
      });
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
