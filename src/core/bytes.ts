// How sizes, durations and shares read in messages and on the terminal: short, and the same everywhere.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** IEC units: "0 B", "812 KiB", "1.5 MiB"; one decimal below 10 of a unit. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} B`;
  if (n < 0) return `-${formatBytes(-n)}`;
  if (n < 1024) return `${Math.round(n)} B`;
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  let shown = value < 10 ? trimZero(value.toFixed(1)) : String(Math.round(value));
  // 1023.7 KiB rounds to 1024 KiB: say 1 MiB instead.
  if (Number(shown) >= 1024 && unit < UNITS.length - 1) {
    unit++;
    shown = '1';
  }
  return `${shown} ${UNITS[unit]}`;
}

/** "0 ms", "812 ms", "1.2 s", "42 s", "3 min 4 s", "2 h 5 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0 ms';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 10) {
    const shown = trimZero(seconds.toFixed(1));
    return shown === '10' ? '10 s' : `${shown} s`;
  }
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return joinParts(minutes, 'min', whole % 60, 's');
  const wholeMinutes = Math.round(whole / 60);
  return joinParts(Math.floor(wholeMinutes / 60), 'h', wholeMinutes % 60, 'min');
}

/** a / b, and 0 when b is not positive (nothing to compare with) or either is not a number. */
export function ratio(a: number, b: number): number {
  if (!(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) return 0;
  return a / b;
}

/** A share in 0..1 as "0%", "<0.1%", "4.2%", "42%", "100%". */
export function formatPercent(r: number): string {
  if (!Number.isFinite(r)) return '0%';
  const pct = r * 100;
  if (pct < 0) return `-${formatPercent(-r)}`;
  if (pct === 0) return '0%';
  if (pct < 0.05) return '<0.1%';
  if (pct < 9.95) return `${trimZero(pct.toFixed(1))}%`;
  return `${Math.round(pct)}%`;
}

function trimZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

function joinParts(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
}
