// What the screens show and the fleet at a glance, end to end: the real bot (Bolt, engine, schedule) against
// the fake Slack on the office. Each host's screenshot command is the office's own (a real PNG drawing the name
// of the system the host runs), so a screenshot read back tells the system before a deploy from the one after,
// checked against the host itself. Screenshots come on request (slash command, mention, the Home tab's button,
// the terminal) and by themselves in a run's thread after a confirmed switch and after a restart; a host whose
// command prints something else, or hangs, gets a clear message. The Home tab is published from a cache that
// the end of each run refreshes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOW_SCREEN_ACTION } from '../../src/slack/home/view.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import { decodePng, readText } from '../office/png.ts';
import { SCREENSHOT_COMMAND } from '../office/screenshot.ts';
import type { FakeFile, FakeSlack } from '../support/fake-slack/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';
import {
  ALICE,
  CHANNEL,
  FAKE_DIRECTORY,
  hasButtons,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const ROOT = join(import.meta.dirname, '..', '..');
const [A, B, C] = ['baard-entrance', 'baard-kitchen', 'baard-lobby'];
const PRIVATE = 'G0HIDDEN';

describe.skipIf(unavailable !== null)('screenshots and the Home tab', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let scratch: string;

  /** What a screenshot shows: the text drawn into it, read back from the PNG's pixels. */
  const shown = (file: FakeFile | undefined) => {
    expect(file?.bytes, 'the file was uploaded').toBeDefined();
    expect(file!.bytes!.length).toBe(file!.length);
    return readText(decodePng(file!.bytes!));
  };
  /** The name of the system the host runs, asked of the host itself. */
  const runningOn = async (host: string) => {
    const out = await office.onHost(host, ['readlink', '/run/current-system']);
    return out.exitCode === 0 ? basename(out.stdout.trim()) : 'no-system';
  };
  const sharedIn = (channel: string, threadTs?: string) =>
    fake.files().filter((f) => f.shared?.channel === channel && f.shared.threadTs === threadTs);
  const questionFor = (host: string) =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(host));

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B, C], scale: 0.1 },
      fake: { ...FAKE_DIRECTORY, channels: { [PRIVATE]: { private: true, botMember: false } } },
      bot: {
        // Generous: the office's command starts a Node process on a loaded machine.
        screenshot: { command: [SCREENSHOT_COMMAND], settleSeconds: 0, timeoutSeconds: 60 },
        // Prints an error message instead of an image, as grim does without a display.
        hostScreenshot: (h) =>
          h === C ? ['echo', 'grim: failed to connect to the Wayland display'] : undefined,
      },
    }));
    scratch = mkdtempSync(join(tmpdir(), 'signage-screens-'));
  });
  afterAll(async () => {
    await stopSlackOfficeSet({ bot, fake, office });
    if (scratch?.startsWith(join(tmpdir(), 'signage-screens-')))
      rmSync(scratch, { recursive: true, force: true });
  });

  it('posts what a screen shows on /signage show, read from the host itself', async () => {
    const { ack, latencyMs } = await fake.sendSlashCommand({
      user: VICTOR,
      channel: CHANNEL,
      text: `show ${A}`,
    });
    expect(ack?.text).toBeUndefined();
    expect(latencyMs).toBeLessThan(3000);
    await fake.until(() => sharedIn(CHANNEL).length === 1, { timeoutMs: 90_000, what: 'the screenshot' });
    await bot.bot.slack.settled();
    const [file] = sharedIn(CHANNEL);
    expect(shown(file)).toBe(await runningOn(A));
    expect(shown(file)).toBe('no-system');
    expect(file!.filename).toBe(`${A}.png`);
    expect(file!.shared!.comment).toBe(`${A}: what the screen shows · asked by <@${VICTOR}>`);
    // The upload went through Slack's three steps, in order.
    const steps = fake
      .calls()
      .filter((c) => c.method.startsWith('files.'))
      .map((c) => c.method);
    expect(steps).toEqual(['files.getUploadURLExternal', 'files.completeUploadExternal']);
    expect(fake.violations).toEqual([]);
  });

  it('shows the new system in the run thread once it is confirmed, and again after the restart', async () => {
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A}` });
    await fake.until(() => questionFor(A) !== undefined, {
      timeoutMs: 180_000,
      what: 'the restart question',
    });
    const thread = questionFor(A)!.threadTs!;
    await fake.until(() => sharedIn(CHANNEL, thread).length === 1, {
      timeoutMs: 90_000,
      what: 'the screenshot',
    });
    const [confirmed] = sharedIn(CHANNEL, thread);
    const first = await runningOn(A);
    expect(first).toMatch(new RegExp(`^[0-9a-z]{32}-nixos-system-${A}`));
    expect(shown(confirmed)).toBe(first);
    expect(confirmed!.shared!.comment).toContain('after its new system was confirmed');

    await fake.clickButton({
      user: ALICE,
      channel: CHANNEL,
      ts: questionFor(A)!.ts,
      actionId: 'restart_approve',
    });
    await fake.until(() => sharedIn(CHANNEL, thread).length === 2, {
      timeoutMs: 90_000,
      what: 'the second screenshot',
    });
    await bot.bot.slack.settled();
    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
    const restarted = sharedIn(CHANNEL, thread)[1]!;
    expect(restarted.shared!.comment).toContain('after the display manager restarted');
    expect(shown(restarted)).toBe(first);

    // A new revision: the screenshot after tells it from the one before.
    await office.fleet.setRevision(2);
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `switch ${A}` });
    await fake.until(
      () =>
        bot.bot.composed.store.recentRuns({ limit: 5 }).some((r) => r.verb === 'switch' && r.status === 'ok'),
      { timeoutMs: 180_000, what: 'the switch' },
    );
    await bot.bot.slack.settled();
    const second = await runningOn(A);
    expect(second).not.toBe(first);
    const switchThread = fake
      .messages(CHANNEL)
      .filter((m) => m.threadTs === undefined && m.text.startsWith('Switch'))
      .at(-1)!.ts;
    const after = sharedIn(CHANNEL, switchThread);
    expect(after).toHaveLength(1);
    expect(shown(after[0])).toBe(second);
    expect(fake.violations).toEqual([]);
  }, 400_000);

  it('answers @signage show in the mention thread', async () => {
    const { ts } = await fake.mention({
      user: VICTOR,
      channel: CHANNEL,
      text: `<@${fake.botUserId}> show ${B}`,
    });
    await fake.until(() => sharedIn(CHANNEL, ts).length === 1, { timeoutMs: 90_000, what: 'the screenshot' });
    expect(shown(sharedIn(CHANNEL, ts)[0])).toBe(await runningOn(B));
  });

  it('says so privately when a host prints something that is not an image, and uploads nothing', async () => {
    const before = fake.files().length;
    await fake.sendSlashCommand({ user: VICTOR, channel: CHANNEL, text: `show ${C}` });
    await fake.until(() => fake.ephemerals({ user: VICTOR }).length > 0, {
      timeoutMs: 90_000,
      what: 'the answer',
    });
    await bot.bot.slack.settled();
    const said = fake.ephemerals({ user: VICTOR }).at(-1)!;
    expect(JSON.stringify(said.blocks)).toContain(
      'did not give a screenshot: it printed something that is not a PNG: \\"grim: failed to connect to the Wayland display.\\"',
    );
    expect(fake.files()).toHaveLength(before);
  });

  it('tells the requester how to fix it when the bot may not post where the show was asked', async () => {
    const before = fake.ephemerals({ user: VICTOR }).length;
    await fake.sendSlashCommand({ user: VICTOR, channel: PRIVATE, text: `show ${A}` });
    await fake.until(() => fake.ephemerals({ user: VICTOR }).length > before, {
      timeoutMs: 90_000,
      what: 'the answer',
    });
    await bot.bot.slack.settled();
    const said = fake.ephemerals({ user: VICTOR }).at(-1)!;
    expect(said.text).toMatch(/could not be posted here/);
    expect(JSON.stringify(said.blocks)).toContain('channel_not_found');
    expect(JSON.stringify(said.blocks)).toContain('/invite @signage');
    // Uploaded, never shared: nobody sees a half-posted screenshot.
    expect(fake.files().filter((f) => f.shared?.channel === PRIVATE)).toEqual([]);
  });

  it('publishes the fleet in the Home tab from its cache, refreshed when a run ends', async () => {
    const homeLooks = () =>
      bot.bot.composed.store
        .auditLog({ host: B, limit: 500 })
        .filter((e) => e.actor.kind === 'schedule' && e.actor.job === 'app-home').length;
    const { latencyMs } = await fake.openHome(VICTOR);
    expect(latencyMs).toBeLessThan(3000);
    await bot.bot.slack.settled();
    const view = JSON.stringify(fake.homeView(VICTOR)?.blocks);
    expect(view).toContain('3 screens');
    expect(view).toContain(`*${A}* · in sync\\nruns \`${versionOf(await runningOn(A))}\``);
    expect(view).toContain(`last switch *ok* by <@${ALICE}>`);
    expect(view).toMatch(/free on \/nix/);
    expect(view).toContain(`*${B}* · no system`);
    expect(view).toContain(`${SHOW_SCREEN_ACTION}${A}`);
    const looked = homeLooks();
    expect(looked).toBe(1);

    // Opening again publishes from the cache: no host is asked.
    const published = fake.homeView(VICTOR)!.count;
    await fake.openHome(VICTOR);
    await bot.bot.slack.settled();
    expect(fake.homeView(VICTOR)!.count).toBe(published + 1);
    expect(homeLooks()).toBe(looked);

    // A run ends: the tab of whoever opened it recently is published again, without their opening it.
    const publishes = fake.calls('views.publish').length;
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `switch ${B}` });
    await fake.until(() => JSON.stringify(fake.homeView(VICTOR)?.blocks).includes(`*${B}* · in sync`), {
      timeoutMs: 180_000,
      what: 'the Home tab after the run',
    });
    await bot.bot.slack.settled();
    // From the run's last message update to the tab showing its end, on the fake's one clock.
    const runMessage = fake
      .messages(CHANNEL)
      .filter((m) => m.threadTs === undefined && m.text.startsWith('Switch'))
      .at(-1)!;
    const lagMs =
      fake.homeView(VICTOR)!.at - (runMessage.updateTimes.at(-1) ?? runMessage.updateTimes[0] ?? 0);
    expect(homeLooks()).toBe(looked + 1);
    // One viewer, one run: one publish (coalesced), not one per event of the run.
    const afterRun = fake.calls('views.publish').length - publishes;
    expect(afterRun).toBe(1);
    process.stderr.write(
      `home tab: ${fake.calls('views.publish').length} views.publish in all, ${afterRun} after the run; ` +
        `published ${Math.round(lagMs)} ms after the run's last message update; ` +
        `${fake.rateLimited('views.publish').length} rate-limited\n`,
    );
    expect(fake.rateLimited('views.publish')).toEqual([]);
    expect(fake.violations).toEqual([]);
  }, 400_000);

  it("posts a host's screen in the fleet channel from the Home tab's button", async () => {
    const before = sharedIn(CHANNEL).length;
    const click = await fake.clickHomeButton({ user: VICTOR, actionId: `${SHOW_SCREEN_ACTION}${B}` });
    expect(click.latencyMs).toBeLessThan(3000);
    await fake.until(() => sharedIn(CHANNEL).length === before + 1, {
      timeoutMs: 90_000,
      what: 'the screenshot',
    });
    const file = sharedIn(CHANNEL).at(-1)!;
    expect(shown(file)).toBe(await runningOn(B));
    expect(file.shared!.comment).toContain(`asked by <@${VICTOR}> from the Home tab`);
  });

  it('writes the PNG to --output at a terminal, and names a hanging command', async () => {
    const signage = (file: string, host: string, out: string) =>
      execa(
        process.execPath,
        [join(ROOT, 'bin', 'signage.ts'), '--config', file, 'show', host, '--output', out],
        {
          reject: false,
          stdin: 'ignore',
        },
      );
    const cfg = officeConfig(office, { screenshot: { command: [SCREENSHOT_COMMAND], timeoutSeconds: 60 } });
    // A command that never ends, held to a short time.
    const hanging = officeConfig(office, {
      screenshot: { timeoutSeconds: 2 },
      hostScreenshot: (h) => (h === C ? ['sleep', '30'] : undefined),
    });
    try {
      const out = join(scratch, 'a.png');
      const ok = await signage(cfg.file, A, out);
      expectExit(ok, 0);
      expect(ok.stderr).toMatch(new RegExp(`wrote ${A}\\.png \\(\\d+ bytes\\) to ${out}`));
      expect(readText(decodePng(readFileSync(out)))).toBe(await runningOn(A));

      const hung = await signage(hanging.file, C, join(scratch, 'c.png'));
      expectExit(hung, 1);
      expect(hung.stderr).toContain(
        `${C}: the screenshot command \`sleep 30\` did not finish within 2 s and was stopped`,
      );
      // Nothing is left running on the host, and no file was written.
      const ps = await office.onHost(C, ['ps', '-eo', 'args']);
      expect(ps.stdout).not.toMatch(/^sleep 30$/m);
      expect(() => readFileSync(join(scratch, 'c.png'))).toThrow(/ENOENT/);
    } finally {
      cfg.cleanup();
      hanging.cleanup();
    }
  }, 300_000);
});

/** A system's name as the Home tab shows it: without its hash and the nixos-system- prefix. */
function versionOf(system: string): string {
  return system.replace(/^[0-9a-z]{32}-/, '').replace(/^nixos-system-/, '');
}
