// The README's demo, run as a user runs it (a child process), on a small office: it must finish with exit 0,
// show each command, and its summary must show the fleet step moving more over the LAN than over the uplink,
// by the bot's account and by the kernel's counters.
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { officeUnavailable } from '../office/index.ts';

const DEMO = join(import.meta.dirname, '..', '..', 'scripts', 'demo.ts');
const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 };

function bytes(cell: string): number {
  const m = /^([\d.]+) (B|KiB|MiB|GiB)$/.exec(cell.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(cell)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** The summary row of a step: label, then LAN and uplink by the bot, LAN and uplink by the kernel, time. */
function row(output: string, label: string): string[] {
  const line = output.split('\n').find((l) => l.startsWith(`${label} `));
  if (!line) throw new Error(`no summary row for ${label} in:\n${output.slice(-3000)}`);
  return line.slice(label.length).trim().split(/ {2,}/);
}

describe('npm run demo', () => {
  it('refuses a bad flag before touching anything', async () => {
    const r = await execa(process.execPath, [DEMO, '--scale', 'lots'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--scale/);
  });

  it.skipIf(officeUnavailable() !== null)(
    'deploys the office with the real command; the fleet step moves more over the LAN than the uplink',
    async () => {
      const r = await execa(process.execPath, [DEMO, '--scale', '0.05', '--uplink-kbit', '0'], {
        reject: false,
        timeout: 280_000,
      });
      const out = r.stdout;
      expect(r.exitCode, `${out.slice(-4000)}\n${r.stderr}`).toBe(0);
      for (const cmd of [
        'signage hosts',
        'signage overlap all',
        'signage deploy baard-entrance --restart',
        'signage deploy @floor --no-restart',
        'signage status',
      ]) {
        expect(out).toContain(`$ ${cmd}`);
      }
      expect(out.match(/● baard-[a-z-]+ +in sync/g)).toHaveLength(3);

      const [, firstUplink, , firstKernelUplink] = row(out, 'deploy baard-entrance').map((c, i) =>
        i < 4 ? bytes(c) : 0,
      );
      expect(firstUplink).toBeGreaterThan(1_000_000);
      expect(firstKernelUplink).toBeGreaterThanOrEqual(firstUplink! * 0.95);

      const [lan, uplink, kernelLan, kernelUplink] = row(out, 'deploy @floor').slice(0, 4).map(bytes);
      expect(lan).toBeGreaterThan(uplink!);
      expect(kernelLan).toBeGreaterThan(kernelUplink!);
      expect(out).toContain('demo: every step succeeded and the counts agree');
    },
    300_000,
  );
});
