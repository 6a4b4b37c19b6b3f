// The probe's health part: the host's power and temperature commands run in the same round trip as the rest
// of the probe. The commands reach the fixed script as positional parameters (a word count, then the words,
// for power, then for temperature), never as script text, so nothing configured is read by a shell.
import { type CommandOutcome, HEALTH_COMMAND_SECONDS, type HealthSettings } from './health.ts';

/** The most of a command's output the probe prints: the documented answers are one short line. */
const KEEP_BYTES = 2000;

/**
 * Script lines printing the `power` and `temperature` sections (`s` prints a section tag). Each section is
 * `off` (not asked), `missing` (the command is not on the host) or `exit N` followed by the command's output
 * and errors. A command gets HEALTH_COMMAND_SECONDS through `timeout` where the host has it, and no stdin.
 */
export const HEALTH_PROBE_LINES: readonly string[] = [
  'h() {',
  '  [ "$#" -gt 0 ] || { echo off; return; }',
  '  n=$1; shift',
  '  if [ "$n" -eq 0 ]; then echo off; return; fi',
  // Keeps the first n words of the parameters: each is moved to the end, the rest dropped.
  '  t=$#; i=0',
  '  while [ "$i" -lt "$t" ]; do [ "$i" -lt "$n" ] && set -- "$@" "$1"; shift; i=$((i + 1)); done',
  '  command -v "$1" >/dev/null 2>&1 || { echo missing; return; }',
  `  command -v timeout >/dev/null 2>&1 && set -- timeout ${HEALTH_COMMAND_SECONDS} "$@"`,
  '  o=$("$@" 2>&1 </dev/null); echo "exit $?"',
  `  printf '%s\\n' "$o" | head -c ${KEEP_BYTES}; echo`,
  '}',
  's power; h "$@"; [ "$#" -gt 0 ] && [ "$#" -gt "$1" ] && shift $(($1 + 1))',
  's temperature; h "$@"',
];

/** The positional parameters HEALTH_PROBE_LINES reads: each command as its word count and words. */
export function healthProbeArgs(settings: Pick<HealthSettings, 'power' | 'temperature'>): string[] {
  const words = (argv: readonly string[] | null) => (argv ? [String(argv.length), ...argv] : ['0']);
  return [...words(settings.power), ...words(settings.temperature)];
}

/** Reads one section's lines; anything but the shapes above is `unreadable` by the caller's parser. */
export function parseCommandSection(lines: readonly string[]): CommandOutcome {
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) return { kind: 'off' };
  const head = lines[first]!.trim();
  if (head === 'off') return { kind: 'off' };
  if (head === 'missing') return { kind: 'missing' };
  const m = /^exit (\d{1,3})$/.exec(head);
  if (!m) return { kind: 'ran', exitCode: -1, output: lines.slice(first).join('\n').trim() };
  return {
    kind: 'ran',
    exitCode: Number(m[1]),
    output: lines
      .slice(first + 1)
      .join('\n')
      .trim(),
  };
}
