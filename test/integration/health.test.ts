// Screen health on the simulated office: each host's vcgencmd stand-in (test/office/vcgencmd.ts) prints what
// the test sets, and status and the scheduled fleet report read it over the bot's own SSH in the probe's one
// round trip. What they say is checked against the hosts directly (office.onHost).
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/core/bytes.ts';
import type { Asker } from '../../src/engine/engine.ts';
import type { HostStatusRow } from '../../src/engine/status.ts';
import { describeHealthChange } from '../../src/scheduler/fleet-changes.ts';
import { type FleetReport, statusJob } from '../../src/scheduler/jobs.ts';
import { fleetReportMessage } from '../../src/scheduler/report-message.ts';
import { statusText } from '../../src/verbs/render-status.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { setVcgencmd } from '../office/vcgencmd.ts';
import { officeEngine } from '../support/office-bot.ts';

const unavailable = officeUnavailable();
const [PI, FLAPPY, PC] = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];
const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };
const NEVER = '0 0 31 2 *';

describe.skipIf(unavailable !== null)('screen health on the simulated office', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  const onHost = (host: string) => (argv: readonly string[]) => office.onHost(host, argv);
  /** What the host's own vcgencmd prints, asked without the bot. */
  const hostSays = async (host: string, command: string) =>
    (await office.onHost(host, ['vcgencmd', command])).stdout.trim();

  beforeAll(async () => {
    office = await startOffice({
      hosts: [{ name: PI }, { name: FLAPPY }, { name: PC, vcgencmd: false }],
      scale: 0.05,
    });
    bot = await officeEngine(office, { health: { hotCelsius: 75 } });
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  async function statusRows(): Promise<Map<string, HostStatusRow>> {
    const rows = await bot.engine.status([], asker);
    return new Map(rows.map((r) => [r.host, r]));
  }

  it('shows undervoltage, throttling and heat as the host reports them, and "not available" without vcgencmd', async () => {
    await setVcgencmd(onHost(PI), 'get_throttled', 'throttled=0x50005');
    await setVcgencmd(onHost(PI), 'measure_temp', "temp=76.4'C");
    const audited = bot.store.auditLog({ host: PI, limit: 100 }).length;
    const rows = await statusRows();
    const pi = rows.get(PI)!;
    expect(pi.reachable, pi.error).toBe(true);
    expect(await hostSays(PI, 'get_throttled')).toBe('throttled=0x50005');
    expect(await hostSays(PI, 'measure_temp')).toBe("temp=76.4'C");
    expect(pi.health?.states).toEqual(['undervoltage-now', 'throttled-now', 'hot']);
    expect(pi.health?.power).toMatchObject({ kind: 'ok', value: { raw: 0x50005 } });
    expect(pi.health?.temperature).toEqual({ kind: 'ok', value: 76.4 });

    // Free space and uptime agree with the host's own df and /proc/uptime.
    const df = await office.onHost(PI, ['df', '-B1', '--output=avail', '/nix/store']);
    const avail = Number(df.stdout.trim().split('\n').at(-1));
    expect(Math.abs((pi.health?.store?.freeBytes ?? 0) - avail)).toBeLessThan(256 * 1024 * 1024);
    const uptime = Number((await office.onHost(PI, ['cat', '/proc/uptime'])).stdout.split(' ')[0]);
    expect(Math.abs((pi.health?.uptimeSeconds ?? 0) - uptime)).toBeLessThan(60);

    const pc = rows.get(PC)!;
    expect((await office.onHost(PC, ['sh', '-c', 'command -v vcgencmd'])).exitCode).not.toBe(0);
    expect(pc.health?.power).toEqual({ kind: 'not-available' });
    expect(pc.health?.temperature).toEqual({ kind: 'not-available' });
    expect(pc.health?.states).toEqual([]);

    const text = statusText([...rows.values()]);
    expect(text).toContain('health: undervoltage now, throttled now, hot');
    expect(text).toContain('power throttled=0x50005; temperature 76.4 °C');
    expect(text).toContain('power not available; temperature not available');
    expect(text).toContain(`/nix: ${formatBytes(pi.health!.store!.freeBytes)} free`);

    // One round trip per host: one probe in the audit log, naming the health commands it ran.
    const entries = bot.store.auditLog({ host: PI, limit: 100 });
    expect(entries.length - audited).toBe(1);
    expect(entries[0]?.argv.join(' ')).toContain('(health: vcgencmd get_throttled; vcgencmd measure_temp)');
  });

  it('says it in the terminal and in --json', async () => {
    const out = await execa(
      process.execPath,
      [`${import.meta.dirname}/../../bin/signage.ts`, '--config', bot.file, '--json', 'status', PI, PC],
      { reject: false, stdin: 'ignore' },
    );
    expect(out.stderr).toBe('');
    const rows = JSON.parse(out.stdout) as HostStatusRow[];
    expect(rows.map((r) => [r.host, r.health?.states, r.health?.power.kind])).toEqual([
      [PI, ['undervoltage-now', 'throttled-now', 'hot'], 'ok'],
      [PC, [], 'not-available'],
    ]);
    const plain = await execa(
      process.execPath,
      [`${import.meta.dirname}/../../bin/signage.ts`, '--config', bot.file, 'status', PI],
      { reject: false, stdin: 'ignore' },
    );
    expect(plain.stdout).toContain('health: undervoltage now, throttled now, hot');
  });

  it('tells undervoltage in the fleet report once, after it held for two checks', async () => {
    await setVcgencmd(onHost(PI), 'get_throttled', 'throttled=0x0');
    await setVcgencmd(onHost(PI), 'measure_temp', "temp=50.0'C");
    const reports: FleetReport[] = [];
    const job = statusJob(bot.engine, NEVER, async (r) => void reports.push(r), {
      store: bot.store,
      now: () => new Date(),
    });
    await job.run();
    expect(reports.map((r) => r.kind)).toEqual(['first']);

    await setVcgencmd(onHost(PI), 'get_throttled', 'throttled=0x50005');
    expect(await hostSays(PI, 'get_throttled')).toBe('throttled=0x50005');
    await job.run();
    expect(reports).toHaveLength(1);

    await job.run();
    expect(reports).toHaveLength(2);
    const told = reports[1]!;
    if (told.kind !== 'changed') throw new Error('expected a change report');
    expect(told.changes).toEqual([]);
    expect(told.health.map((c) => [c.host, describeHealthChange(c)])).toEqual([
      [PI, 'health: ok → undervoltage now, throttled now'],
    ]);
    const message = fleetReportMessage(told);
    expect(message.text).toBe(`1 host changed: ${PI}`);
    expect(JSON.stringify(message.blocks)).toContain(`*${PI}* health: ok → undervoltage now, throttled now`);

    await job.run();
    await job.run();
    expect(reports).toHaveLength(2);
  });

  it('tells a host whose undervoltage comes and goes once, as flapping', async () => {
    const reports: FleetReport[] = [];
    const job = statusJob(bot.engine, NEVER, async (r) => void reports.push(r), {
      store: bot.store,
      now: () => new Date(),
    });
    await job.run();
    // Under-voltage now and gone again at every check; the since-boot bits stay, as on a real Pi.
    for (let i = 0; i < 8; i++) {
      const value = i % 2 === 0 ? 'throttled=0x50005' : 'throttled=0x50000';
      await setVcgencmd(onHost(FLAPPY), 'get_throttled', value);
      expect(await hostSays(FLAPPY, 'get_throttled')).toBe(value);
      await job.run();
    }
    const changed = reports.filter((r) => r.kind === 'changed');
    const told = changed.flatMap((r) => (r.kind === 'changed' ? r.health : []));
    expect(told.map((c) => [c.host, describeHealthChange(c)])).toEqual([
      [
        FLAPPY,
        'health flapping: ok / undervoltage now, throttled now / undervoltage since boot, throttled since boot (changed at each of the last 4 checks)',
      ],
    ]);
    expect(changed).toHaveLength(1);
  });
});
