// A file into a channel (or a thread) through Slack's current upload flow: files.getUploadURLExternal for an
// upload URL and a file ID, the bytes POSTed to that URL, then files.completeUploadExternal to share the file
// with its comment. Each step's failure says which step it was, so a refused channel reads differently from
// an upload that never arrived.
import type { webApi } from '@slack/bolt';
import type { VerbFile } from '../../verbs/verb.ts';

export interface UploadTarget {
  readonly channel: string;
  /** The message whose thread the file goes in. */
  readonly threadTs?: string | undefined;
  /** mrkdwn shown with the file. */
  readonly comment: string;
}

export class UploadError extends Error {
  override readonly name = 'UploadError';
  /** Slack's error code, when Slack gave one. */
  readonly code: string | undefined;
  constructor(message: string, code?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

const UPLOAD_TIMEOUT_MS = 60_000;

export async function uploadFile(
  client: Pick<webApi.WebClient, 'files'>,
  file: VerbFile,
  target: UploadTarget,
): Promise<{ fileId: string }> {
  let reserved: webApi.FilesGetUploadURLExternalResponse;
  try {
    reserved = await client.files.getUploadURLExternal({
      filename: file.name,
      length: file.bytes.length,
      alt_text: file.altText,
    });
  } catch (error) {
    throw new UploadError(
      `Slack gave no upload URL for ${file.name}: ${codeOf(error) ?? describe(error)}`,
      codeOf(error),
      {
        cause: error,
      },
    );
  }
  const { upload_url: url, file_id: fileId } = reserved;
  if (url === undefined || fileId === undefined)
    throw new UploadError(`Slack gave no upload URL for ${file.name}`);
  let answer: Response;
  try {
    answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(file.bytes),
      signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
  } catch (error) {
    throw new UploadError(`uploading ${file.name} to Slack failed: ${describe(error)}`, undefined, {
      cause: error,
    });
  }
  if (!answer.ok) throw new UploadError(`uploading ${file.name} to Slack failed: HTTP ${answer.status}`);
  try {
    await client.files.completeUploadExternal({
      files: [{ id: fileId, title: file.title }],
      channel_id: target.channel,
      ...(target.threadTs === undefined ? {} : { thread_ts: target.threadTs }),
      initial_comment: target.comment,
    });
  } catch (error) {
    throw new UploadError(
      `Slack did not share ${file.name}: ${codeOf(error) ?? describe(error)}`,
      codeOf(error),
      {
        cause: error,
      },
    );
  }
  return { fileId };
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { data?: { error?: unknown } }).data?.error;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
