// A screenshot as the file a verb's result carries: what the terminal writes and Slack uploads.
import type { Screenshot } from '../engine/screenshot.ts';
import type { VerbFile } from './verb.ts';

export function screenshotFile(shot: Screenshot): VerbFile {
  return {
    name: `${shot.host}.png`,
    bytes: shot.png,
    title: `${shot.host} screen`,
    altText: `What the screen of ${shot.host} showed at ${shot.takenAt}`,
  };
}
