// Slack's file upload flow as the fake enforces it: files.getUploadURLExternal hands out a file ID and an
// upload URL for a declared size; the bytes are POSTed to that URL; files.completeUploadExternal shares the
// uploaded files in a channel (or a thread). Completing an unknown ID, one whose bytes never arrived, one
// whose bytes are not the declared size, or one already completed is refused, and so is a channel the bot
// may not post in.
import type { Json } from './records.ts';

export interface FakeFile {
  readonly id: string;
  readonly filename: string;
  readonly length: number;
  readonly altText: string | undefined;
  bytes: Buffer | undefined;
  title: string | undefined;
  /** Where it was shared, once completed. */
  shared:
    | { readonly channel: string; readonly threadTs: string | undefined; readonly comment: string }
    | undefined;
}

/** Slack's largest upload is 1 GB; the fake refuses anything declared above it. */
const MAX_LENGTH = 1_000_000_000;

export class FakeFiles {
  readonly #files = new Map<string, FakeFile>();
  #counter = 0;

  list(): FakeFile[] {
    return [...this.#files.values()];
  }

  /** files.getUploadURLExternal. */
  reserve(args: Json, uploadBase: string): { error: string } | { id: string; url: string } {
    const filename = args.filename;
    const length = Number(args.length);
    if (typeof filename !== 'string' || filename === '') return { error: 'invalid_arguments' };
    if (!Number.isInteger(length) || length <= 0 || length > MAX_LENGTH)
      return { error: 'invalid_arguments' };
    const id = `F0FAKE${String(++this.#counter).padStart(5, '0')}`;
    this.#files.set(id, {
      id,
      filename,
      length,
      altText:
        typeof args.alt_text === 'string'
          ? args.alt_text
          : typeof args.alt_txt === 'string'
            ? args.alt_txt
            : undefined,
      bytes: undefined,
      title: undefined,
      shared: undefined,
    });
    return { id, url: `${uploadBase}${id}` };
  }

  /** The POST to the upload URL: 200 for a known file, 404 otherwise (the URL is single-use). */
  receive(id: string, bytes: Buffer): number {
    const file = this.#files.get(id);
    if (file === undefined || file.bytes !== undefined) return 404;
    file.bytes = bytes;
    return 200;
  }

  /** files.completeUploadExternal, once the channel is known to accept the bot. */
  check(args: Json): { error: string } | { files: FakeFile[]; titles: (string | undefined)[] } {
    const list = args.files;
    if (!Array.isArray(list) || list.length === 0) return { error: 'invalid_arguments' };
    const files: FakeFile[] = [];
    const titles: (string | undefined)[] = [];
    for (const entry of list as Json[]) {
      const file = typeof entry?.id === 'string' ? this.#files.get(entry.id) : undefined;
      if (file === undefined || file.shared !== undefined) return { error: 'file_not_found' };
      if (file.bytes === undefined) return { error: 'file_upload_not_received' };
      if (file.bytes.length !== file.length) return { error: 'file_upload_size_mismatch' };
      files.push(file);
      titles.push(typeof entry.title === 'string' ? entry.title : undefined);
    }
    return { files, titles };
  }
}
