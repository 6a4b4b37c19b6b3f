// Just enough of ustar (POSIX.1-1988) to carry a binary cache's files to the host's `tar -x`: regular files
// and one directory, short names, fixed modes, no owners. Written by hand so that the archive's exact size is
// known before the first byte is sent (the importer reads exactly that many bytes for a batch).
const BLOCK = 512;

/** The archive's size for files of these sizes and these directories: headers, padded data, two end blocks. */
export function tarSize(fileSizes: readonly number[], directories: readonly string[] = []): number {
  let n = directories.length * BLOCK;
  for (const s of fileSizes) n += BLOCK + Math.ceil(s / BLOCK) * BLOCK;
  return n + 2 * BLOCK;
}

export class TarWriter {
  fileHeader(name: string, size: number): Uint8Array {
    return header(name, size, '0', 0o644);
  }

  directory(name: string): Uint8Array {
    return header(name, 0, '5', 0o755);
  }

  /** Zeros after a file's data up to the next block. */
  padding(size: number): Uint8Array {
    return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
  }

  end(): Uint8Array {
    return new Uint8Array(2 * BLOCK);
  }
}

function header(name: string, size: number, type: '0' | '5', mode: number): Uint8Array {
  if (!/^[A-Za-z0-9._/-]{1,99}$/.test(name) || name.split('/').includes('..')) {
    throw new RangeError(`${JSON.stringify(name)} is not a name this archive carries`);
  }
  if (!Number.isSafeInteger(size) || size < 0 || size >= 8 ** 11) throw new RangeError(`size ${size}`);
  const h = new Uint8Array(BLOCK);
  const put = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) h[at + i] = text.charCodeAt(i);
  };
  const octal = (at: number, width: number, v: number) =>
    put(at, `${v.toString(8).padStart(width - 1, '0')}\0`);
  put(0, name);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  put(148, '        ');
  put(156, type);
  put(257, 'ustar\0');
  put(263, '00');
  let sum = 0;
  for (const b of h) sum += b;
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}
