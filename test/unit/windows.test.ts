import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeInstant,
  isOpen,
  nextOpening,
  parseWindow,
  parseWindows,
  type TimeWindow,
} from '../../src/core/windows.ts';

function w(text: string): TimeWindow {
  const p = parseWindow(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

const at = (iso: string) => new Date(iso);

describe('parsing a window', () => {
  it('reads days, ranges of days, every day, and seconds', () => {
    expect(w('Mon-Fri 22:00-06:00')).toEqual({
      text: 'Mon-Fri 22:00-06:00',
      days: [1, 2, 3, 4, 5],
      start: 79_200,
      end: 21_600,
    });
    expect(w('Sat,Sun 00:00-24:00')).toMatchObject({ days: [0, 6], start: 0, end: 86_400 });
    expect(w('22:00-06:00').days).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(w('12:00:05-12:00:35')).toMatchObject({ start: 43_205, end: 43_235 });
    expect(w('Fri-Mon 10:00-11:00').days).toEqual([0, 1, 5, 6]);
    expect(w('mon,WED  09:00-10:00')).toMatchObject({ days: [1, 3], text: 'mon,WED 09:00-10:00' });
  });

  it.each([
    ['', 'expected "[DAYS ]HH:MM-HH:MM"'],
    ['Mon Tue 10:00-11:00', 'expected "[DAYS ]HH:MM-HH:MM"'],
    ['Mon-Fry 22:00-06:00', '"Mon-Fry" is not a day or a range of days'],
    ['Mon-Tue-Wed 10:00-11:00', '"Mon-Tue-Wed" is not a day or a range of days'],
    ['22:00', '"22:00" is not a range of times'],
    ['9:00-10:00', '"9:00" is not a time (HH:MM or HH:MM:SS, 24-hour)'],
    ['10:00-25:00', '"25:00" is not a time of day (00:00 to 23:59:59, or 24:00 as an end)'],
    ['24:00-06:00', '"24:00" is not a time of day (00:00 to 23:59:59)'],
    ['10:60-11:00', '"10:60" is not a time of day'],
    ['10:00:61-11:00', '"10:00:61" is not a time of day'],
    ['10:00-10:00', 'starts and ends at the same time; for a whole day write 00:00-24:00'],
  ])('refuses %j: %s', (text, message) => {
    const p = parseWindow(text);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.error).toContain(message);
  });

  it('names the entry of a list that is wrong, and refuses an empty list', () => {
    expect(parseWindows(['Sat 10:00-11:00', 'Sun 10-11'])).toEqual({
      ok: false,
      error: 'entry 2 ("Sun 10-11"): "10" is not a time (HH:MM or HH:MM:SS, 24-hour)',
    });
    expect(parseWindows([])).toEqual({
      ok: false,
      error: 'an empty list; leave the field out for no restriction',
    });
  });
});

describe('whether a window is open', () => {
  const nights = [w('Mon-Fri 22:00-06:00')];
  // 2026-12-07 is a Monday.
  it.each([
    ['2026-12-07T21:59:59Z', false, 'Monday just before'],
    ['2026-12-07T22:00:00Z', true, 'Monday at the start'],
    ['2026-12-08T05:59:59Z', true, "Tuesday morning: Monday's night"],
    ['2026-12-08T06:00:00Z', false, 'Tuesday at the end'],
    ['2026-12-12T05:00:00Z', true, "Saturday morning: Friday's night"],
    ['2026-12-12T23:00:00Z', false, 'Saturday evening: not listed'],
    ['2026-12-13T05:00:00Z', false, 'Sunday morning: Saturday is not listed'],
    ['2026-12-07T05:00:00Z', false, 'Monday morning: Sunday is not listed'],
  ])('a night window crossing midnight, %s: %s (%s)', (iso, open) => {
    expect(isOpen(nights, 'UTC', at(iso))).toBe(open);
  });

  it('every day versus a list of days', () => {
    const daily = [w('12:00-13:00')];
    const weekend = [w('Sat,Sun 12:00-13:00')];
    for (let d = 7; d <= 13; d++) {
      const noon = at(`2026-12-${String(d).padStart(2, '0')}T12:30:00Z`);
      expect(isOpen(daily, 'UTC', noon)).toBe(true);
      expect(isOpen(weekend, 'UTC', noon)).toBe(d === 12 || d === 13);
    }
  });

  it('reads the wall clock of the zone, summer and winter', () => {
    const evening = [w('22:00-23:00')];
    // Oslo is UTC+1 in winter, UTC+2 in summer.
    expect(isOpen(evening, 'Europe/Oslo', at('2026-01-15T21:30:00Z'))).toBe(true);
    expect(isOpen(evening, 'Europe/Oslo', at('2026-07-15T21:30:00Z'))).toBe(false);
    expect(isOpen(evening, 'Europe/Oslo', at('2026-07-15T20:30:00Z'))).toBe(true);
  });
});

describe('when a window next opens', () => {
  it('is now when it is open, else the next start, across days', () => {
    const nights = [w('Mon-Fri 22:00-06:00')];
    expect(nextOpening(nights, 'UTC', at('2026-12-07T23:00:00Z'))).toEqual(at('2026-12-07T23:00:00Z'));
    expect(nextOpening(nights, 'UTC', at('2026-12-07T10:00:00Z'))).toEqual(at('2026-12-07T22:00:00Z'));
    // Saturday noon: the next is Monday night.
    expect(nextOpening(nights, 'UTC', at('2026-12-12T12:00:00Z'))).toEqual(at('2026-12-14T22:00:00Z'));
  });

  it('to the second', () => {
    const soon = [w('12:00:05-12:00:35')];
    expect(nextOpening(soon, 'UTC', at('2026-12-07T12:00:00.300Z'))).toEqual(at('2026-12-07T12:00:05Z'));
    expect(nextOpening(soon, 'UTC', at('2026-12-07T12:00:35Z'))).toEqual(at('2026-12-08T12:00:05Z'));
  });

  it('in spring, a start the clock skips opens when the clock lands past it', () => {
    // Europe/Oslo, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
    const w230 = [w('02:30-04:00')];
    expect(nextOpening(w230, 'Europe/Oslo', at('2026-03-28T23:00:00Z'))).toEqual(at('2026-03-29T01:00:00Z'));
    expect(describeInstant(at('2026-03-29T01:00:00Z'), 'Europe/Oslo')).toBe('Sun 03:00 Europe/Oslo');
    // The next day it opens at 02:30 CEST again.
    expect(nextOpening(w230, 'Europe/Oslo', at('2026-03-29T03:00:00Z'))).toEqual(at('2026-03-30T00:30:00Z'));
  });

  it('in autumn, a start in the repeated hour opens twice', () => {
    // Europe/Oslo, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:30 happens twice.
    const w230 = [w('02:30-02:45')];
    expect(nextOpening(w230, 'Europe/Oslo', at('2026-10-24T23:00:00Z'))).toEqual(at('2026-10-25T00:30:00Z'));
    expect(nextOpening(w230, 'Europe/Oslo', at('2026-10-25T00:50:00Z'))).toEqual(at('2026-10-25T01:30:00Z'));
  });

  it('is the first open instant, for any windows, zone and time (checked minute by minute)', () => {
    const minute = fc.integer({ min: 0, max: 1439 });
    const windowArb = fc
      .record({
        days: fc.option(fc.subarray(['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'], { minLength: 1 })),
        start: minute,
        length: fc.integer({ min: 1, max: 1439 }),
      })
      .map(({ days, start, length }) => {
        const hm = (m: number) =>
          `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
        const end = (start + length) % 1440;
        return w(`${days ? `${days.join(',')} ` : ''}${hm(start)}-${end === 0 ? '24:00' : hm(end)}`);
      });
    // Around both of 2026's changes of offset in Oslo.
    const instant = fc.oneof(
      fc.integer({ min: Date.UTC(2026, 2, 20), max: Date.UTC(2026, 2, 31) }),
      fc.integer({ min: Date.UTC(2026, 9, 16), max: Date.UTC(2026, 9, 27) }),
    );
    fc.assert(
      fc.property(
        fc.array(windowArb, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('UTC', 'Europe/Oslo', 'America/New_York'),
        instant,
        (windows, zone, ms) => {
          const from = new Date(ms);
          const next = nextOpening(windows, zone, from);
          expect(next).not.toBeNull();
          expect(next!.getTime()).toBeGreaterThanOrEqual(ms);
          expect(isOpen(windows, zone, next!)).toBe(true);
          for (let t = Math.ceil(ms / 60_000) * 60_000; t < next!.getTime(); t += 60_000) {
            expect(isOpen(windows, zone, new Date(t)), new Date(t).toISOString()).toBe(false);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
