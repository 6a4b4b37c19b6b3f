// Weekly time ranges in a time zone: maintenance windows (when a screen may change) and off hours (when it
// is off on schedule). Read on the wall clock of the zone, so "22:00" is 22:00 there in summer and winter.
// Pure: time zones come from Intl, never from the machine's clock or zone.

/** One range: on `days` (0 Sunday … 6 Saturday), from `start` to `end`, in seconds of the local day. */
export interface TimeWindow {
  /** As written in the configuration, for messages. */
  readonly text: string;
  /** The days it starts on; a range that crosses midnight belongs to its start day. */
  readonly days: readonly number[];
  readonly start: number;
  /** Up to 86 400 (24:00); at or before `start`, the range ends on the next day. */
  readonly end: number;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const DAY_SECONDS = 86_400;

export const WINDOW_SYNTAX =
  'expected "[DAYS ]HH:MM-HH:MM", e.g. "Mon-Fri 22:00-06:00", "Sat,Sun 00:00-24:00" or "22:00-06:00" (every day); times may have seconds (12:00:05)';

function dayOf(word: string): number | undefined {
  const i = DAY_NAMES.findIndex((d) => d.toLowerCase() === word.toLowerCase());
  return i === -1 ? undefined : i;
}

function parseDays(text: string): Parsed<number[]> {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const ends = part.split('-');
    const from = dayOf(ends[0] ?? '');
    const to = ends.length === 2 ? dayOf(ends[1] ?? '') : from;
    if (ends.length > 2 || from === undefined || to === undefined) {
      return {
        ok: false,
        error: `${JSON.stringify(part)} is not a day or a range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun; e.g. Mon-Fri or Sat,Sun)`,
      };
    }
    // Fri-Mon goes round the week end.
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  return { ok: true, value: [...days].sort((a, b) => a - b) };
}

function parseTime(text: string, allow24: boolean): Parsed<number> {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return { ok: false, error: `${JSON.stringify(text)} is not a time (HH:MM or HH:MM:SS, 24-hour)` };
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const seconds = h * 3600 + min * 60 + s;
  if (h === 24 && min === 0 && s === 0 && allow24) return { ok: true, value: DAY_SECONDS };
  if (h > 23 || min > 59 || s > 59) {
    return {
      ok: false,
      error: `${JSON.stringify(text)} is not a time of day (00:00 to 23:59:59${allow24 ? ', or 24:00 as an end' : ''})`,
    };
  }
  return { ok: true, value: seconds };
}

/** Parses "Mon-Fri 22:00-06:00", "Sat,Sun 00:00-24:00" or "22:00-06:00" (every day). */
export function parseWindow(input: string): Parsed<TimeWindow> {
  const text = input.trim().replace(/\s+/g, ' ');
  const words = text.split(' ');
  if (text === '' || words.length > 2) return { ok: false, error: WINDOW_SYNTAX };
  const range = words.at(-1)!;
  const days =
    words.length === 2 ? parseDays(words[0]!) : { ok: true as const, value: [0, 1, 2, 3, 4, 5, 6] };
  if (!days.ok) return days;
  const times = range.split('-');
  if (times.length !== 2) {
    return {
      ok: false,
      error: `${JSON.stringify(range)} is not a range of times; ${WINDOW_SYNTAX}`,
    };
  }
  const start = parseTime(times[0]!, false);
  if (!start.ok) return start;
  const end = parseTime(times[1]!, true);
  if (!end.ok) return end;
  if (start.value === end.value) {
    return {
      ok: false,
      error: `${JSON.stringify(range)} starts and ends at the same time; for a whole day write 00:00-24:00`,
    };
  }
  return { ok: true, value: { text, days: days.value, start: start.value, end: end.value } };
}

/** Parses a list, naming the entry of the first problem; an empty list is refused (leave the field out). */
export function parseWindows(inputs: readonly string[]): Parsed<TimeWindow[]> {
  if (inputs.length === 0) {
    return { ok: false, error: 'an empty list; leave the field out for no restriction' };
  }
  const out: TimeWindow[] = [];
  for (const [i, input] of inputs.entries()) {
    const w = parseWindow(input);
    if (!w.ok) return { ok: false, error: `entry ${i + 1} (${JSON.stringify(input)}): ${w.error}` };
    out.push(w.value);
  }
  return { ok: true, value: out };
}

// ---- wall clock in a zone -----------------------------------------------------------------------

interface Wall {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** 0 Sunday … 6 Saturday. */
  readonly weekday: number;
  readonly seconds: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the zone (an IANA name such as Europe/Oslo). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function wallAt(ms: number, timeZone: string): Wall {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: dayOf(parts.weekday ?? '') ?? 0,
    seconds: Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second),
  };
}

/** The zone's offset from UTC at an instant, in ms (whole seconds). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallAt(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day) + w.seconds * 1000;
  return asUtc - Math.floor(ms / 1000) * 1000;
}

function inWindow(w: TimeWindow, wall: Wall): boolean {
  const today = w.days.includes(wall.weekday);
  if (w.end > w.start) return today && wall.seconds >= w.start && wall.seconds < w.end;
  // Crosses midnight: the evening of a listed day, or the morning after one.
  const yesterday = w.days.includes((wall.weekday + 6) % 7);
  return (today && wall.seconds >= w.start) || (yesterday && wall.seconds < w.end);
}

/** Whether any of the windows holds `at` on the zone's wall clock. */
export function isOpen(windows: readonly TimeWindow[], timeZone: string, at: Date): boolean {
  const wall = wallAt(at.getTime(), timeZone);
  return windows.some((w) => inWindow(w, wall));
}

/**
 * The first instant at or after `at` when a window holds, or null when none ever does. An opening is a
 * window's start on the wall clock (under the offset before or after a nearby change of offset: a start in
 * the hour repeated in autumn opens twice) or the moment the clock jumps into a window (a start skipped in
 * spring opens when the clock lands past it); the earliest such instant that is open is the answer.
 */
export function nextOpening(windows: readonly TimeWindow[], timeZone: string, at: Date): Date | null {
  if (windows.length === 0) return null;
  const t0 = Math.ceil(at.getTime() / 1000) * 1000;
  if (isOpen(windows, timeZone, at)) return at;
  const candidates: number[] = [...offsetChanges(timeZone, t0, t0 + 9 * DAY_SECONDS * 1000)];
  const today = wallAt(t0, timeZone);
  const base = Date.UTC(today.year, today.month - 1, today.day);
  for (let d = 0; d <= 8; d++) {
    const midnight = base + d * DAY_SECONDS * 1000;
    const weekday = new Date(midnight).getUTCDay();
    for (const w of windows) {
      if (!w.days.includes(weekday)) continue;
      const naive = midnight + w.start * 1000;
      for (const near of [naive - DAY_SECONDS * 1000, naive + DAY_SECONDS * 1000]) {
        candidates.push(naive - offsetAt(near, timeZone));
      }
    }
  }
  let best: number | null = null;
  for (const c of candidates) {
    if (c < t0 || (best !== null && c >= best)) continue;
    if (isOpen(windows, timeZone, new Date(c))) best = c;
  }
  return best === null ? null : new Date(best);
}

/** Instants in [from, to) where the zone's offset changes, each found to the second. */
function offsetChanges(timeZone: string, from: number, to: number): number[] {
  const hour = 3_600_000;
  const out: number[] = [];
  let prev = offsetAt(from, timeZone);
  for (let t = from + hour; t < to + hour; t += hour) {
    const o = offsetAt(t, timeZone);
    if (o === prev) continue;
    let lo = t - hour;
    let hi = t;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (offsetAt(mid, timeZone) === prev) lo = mid;
      else hi = mid;
    }
    out.push(hi);
    prev = o;
  }
  return out;
}

/** "Mon-Fri 22:00-06:00, Sat,Sun 00:00-24:00" */
export function describeWindows(windows: readonly TimeWindow[]): string {
  return windows.map((w) => w.text).join(', ');
}

/** "Tue 22:00 Europe/Oslo": an instant on the zone's wall clock, seconds shown only when not zero. */
export function describeInstant(at: Date, timeZone: string): string {
  const w = wallAt(at.getTime(), timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  const [h, m, s] = [Math.floor(w.seconds / 3600), Math.floor(w.seconds / 60) % 60, w.seconds % 60];
  return `${DAY_NAMES[w.weekday]} ${pad(h)}:${pad(m)}${s === 0 ? '' : `:${pad(s)}`} ${timeZone}`;
}
