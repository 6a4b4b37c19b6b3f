// Reading a screen's health: the documented output of vcgencmd's get_throttled and measure_temp (fixtures in
// test/fixtures/health), output that is not that, and the states an operator sees.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CommandOutcome,
  DEFAULT_HEALTH,
  describeStates,
  formatUptime,
  hostHealth,
  parseTemperature,
  parseThrottled,
  throttleFlags,
} from '../../src/core/health.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/health', name), 'utf8');
const ran = (output: string, exitCode = 0): CommandOutcome => ({ kind: 'ran', exitCode, output });
const GiB = 1024 ** 3;
const store = { totalBytes: 16 * GiB, freeBytes: 6 * GiB };

function statesOf(
  power: CommandOutcome,
  temperature: CommandOutcome = ran(fixture('measure_temp-47.2.txt')),
) {
  return hostHealth({ store, uptimeSeconds: 100, power, temperature }, DEFAULT_HEALTH).states;
}

describe('get_throttled', () => {
  it('reads the documented shapes into their bits', () => {
    expect(parseThrottled(fixture('get_throttled-0x0.txt'))).toEqual({ ok: true, value: 0 });
    expect(parseThrottled(fixture('get_throttled-0x50005.txt'))).toEqual({ ok: true, value: 0x50005 });
    expect(throttleFlags(0x50005)).toEqual({
      underVoltage: { now: true, sinceBoot: true },
      frequencyCapped: { now: false, sinceBoot: false },
      throttled: { now: true, sinceBoot: true },
      softTemperatureLimit: { now: false, sinceBoot: false },
    });
    expect(throttleFlags(0xe000e)).toEqual({
      underVoltage: { now: false, sinceBoot: false },
      frequencyCapped: { now: true, sinceBoot: true },
      throttled: { now: true, sinceBoot: true },
      softTemperatureLimit: { now: true, sinceBoot: true },
    });
  });

  it('takes each bit as the documentation numbers it, and no other', () => {
    const named = [0, 1, 2, 3, 16, 17, 18, 19];
    for (let bit = 0; bit < 32; bit++) {
      const flags = throttleFlags(2 ** bit);
      const set = Object.values(flags)
        .flatMap((f) => [f.now, f.sinceBoot])
        .filter(Boolean).length;
      expect(set, `bit ${bit}`).toBe(named.includes(bit) ? 1 : 0);
    }
    expect(throttleFlags(2 ** 16).underVoltage).toEqual({ now: false, sinceBoot: true });
    expect(throttleFlags(2 ** 3).softTemperatureLimit).toEqual({ now: true, sinceBoot: false });
    expect(throttleFlags(0xffffffff).underVoltage).toEqual({ now: true, sinceBoot: true });
  });

  it('refuses what is not its output, saying what it got', () => {
    for (const bad of [
      '',
      'throttled=',
      'throttled=50005',
      'throttled=0x',
      'throttled=0xZZ',
      'throttled=0x123456789',
      "temp=47.2'C",
      fixture('vcgencmd-vchi-failed.txt'),
    ]) {
      const parsed = parseThrottled(bad);
      expect(parsed.ok, JSON.stringify(bad)).toBe(false);
    }
    expect(parseThrottled('garbage')).toEqual({ ok: false, error: 'no throttled=0x... line in "garbage"' });
    expect(parseThrottled('')).toEqual({ ok: false, error: 'no throttled=0x... line in (no output)' });
  });

  it('skips lines around the answer', () => {
    expect(parseThrottled('warning: something\nthrottled=0x50000\n')).toEqual({ ok: true, value: 0x50000 });
  });
});

describe('measure_temp', () => {
  it('reads the documented shape', () => {
    expect(parseTemperature(fixture('measure_temp-47.2.txt'))).toEqual({ ok: true, value: 47.2 });
    expect(parseTemperature(fixture('measure_temp-56.9.txt'))).toEqual({ ok: true, value: 56.9 });
    expect(parseTemperature("temp=-5.0'C")).toEqual({ ok: true, value: -5 });
  });

  it('refuses what is not its output', () => {
    for (const bad of [
      '',
      'temp=',
      "temp=47.2'F",
      'temp=47.2',
      "temp=hot'C",
      '47.2',
      fixture('vcgencmd-send-failed.txt'),
    ])
      expect(parseTemperature(bad).ok, JSON.stringify(bad)).toBe(false);
  });
});

describe('health states', () => {
  it('says nothing is wrong on a healthy Pi', () => {
    expect(statesOf(ran(fixture('get_throttled-0x0.txt')))).toEqual([]);
    expect(describeStates([])).toBe('ok');
  });

  it('names undervoltage and throttling now, without repeating them as since boot', () => {
    const states = statesOf(ran(fixture('get_throttled-0x50005.txt')));
    expect(states).toEqual(['undervoltage-now', 'throttled-now']);
    expect(describeStates(states)).toBe('undervoltage now, throttled now');
  });

  it('names what happened since boot when it does not hold now', () => {
    expect(statesOf(ran(fixture('get_throttled-0x50000.txt')))).toEqual([
      'undervoltage-since-boot',
      'throttled-since-boot',
    ]);
    expect(statesOf(ran('throttled=0xa0000'))).toEqual([
      'frequency-capped-since-boot',
      'soft-temperature-limit-since-boot',
    ]);
  });

  it('names an overheating Pi: capped, throttled, soft limit, and hot above the threshold', () => {
    const states = statesOf(ran(fixture('get_throttled-0xe000e.txt')), ran(fixture('measure_temp-85.0.txt')));
    expect(states).toEqual(['throttled-now', 'frequency-capped-now', 'soft-temperature-limit-now', 'hot']);
    expect(statesOf(ran(fixture('get_throttled-0x80008.txt')))).toEqual(['soft-temperature-limit-now']);
  });

  it('is hot at the configured threshold, not below', () => {
    const at = (temp: string, hotCelsius: number) =>
      hostHealth(
        { store, uptimeSeconds: 1, power: { kind: 'off' }, temperature: ran(temp) },
        { ...DEFAULT_HEALTH, hotCelsius },
      ).states;
    expect(at("temp=69.9'C", 70)).toEqual([]);
    expect(at("temp=70.0'C", 70)).toEqual(['hot']);
    expect(at(fixture('measure_temp-56.9.txt'), 80)).toEqual([]);
  });

  it('is low on space below the configured free space', () => {
    const low = hostHealth(
      {
        store: { totalBytes: 8 * GiB, freeBytes: GiB - 1 },
        uptimeSeconds: 1,
        power: { kind: 'off' },
        temperature: { kind: 'off' },
      },
      DEFAULT_HEALTH,
    );
    expect(low.states).toEqual(['low-space']);
    const enough = hostHealth(
      {
        store: { totalBytes: 8 * GiB, freeBytes: GiB },
        uptimeSeconds: 1,
        power: { kind: 'off' },
        temperature: { kind: 'off' },
      },
      DEFAULT_HEALTH,
    );
    expect(enough.states).toEqual([]);
  });

  it('says "not available" for a host without the command, and is no warning', () => {
    const h = hostHealth(
      { store, uptimeSeconds: 5, power: { kind: 'missing' }, temperature: { kind: 'missing' } },
      DEFAULT_HEALTH,
    );
    expect(h.power).toEqual({ kind: 'not-available' });
    expect(h.temperature).toEqual({ kind: 'not-available' });
    expect(h.states).toEqual([]);
  });

  it('tells a failed, timed-out or unreadable command apart, as a warning', () => {
    const failed = hostHealth(
      {
        store,
        uptimeSeconds: 5,
        power: ran(fixture('vcgencmd-vchi-failed.txt'), 255),
        temperature: ran('', 124),
      },
      DEFAULT_HEALTH,
    );
    expect(failed.power).toEqual({ kind: 'unreadable', why: 'exited 255: "VCHI initialization failed"' });
    expect(failed.temperature).toEqual({ kind: 'unreadable', why: 'did not answer within 10 s' });
    expect(failed.states).toEqual(['power-unreadable', 'temperature-unreadable']);
    const odd = hostHealth(
      { store, uptimeSeconds: 5, power: ran('throttled=maybe'), temperature: { kind: 'off' } },
      DEFAULT_HEALTH,
    );
    expect(odd.power).toEqual({ kind: 'unreadable', why: 'no throttled=0x... line in "throttled=maybe"' });
  });
});

describe('formatUptime', () => {
  it('reads at a glance', () => {
    expect(formatUptime(40)).toBe('40 s');
    expect(formatUptime(600)).toBe('10 min');
    expect(formatUptime(2 * 3600 + 5 * 60)).toBe('2 h 5 min');
    expect(formatUptime(3 * 86_400 + 4 * 3600 + 59)).toBe('3 d 4 h');
  });
});
