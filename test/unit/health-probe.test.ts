// The probe's health part, run by a real /bin/sh: configured commands reach it as positional parameters and
// run word for word, a command the host lacks is "missing", none asked is "off", and the rest of the probe
// reads as before whatever the commands print.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { healthProbeArgs, parseCommandSection } from '../../src/core/health-probe.ts';
import { PROBE_SCRIPT, parseProbeOutput } from '../../src/core/host-facts.ts';

const dir = mkdtempSync(join(tmpdir(), 'signage-health-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
execFileSync('mkdir', ['-p', bin]);
writeFileSync(
  join(bin, 'vcgencmd'),
  `#!/bin/sh\ncase "$1" in get_throttled) echo throttled=0x50000 ;; measure_temp) echo "temp=61.3'C" ;; *) echo "bad $1" >&2; exit 2 ;; esac\n`,
);
chmodSync(join(bin, 'vcgencmd'), 0o755);

function probe(args: readonly string[]) {
  const out = execFileSync('/bin/sh', ['-c', PROBE_SCRIPT, 'signage-probe', ...args], {
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  const parsed = parseProbeOutput(out);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.facts;
}

describe('the probe with health commands', () => {
  it('runs the default commands and reads their output', () => {
    const facts = probe(
      healthProbeArgs({ power: ['vcgencmd', 'get_throttled'], temperature: ['vcgencmd', 'measure_temp'] }),
    );
    expect(facts.power).toEqual({ kind: 'ran', exitCode: 0, output: 'throttled=0x50000' });
    expect(facts.temperature).toEqual({ kind: 'ran', exitCode: 0, output: "temp=61.3'C" });
    expect(facts.uptimeSeconds).toBeGreaterThan(0);
  });

  it('says "off" when not asked, and "missing" for a command the host lacks', () => {
    const none = probe([]);
    expect([none.power, none.temperature]).toEqual([{ kind: 'off' }, { kind: 'off' }]);
    const facts = probe(healthProbeArgs({ power: null, temperature: ['no-such-vcgencmd', 'measure_temp'] }));
    expect(facts.power).toEqual({ kind: 'off' });
    expect(facts.temperature).toEqual({ kind: 'missing' });
  });

  it('passes every word verbatim: nothing configured is read by a shell', () => {
    const marker = join(dir, 'touched');
    const facts = probe(
      healthProbeArgs({
        power: ['printf', '%s|%s\\n', `$(touch ${marker})`, 'a b;c'],
        temperature: ['vcgencmd', 'nonsense'],
      }),
    );
    expect(facts.power).toEqual({ kind: 'ran', exitCode: 0, output: `$(touch ${marker})|a b;c` });
    expect(existsSync(marker)).toBe(false);
    expect(facts.temperature).toEqual({ kind: 'ran', exitCode: 2, output: 'bad nonsense' });
  });

  it('keeps a long output short', () => {
    const facts = probe(healthProbeArgs({ power: ['seq', '1', '100000'], temperature: null }));
    expect(facts.power.kind === 'ran' && facts.power.output.length).toBeLessThanOrEqual(2000);
  });
});

describe('parseCommandSection', () => {
  it('reads each shape and marks a section that is none of them', () => {
    expect(parseCommandSection([])).toEqual({ kind: 'off' });
    expect(parseCommandSection(['off'])).toEqual({ kind: 'off' });
    expect(parseCommandSection(['missing'])).toEqual({ kind: 'missing' });
    expect(parseCommandSection(['exit 124', ''])).toEqual({ kind: 'ran', exitCode: 124, output: '' });
    expect(parseCommandSection(['what', 'ever'])).toEqual({
      kind: 'ran',
      exitCode: -1,
      output: 'what\never',
    });
  });
});
