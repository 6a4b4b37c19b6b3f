// `show HOST`: what the host's screen shows, as a PNG from its screenshot command (configuration: screenshot).
// Read-only. In Slack the image is posted in the channel (in a mention's thread); a terminal writes it to the
// file given by `--output`, or to stdout when that is not a terminal.
import { z } from 'zod';
import type { Screenshot } from '../src/engine/screenshot.ts';
import { context, escapeMrkdwn, message, section, slackDate } from '../src/slack/blocks/kit.ts';
import { selector } from '../src/verbs/args.ts';
import { defineVerb } from '../src/verbs/define.ts';
import { screenshotFile } from '../src/verbs/screenshot-file.ts';

const host = z
  .array(z.string())
  .length(1, { error: 'name one host: a screenshot is of one screen' })
  .pipe(
    z.tuple([
      selector.refine((s) => s !== 'all' && !s.startsWith('@'), {
        error: 'name one host, not a tag or all: a screenshot is of one screen',
      }),
    ]),
  );

function summary(shot: Screenshot): string {
  return `${shot.host}: ${shot.width}×${shot.height} PNG, ${shot.png.length} bytes, taken ${shot.takenAt}`;
}

export default defineVerb({
  name: 'show',
  summary: "a screenshot of what a host's screen shows",
  usage: '<host>',
  access: 'view',
  options: {},
  schema: z
    .object({ positionals: host, values: z.object({}).strict() })
    .transform(({ positionals }) => ({ host: positionals[0] })),
  run: (ctx, args) => ctx.engine.screenshot(args.host, ctx),
  exitCode: () => 0,
  renderText: summary,
  renderJson: (shot) => ({
    host: shot.host,
    width: shot.width,
    height: shot.height,
    bytes: shot.png.length,
    takenAt: shot.takenAt,
  }),
  renderSlack: (shot) => {
    const line = `🖥️ *${escapeMrkdwn(shot.host)}* shows this`;
    return message(`${shot.host}: what the screen shows`, [
      section(line),
      context(`${shot.width}×${shot.height}, taken ${slackDate(new Date(shot.takenAt))}`),
    ]);
  },
  file: screenshotFile,
});
