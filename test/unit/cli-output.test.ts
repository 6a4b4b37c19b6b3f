// `--output` belongs to the terminal: refused for verbs that make no file, and a verb's image never goes to a
// terminal. Each of these is refused before anything is composed or run.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';

async function cli(args: string[], tty: boolean) {
  let err = '';
  let composed = false;
  const stdoutStream = Object.assign(new PassThrough(), { isTTY: tty });
  const code = await runCli(
    args,
    {},
    {
      stdout: { write: () => {}, isTTY: tty },
      stderr: {
        write: (s: string) => {
          err += s;
        },
        isTTY: false,
      },
      stdin: Object.assign(new PassThrough(), { isTTY: false }),
      stdoutStream,
    },
    async () => {
      composed = true;
      throw new Error('not composed in this test');
    },
  );
  return { code, err, composed };
}

describe('signage --output', () => {
  it('is refused for a verb that makes no file', async () => {
    const r = await cli(['status', '--output', 'x.png'], false);
    expect(r).toEqual({
      code: 2,
      err: 'signage: --output is for verbs that make a file (show), not status\n',
      composed: false,
    });
  });

  it('needs a file name, once', async () => {
    expect((await cli(['show', 'a', '--output'], false)).err).toBe('signage: --output needs a file name\n');
    expect((await cli(['show', 'a', '-o', 'x', '--output=y'], false)).err).toBe(
      'signage: --output given twice\n',
    );
  });

  it('refuses to write the image to a terminal, or beside --json', async () => {
    const tty = await cli(['show', 'a'], true);
    expect(tty.code).toBe(2);
    expect(tty.err).toMatch(/show makes a PNG image, which is not written to a terminal; give --output FILE/);
    expect(tty.composed).toBe(false);
    const json = await cli(['--json', 'show', 'a'], false);
    expect(json.code).toBe(2);
    expect(json.err).toMatch(/with --json, give --output FILE for the show image/);
  });

  it('takes one host for show, not a tag or all', async () => {
    for (const what of ['@lobby', 'all']) {
      const r = await cli(['show', what, '--output', 'x.png'], false);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/name one host, not a tag or all/);
    }
    expect((await cli(['show', 'a', 'b', '--output', 'x.png'], false)).err).toMatch(/name one host/);
  });
});
