// What a screenshot command printed, checked before anything is uploaded: a PNG (its eight-byte signature, then
// an IHDR chunk with a sane width and height) within the size bound. A host whose command prints an error
// message, a shell prompt or half an image gets a sentence saying which of these it was, not an upload that
// Slack shows as a broken file. Pure: bytes in, a verdict out.

export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A screen is at most this many pixels on a side (an 8K panel is 7680). */
const MAX_SIDE = 16_384;

export type PngCheck =
  | { readonly ok: true; readonly width: number; readonly height: number; readonly bytes: number }
  | { readonly ok: false; readonly problem: string };

export function checkPng(bytes: Uint8Array, maxBytes: number): PngCheck {
  if (bytes.length === 0) return { ok: false, problem: 'it printed nothing' };
  if (bytes.length > maxBytes) {
    return {
      ok: false,
      problem: `it printed more than ${maxBytes} bytes, the screenshot size bound (screenshot.maxBytes)`,
    };
  }
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    return { ok: false, problem: `it printed something that is not a PNG: ${preview(bytes)}` };
  }
  // The first chunk: length (4), type (4), then IHDR's width and height (4 each), big-endian.
  if (bytes.length < 8 + 8 + 13 + 4) return { ok: false, problem: 'it printed a PNG cut short' };
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== 'IHDR') return { ok: false, problem: 'it printed a PNG without its header chunk' };
  const width = uint32(bytes, 16);
  const height = uint32(bytes, 20);
  if (width === 0 || height === 0 || width > MAX_SIDE || height > MAX_SIDE) {
    return { ok: false, problem: `it printed a PNG of ${width}×${height} pixels, not a screen` };
  }
  if (!endsWithIend(bytes)) return { ok: false, problem: 'it printed a PNG cut short (no end chunk)' };
  return { ok: true, width, height, bytes: bytes.length };
}

function uint32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] ?? 0) << 24) |
      ((bytes[at + 1] ?? 0) << 16) |
      ((bytes[at + 2] ?? 0) << 8) |
      (bytes[at + 3] ?? 0)) >>>
    0
  );
}

/** The last chunk is IEND: length 0, type, CRC (12 bytes in all). */
function endsWithIend(bytes: Uint8Array): boolean {
  const at = bytes.length - 12;
  return (
    at >= 8 && uint32(bytes, at) === 0 && String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'IEND'
  );
}

/** The start of what was printed, as text a person can read in a message (control bytes shown as dots). */
function preview(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes.subarray(0, 60)) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return JSON.stringify(bytes.length > 60 ? `${text}…` : text);
}
