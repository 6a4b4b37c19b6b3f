// A screen's health: free space for the store, uptime, and what the host's power and temperature commands
// say (on a Raspberry Pi, `vcgencmd get_throttled` and `vcgencmd measure_temp`), read into a short list of
// states an operator acts on: undervoltage now or since boot, throttled, frequency capped, soft temperature
// limit, hot, low on space. Pure: the probe gathers the commands' output (host-facts.ts), this reads it.

/** The host commands and limits health is read with; per host, from the configuration's `health` section. */
export interface HealthSettings {
  /** argv printing `throttled=0x...`; null: not asked. */
  readonly power: readonly string[] | null;
  /** argv printing `temp=47.2'C`; null: not asked. */
  readonly temperature: readonly string[] | null;
  /** At or above this temperature the host is hot. */
  readonly hotCelsius: number;
  /** Below this much free space on /nix the host is low on space (a deploy may not fit). */
  readonly minFreeBytes: number;
}

export const DEFAULT_HEALTH: HealthSettings = {
  power: ['vcgencmd', 'get_throttled'],
  temperature: ['vcgencmd', 'measure_temp'],
  hotCelsius: 80,
  minFreeBytes: 1024 * 1024 * 1024,
};

/** What the probe saw of one health command. */
export type CommandOutcome =
  | { readonly kind: 'off' }
  /** The command is not on the host (no vcgencmd off a Raspberry Pi). */
  | { readonly kind: 'missing' }
  /** exitCode -1: the probe's section was not in its own shape. */
  | { readonly kind: 'ran'; readonly exitCode: number; readonly output: string };

/** Exit status of `timeout` when it ended the command. */
export const TIMED_OUT_EXIT = 124;
/** How long the probe gives each health command. */
export const HEALTH_COMMAND_SECONDS = 10;

// ---- get_throttled ---------------------------------------------------------------------------------------

/**
 * The bits of `vcgencmd get_throttled` as the Raspberry Pi documentation defines them: bits 0 to 3 say what
 * holds now, bits 16 to 19 what has happened since boot. Other bits are not defined there and are ignored.
 */
export const THROTTLE_BITS = {
  underVoltage: { now: 0, sinceBoot: 16 },
  frequencyCapped: { now: 1, sinceBoot: 17 },
  throttled: { now: 2, sinceBoot: 18 },
  softTemperatureLimit: { now: 3, sinceBoot: 19 },
} as const;

export type ThrottleCondition = keyof typeof THROTTLE_BITS;

export type ThrottleFlags = Readonly<
  Record<ThrottleCondition, { readonly now: boolean; readonly sinceBoot: boolean }>
>;

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

/** Reads `throttled=0x50005` (the one line get_throttled prints; other lines, e.g. warnings, are skipped). */
export function parseThrottled(output: string): Parsed<number> {
  for (const line of output.split('\n')) {
    const m = /^throttled=0x([0-9a-fA-F]{1,8})$/.exec(line.trim());
    if (m) return { ok: true, value: Number.parseInt(m[1]!, 16) };
  }
  return { ok: false, error: `no throttled=0x... line in ${excerpt(output)}` };
}

export function throttleFlags(value: number): ThrottleFlags {
  const bit = (n: number) => Math.floor(value / 2 ** n) % 2 === 1;
  const flags = {} as Record<ThrottleCondition, { now: boolean; sinceBoot: boolean }>;
  for (const [name, bits] of Object.entries(THROTTLE_BITS) as [
    ThrottleCondition,
    { now: number; sinceBoot: number },
  ][]) {
    flags[name] = { now: bit(bits.now), sinceBoot: bit(bits.sinceBoot) };
  }
  return flags;
}

// ---- measure_temp ----------------------------------------------------------------------------------------

/** Reads `temp=47.2'C` (the one line measure_temp prints). */
export function parseTemperature(output: string): Parsed<number> {
  for (const line of output.split('\n')) {
    const m = /^temp=(-?\d{1,3}(?:\.\d+)?)'C$/.exec(line.trim());
    if (m) return { ok: true, value: Number(m[1]) };
  }
  return { ok: false, error: `no temp=...'C line in ${excerpt(output)}` };
}

// ---- readings and states ---------------------------------------------------------------------------------

export type Reading<T> =
  | { readonly kind: 'ok'; readonly value: T }
  /** The command is not configured for this host. */
  | { readonly kind: 'off' }
  | { readonly kind: 'not-available' }
  /** The command failed, timed out or printed something else; `why` says which. */
  | { readonly kind: 'unreadable'; readonly why: string };

export interface PowerValue {
  /** The number get_throttled printed. */
  readonly raw: number;
  readonly flags: ThrottleFlags;
}

/** The states, in the order they are listed: the most pressing first. */
export const HEALTH_STATES = [
  'undervoltage-now',
  'undervoltage-since-boot',
  'throttled-now',
  'throttled-since-boot',
  'frequency-capped-now',
  'frequency-capped-since-boot',
  'soft-temperature-limit-now',
  'soft-temperature-limit-since-boot',
  'hot',
  'low-space',
  'power-unreadable',
  'temperature-unreadable',
] as const;

export type HealthState = (typeof HEALTH_STATES)[number];

export const HEALTH_STATE_TEXT: Record<HealthState, string> = {
  'undervoltage-now': 'undervoltage now',
  'undervoltage-since-boot': 'undervoltage since boot',
  'throttled-now': 'throttled now',
  'throttled-since-boot': 'throttled since boot',
  'frequency-capped-now': 'frequency capped now',
  'frequency-capped-since-boot': 'frequency capped since boot',
  'soft-temperature-limit-now': 'soft temperature limit now',
  'soft-temperature-limit-since-boot': 'soft temperature limit since boot',
  hot: 'hot',
  'low-space': 'low on space',
  'power-unreadable': 'power unreadable',
  'temperature-unreadable': 'temperature unreadable',
};

const STATE_OF: Record<ThrottleCondition, readonly [HealthState, HealthState]> = {
  underVoltage: ['undervoltage-now', 'undervoltage-since-boot'],
  frequencyCapped: ['frequency-capped-now', 'frequency-capped-since-boot'],
  throttled: ['throttled-now', 'throttled-since-boot'],
  softTemperatureLimit: ['soft-temperature-limit-now', 'soft-temperature-limit-since-boot'],
};

export interface HostHealth {
  /** Free and total bytes of the file system holding /nix/store; null when the probe could not tell. */
  readonly store: { readonly freeBytes: number; readonly totalBytes: number } | null;
  readonly uptimeSeconds: number | null;
  readonly power: Reading<PowerValue>;
  readonly temperature: Reading<number>;
  readonly hotCelsius: number;
  /** What needs a look, in HEALTH_STATES order; empty when all is well. */
  readonly states: readonly HealthState[];
}

export interface HealthInput {
  readonly store: { readonly freeBytes: number; readonly totalBytes: number } | null;
  readonly uptimeSeconds: number | null;
  readonly power: CommandOutcome;
  readonly temperature: CommandOutcome;
}

export function powerReading(outcome: CommandOutcome): Reading<PowerValue> {
  return reading(outcome, (output) => {
    const parsed = parseThrottled(output);
    return parsed.ok
      ? { ok: true, value: { raw: parsed.value, flags: throttleFlags(parsed.value) } }
      : parsed;
  });
}

export function temperatureReading(outcome: CommandOutcome): Reading<number> {
  return reading(outcome, parseTemperature);
}

function reading<T>(outcome: CommandOutcome, parse: (output: string) => Parsed<T>): Reading<T> {
  if (outcome.kind === 'off') return { kind: 'off' };
  if (outcome.kind === 'missing') return { kind: 'not-available' };
  if (outcome.exitCode === TIMED_OUT_EXIT)
    return { kind: 'unreadable', why: `did not answer within ${HEALTH_COMMAND_SECONDS} s` };
  if (outcome.exitCode < 0)
    return { kind: 'unreadable', why: `unreadable answer ${excerpt(outcome.output)}` };
  if (outcome.exitCode !== 0)
    return { kind: 'unreadable', why: `exited ${outcome.exitCode}: ${excerpt(outcome.output)}` };
  const parsed = parse(outcome.output);
  return parsed.ok ? { kind: 'ok', value: parsed.value } : { kind: 'unreadable', why: parsed.error };
}

export function hostHealth(input: HealthInput, settings: HealthSettings): HostHealth {
  const power = powerReading(input.power);
  const temperature = temperatureReading(input.temperature);
  const states = new Set<HealthState>();
  if (power.kind === 'ok') {
    for (const [name, flag] of Object.entries(power.value.flags) as [
      ThrottleCondition,
      ThrottleFlags[ThrottleCondition],
    ][]) {
      const [now, sinceBoot] = STATE_OF[name];
      // "Now" implies it has happened since boot: saying both would only repeat it.
      if (flag.now) states.add(now);
      else if (flag.sinceBoot) states.add(sinceBoot);
    }
  }
  if (power.kind === 'unreadable') states.add('power-unreadable');
  if (temperature.kind === 'ok' && temperature.value >= settings.hotCelsius) states.add('hot');
  if (temperature.kind === 'unreadable') states.add('temperature-unreadable');
  if (input.store && input.store.freeBytes < settings.minFreeBytes) states.add('low-space');
  return {
    store: input.store,
    uptimeSeconds: input.uptimeSeconds,
    power,
    temperature,
    hotCelsius: settings.hotCelsius,
    states: HEALTH_STATES.filter((s) => states.has(s)),
  };
}

/** "undervoltage now, hot", or "ok". */
export function describeStates(states: readonly HealthState[]): string {
  return states.length === 0 ? 'ok' : states.map((s) => HEALTH_STATE_TEXT[s]).join(', ');
}

/** "3 d 4 h", "2 h 5 min", "40 s": uptime at a glance. */
export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${Math.floor(seconds)} s`;
}

function excerpt(output: string): string {
  const t = output.trim();
  if (t === '') return '(no output)';
  return JSON.stringify(t.length > 120 ? `${t.slice(0, 120)}…` : t);
}
