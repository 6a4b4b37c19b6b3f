// A tiny PNG encoder and decoder (8-bit RGB, no interlace, filter 0) and a 3×5 bitmap font, for the office's
// screenshot command: a host "shows" the name of the system it runs, drawn into a real PNG, so that a test can
// read a screenshot back and tell the system before a deploy from the one after.
import { deflateSync, inflateSync } from 'node:zlib';

export interface Image {
  readonly width: number;
  readonly height: number;
  /** RGB, row by row. */
  readonly pixels: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export function encodePng(image: Image): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(image.width, 0);
  ihdr.writeUInt32BE(image.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const row = image.width * 3;
  const raw = Buffer.alloc((row + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    raw[y * (row + 1)] = 0; // filter: none
    Buffer.from(image.pixels.buffer, image.pixels.byteOffset + y * row, row).copy(raw, y * (row + 1) + 1);
  }
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** Decodes what encodePng writes (checking every chunk's CRC); anything else is an error. */
export function decodePng(bytes: Uint8Array): Image {
  const buf = Buffer.from(bytes);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG: bad signature');
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    if (at + 12 > buf.length) throw new Error('PNG cut short');
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (crc32(buf.subarray(at + 4, at + 8 + length)) !== buf.readUInt32BE(at + 8 + length)) {
      throw new Error(`PNG chunk ${type}: bad CRC`);
    }
    at += 12 + length;
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2 || data[12] !== 0) throw new Error('PNG: only 8-bit RGB is read');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const row = width * 3;
  const pixels = new Uint8Array(row * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (row + 1)] !== 0) throw new Error('PNG: only filter 0 is read');
    raw.copy(pixels, y * row, y * (row + 1) + 1, (y + 1) * (row + 1));
  }
  return { width, height, pixels };
}

// ---- text as a bitmap ---------------------------------------------------------------------------------

/** 3×5 glyphs, rows top to bottom: what Nix store path names are made of. */
export const GLYPHS: Readonly<Record<string, string>> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001001001001',
  '8': '111101111101111',
  '9': '111101111001111',
  a: '010101111101101',
  b: '110101110101110',
  c: '011100100100011',
  d: '110101101101110',
  e: '111100110100111',
  f: '111100110100100',
  g: '011100101101011',
  h: '101101111101101',
  i: '111010010010111',
  j: '001001001101010',
  k: '101101110101101',
  l: '100100100100111',
  m: '101111111101101',
  n: '110101101101101',
  o: '010101101101010',
  p: '110101110100100',
  q: '010101101110011',
  r: '110101110101101',
  s: '011100010001110',
  t: '111010010010010',
  u: '101101101101111',
  v: '101101101101010',
  w: '101101111111101',
  x: '101101010101101',
  y: '101101010010010',
  z: '111001010100111',
  '-': '000000111000000',
  '.': '000000000000010',
  '?': '111001011000010',
};

const SCALE = 4;
const MARGIN = 2;
/** Glyph columns plus one of space. */
const CELL = 4;
const LINE = 7;
export const LINE_CHARS = 40;

const BACKGROUND = [0x10, 0x20, 0x40] as const;
const INK = [0xf0, 0xf0, 0xf0] as const;

/** Draws `text` (lower case, digits, `-`, `.`; anything else as `?`), wrapped at LINE_CHARS. */
export function renderText(text: string): Image {
  const lines: string[] = [];
  for (let i = 0; i < Math.max(text.length, 1); i += LINE_CHARS) lines.push(text.slice(i, i + LINE_CHARS));
  const width = (MARGIN * 2 + LINE_CHARS * CELL) * SCALE;
  const height = (MARGIN * 2 + lines.length * LINE) * SCALE;
  const pixels = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) pixels.set(BACKGROUND, p * 3);
  lines.forEach((line, ly) => {
    [...line].forEach((ch, cx) => {
      const glyph = GLYPHS[ch] ?? GLYPHS['?']!;
      for (let gy = 0; gy < 5; gy++)
        for (let gx = 0; gx < 3; gx++) {
          if (glyph[gy * 3 + gx] !== '1') continue;
          const x0 = (MARGIN + cx * CELL + gx) * SCALE;
          const y0 = (MARGIN + ly * LINE + gy) * SCALE;
          for (let y = y0; y < y0 + SCALE; y++)
            for (let x = x0; x < x0 + SCALE; x++) pixels.set(INK, (y * width + x) * 3);
        }
    });
  });
  return { width, height, pixels };
}

/** Reads back what renderText drew: the inverse a test uses to tell which system a screen showed. */
export function readText(image: Image): string {
  const byPattern = new Map(Object.entries(GLYPHS).map(([ch, g]) => [g, ch]));
  const lines = Math.floor((image.height / SCALE - MARGIN * 2) / LINE);
  let out = '';
  for (let ly = 0; ly < lines; ly++) {
    for (let cx = 0; cx < LINE_CHARS; cx++) {
      let pattern = '';
      for (let gy = 0; gy < 5; gy++)
        for (let gx = 0; gx < 3; gx++) {
          const x = (MARGIN + cx * CELL + gx) * SCALE + SCALE / 2;
          const y = (MARGIN + ly * LINE + gy) * SCALE + SCALE / 2;
          pattern += (image.pixels[(y * image.width + x) * 3] ?? 0) > 0x80 ? '1' : '0';
        }
      if (pattern === '0'.repeat(15)) continue;
      const ch = byPattern.get(pattern);
      if (ch === undefined) throw new Error(`unreadable glyph at line ${ly + 1}, column ${cx + 1}`);
      out += ch;
    }
  }
  return out;
}
