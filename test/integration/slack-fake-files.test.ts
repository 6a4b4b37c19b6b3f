// The fake Slack's file upload flow and Home tab, driven without Bolt through the bot's own upload code and
// plain calls: the fake must refuse what Slack refuses (an unknown file ID, bytes that never arrived or are not
// the declared size, a channel the bot is not in, a Home view over 100 blocks) for the bot's tests to mean
// anything.
import { webApi } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { type UploadError, uploadFile } from '../../src/slack/files/upload.ts';
import { FAKE_TOKENS, FakeSlack } from '../support/fake-slack/index.ts';

let fake: FakeSlack | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

const client = (f: FakeSlack) =>
  new webApi.WebClient(FAKE_TOKENS.bot, { slackApiUrl: f.apiUrl, retryConfig: { retries: 0 } });

const FILE = { name: 'a.png', bytes: new Uint8Array([1, 2, 3, 4, 5]), title: 'a screen', altText: 'a' };

async function refusal(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return (
      (error as { data?: { error?: string } }).data?.error ?? (error as UploadError).code ?? String(error)
    );
  }
  return undefined;
}

describe('the fake file upload flow', () => {
  it('shares a file uploaded in three steps, in a channel or a thread', async () => {
    fake = await FakeSlack.start();
    const c = client(fake);
    const { fileId } = await uploadFile(c, FILE, { channel: 'C0SCREENS', comment: 'here' });
    const [file] = fake.files();
    expect(file).toMatchObject({ id: fileId, filename: 'a.png', length: 5, title: 'a screen', altText: 'a' });
    expect([...file!.bytes!]).toEqual([1, 2, 3, 4, 5]);
    expect(file!.shared).toEqual({ channel: 'C0SCREENS', threadTs: undefined, comment: 'here' });
    expect(fake.messages('C0SCREENS').at(-1)?.files).toEqual([fileId]);
  });

  it('refuses an unknown file ID, a missing upload, the wrong size, a second completion', async () => {
    fake = await FakeSlack.start();
    const c = client(fake);
    const complete = (id: string) =>
      c.files.completeUploadExternal({ files: [{ id }], channel_id: 'C0SCREENS' });
    expect(await refusal(complete('F0NOSUCH'))).toBe('file_not_found');

    const reserved = await c.files.getUploadURLExternal({ filename: 'b.png', length: 5 });
    expect(await refusal(complete(reserved.file_id!))).toBe('file_upload_not_received');

    const short = await c.files.getUploadURLExternal({ filename: 'c.png', length: 5 });
    expect((await fetch(short.upload_url!, { method: 'POST', body: Buffer.from([1, 2]) })).status).toBe(200);
    expect(await refusal(complete(short.file_id!))).toBe('file_upload_size_mismatch');
    // The upload URL takes one upload.
    expect((await fetch(short.upload_url!, { method: 'POST', body: Buffer.from([1]) })).status).toBe(404);

    expect(await refusal(c.files.getUploadURLExternal({ filename: 'd.png', length: 0 }))).toBe(
      'invalid_arguments',
    );
    await uploadFile(c, FILE, { channel: 'C0SCREENS', comment: '' });
    const done = fake.files().at(-1)!.id;
    expect(await refusal(complete(done))).toBe('file_not_found');
  });

  it('refuses to share in a channel the bot is not in, and in a thread that does not exist', async () => {
    fake = await FakeSlack.start({ channels: { G0HIDDEN: { private: true, botMember: false } } });
    const c = client(fake);
    const hidden = await refusal(uploadFile(c, FILE, { channel: 'G0HIDDEN', comment: '' }));
    expect(hidden).toBe('channel_not_found');
    expect(fake.files().every((f) => f.shared === undefined)).toBe(true);
    const thread = await refusal(
      uploadFile(c, FILE, { channel: 'C0SCREENS', threadTs: '1.000001', comment: '' }),
    );
    expect(thread).toBe('thread_not_found');
  });
});

describe('the fake Home tab', () => {
  const view = (n: number) => ({
    type: 'home',
    blocks: Array.from({ length: n }, (_, i) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: `line ${i}` },
    })),
  });

  it('keeps the view published to each user, up to 100 blocks', async () => {
    fake = await FakeSlack.start();
    const c = client(fake);
    await c.views.publish({ user_id: 'U0VICTOR', view: view(100) as never });
    expect(fake.homeView('U0VICTOR')?.blocks).toHaveLength(100);
    expect(await refusal(c.views.publish({ user_id: 'U0VICTOR', view: view(101) as never }))).toBe(
      'invalid_blocks',
    );
    expect(fake.violations).toEqual([expect.stringMatching(/101 blocks; the limit is 100/)]);
  });

  it('refuses a Home view when the Home tab is off', async () => {
    fake = await FakeSlack.start({ homeTabEnabled: false });
    expect(await refusal(client(fake).views.publish({ user_id: 'U0VICTOR', view: view(1) as never }))).toBe(
      'not_enabled',
    );
  });
});
