// Reading the probe's answer: a deployed host, a host never deployed, and answers that are broken or odd.
import { describe, expect, it } from 'vitest';
import { PROBE_SCRIPT, PROBE_SECTIONS, parseProbeOutput } from '../../src/core/host-facts.ts';

const SYS1 = '/nix/store/0c7rfd3xjy9l0sdz0c8f6gk2l8v4k2ny-nixos-system-kitchen-24.11';
const SYS2 = '/nix/store/1a2b3c4d5f6g7h8i9j0k1l2m3n4p5q6r-nixos-system-kitchen-24.11';

function answer(
  sections: Partial<Record<(typeof PROBE_SECTIONS)[number], string>>,
  opts: { before?: string } = {},
) {
  const body = PROBE_SECTIONS.map(
    (s) => `@@signage-probe:${s}\n${sections[s] ?? ''}${sections[s] ? '\n' : ''}`,
  );
  return `${opts.before ?? ''}@@signage-probe:begin\n${body.join('')}@@signage-probe:end\n`;
}

describe('parseProbeOutput', () => {
  it('reads a deployed host field by field', () => {
    const out = answer({
      current: SYS2,
      booted: SYS1,
      profile: 'system-2-link',
      generations: [`system-2-link\t1700000100\t${SYS2}`, `system-1-link\t1700000000\t${SYS1}`].join('\n'),
      'nixos-version': '24.11.20241201.abcdef0 (Vicuna)\n',
      store: '/nix/store 4096 1000000 250000',
      systemd: 'yes',
      'nix-version': 'nix-store (Nix) 2.24.10',
      uptime: '3600.52 7000.10',
      'current-kernel': '/nix/store/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk-linux-6.6.52/bzImage',
      'booted-kernel': '/nix/store/jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-linux-6.6.51/bzImage',
      activation: 'armed',
      power: 'exit 0\nthrottled=0x50005',
      temperature: "exit 0\ntemp=47.2'C",
    });
    const parsed = parseProbeOutput(out);
    expect(parsed).toEqual({
      ok: true,
      facts: {
        currentSystem: SYS2,
        bootedSystem: SYS1,
        generations: [
          { number: 1, path: SYS1, createdAt: new Date(1_700_000_000_000) },
          { number: 2, path: SYS2, createdAt: new Date(1_700_000_100_000) },
        ],
        currentGeneration: 2,
        profileSystem: SYS2,
        nixosVersion: '24.11.20241201.abcdef0 (Vicuna)',
        store: { totalBytes: 4096 * 1_000_000, freeBytes: 4096 * 250_000 },
        systemd: true,
        nixVersion: '2.24.10',
        uptimeSeconds: 3600,
        currentKernel: '/nix/store/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk-linux-6.6.52/bzImage',
        bootedKernel: '/nix/store/jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-linux-6.6.51/bzImage',
        activationMarker: 'armed',
        power: { kind: 'ran', exitCode: 0, output: 'throttled=0x50005' },
        temperature: { kind: 'ran', exitCode: 0, output: "temp=47.2'C" },
        notes: [],
      },
    });
  });

  it('answers a never-deployed host with nulls and no generations', () => {
    const parsed = parseProbeOutput(
      answer({
        store: '/nix 4096 500 400',
        systemd: 'no',
        'nix-version': 'nix-store (Nix) 2.8.0',
        uptime: '12.00 3.00',
      }),
    );
    expect(parsed.ok && parsed.facts).toEqual({
      currentSystem: null,
      bootedSystem: null,
      generations: [],
      currentGeneration: null,
      profileSystem: null,
      nixosVersion: null,
      store: { totalBytes: 4096 * 500, freeBytes: 4096 * 400 },
      systemd: false,
      nixVersion: '2.8.0',
      uptimeSeconds: 12,
      currentKernel: null,
      bootedKernel: null,
      activationMarker: null,
      power: { kind: 'off' },
      temperature: { kind: 'off' },
      notes: [],
    });
  });

  it('reads Lix and ignores what a login shell printed before the answer', () => {
    const parsed = parseProbeOutput(
      answer(
        { 'nix-version': 'nix-store (Lix, like Nix) 2.91.1' },
        { before: 'Welcome!\n@@signage-probe:current\n' },
      ),
    );
    expect(parsed.ok && parsed.facts.nixVersion).toBe('2.91.1');
    expect(parsed.ok && parsed.facts.currentSystem).toBe(null);
  });

  it('notes what it cannot use instead of failing', () => {
    const parsed = parseProbeOutput(
      answer({
        current: '/opt/not-a-store-path',
        profile: 'system-7-link',
        generations: [
          `system-x-link\t1\t${SYS1}`,
          `system-3-link\tnow\t${SYS1}`,
          `system-4-link\t5\t/tmp/x`,
        ].join('\n'),
        store: 'garbage',
        uptime: '',
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.facts.currentSystem).toBe(null);
    expect(parsed.facts.generations).toEqual([]);
    expect(parsed.facts.currentGeneration).toBe(7);
    expect(parsed.facts.profileSystem).toBe(null);
    expect(parsed.facts.store).toBe(null);
    expect(parsed.facts.uptimeSeconds).toBe(null);
    expect(parsed.facts.notes).toHaveLength(6);
    expect(parsed.facts.notes[0]).toContain('/run/current-system is not a store path');
  });

  it('refuses output that is not the probe, or was cut short, or out of order', () => {
    expect(parseProbeOutput('')).toEqual({ ok: false, error: expect.stringContaining('no begin tag') });
    const whole = answer({ current: SYS1 });
    const cut = whole.slice(0, whole.indexOf('@@signage-probe:store'));
    expect(parseProbeOutput(cut)).toEqual({ ok: false, error: expect.stringContaining('cut short') });
    const missing = whole.replace('@@signage-probe:uptime\n', '');
    expect(parseProbeOutput(missing)).toEqual({ ok: false, error: expect.stringContaining('uptime') });
    const swapped = whole
      .replace('@@signage-probe:current', '@@signage-probe:x')
      .replace('@@signage-probe:booted', '@@signage-probe:current');
    expect(parseProbeOutput(swapped).ok).toBe(false);
  });

  it('names every section in the script', () => {
    for (const s of PROBE_SECTIONS) expect(PROBE_SCRIPT).toContain(`s ${s}`);
  });
});
