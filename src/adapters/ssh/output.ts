// One output stream of a remote command: handed on line by line as it arrives, and kept in memory only up to
// a bound (its last part), so that a command printing gigabytes neither floods nor exhausts the bot.

export class OutputStream {
  private readonly keepBytes: number;
  private readonly onLine: ((line: string) => void) | undefined;
  private readonly decoder = new TextDecoder('utf-8');
  private chunks: Buffer[] = [];
  private kept = 0;
  private pending = '';
  private ended = false;
  /** Bytes seen in all. */
  total = 0;

  constructor(keepBytes: number, onLine?: (line: string) => void) {
    this.keepBytes = keepBytes;
    this.onLine = onLine;
  }

  push(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    this.total += chunk.length;
    // Copied: the transport may reuse the buffer it handed over.
    this.keep(Buffer.from(chunk));
    if (this.onLine) this.split(this.decoder.decode(chunk, { stream: true }));
  }

  /** The end of the stream: a last line without a newline is handed on too. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.onLine) return;
    this.split(this.decoder.decode());
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }

  /** Whether output was dropped from the front to stay within the bound. */
  get truncated(): boolean {
    return this.total > this.keepBytes;
  }

  /** What is kept: all output, or its last `keepBytes` bytes starting at a whole character. */
  text(): string {
    let all = Buffer.concat(this.chunks);
    if (all.length > this.keepBytes) all = all.subarray(all.length - this.keepBytes);
    if (this.truncated) {
      let start = 0;
      // Skip UTF-8 continuation bytes (10xxxxxx) left over from a character cut in two.
      while (start < all.length && start < 4 && ((all[start] ?? 0) & 0xc0) === 0x80) start++;
      all = all.subarray(start);
    }
    return all.toString('utf8');
  }

  /** What is kept, as bytes: all output, or its last `keepBytes` bytes. */
  bytes(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.length > this.keepBytes ? all.subarray(all.length - this.keepBytes) : all;
  }

  /** The last few lines, for error messages. */
  tail(lines = 20, maxChars = 4000): string {
    const text = this.text().replace(/\n$/, '');
    const last = text.split('\n').slice(-lines).join('\n');
    return last.length > maxChars ? last.slice(-maxChars) : last;
  }

  private keep(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.kept += chunk.length;
    // Drop whole chunks from the front while what remains still covers the bound.
    while (this.chunks.length > 1 && this.kept - (this.chunks[0]?.length ?? 0) >= this.keepBytes) {
      this.kept -= this.chunks.shift()?.length ?? 0;
    }
    if (this.kept > 2 * this.keepBytes) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all.subarray(all.length - this.keepBytes)];
      this.kept = this.keepBytes;
    }
  }

  private split(text: string): void {
    this.pending += text;
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      this.emit(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    // A line longer than the bound is handed on in pieces rather than held without limit.
    while (this.pending.length > this.keepBytes) {
      this.emit(this.pending.slice(0, this.keepBytes));
      this.pending = this.pending.slice(this.keepBytes);
    }
  }

  private emit(line: string): void {
    try {
      this.onLine?.(line);
    } catch {
      // A listener that throws must not break the command it listens to.
    }
  }
}
