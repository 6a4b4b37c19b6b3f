import { describe, expect, it } from 'vitest';
import { resolveHosts } from '../../src/adapters/config/hosts.ts';
import { parseConfig } from '../../src/adapters/config/parse.ts';
import { formatConfigError } from '../../src/adapters/config/problems.ts';
import {
  offOnSchedule,
  type PolicySources,
  resolvePolicy,
  windowOpen,
  windowWait,
} from '../../src/core/policy.ts';
import { parseWindows, type TimeWindow } from '../../src/core/windows.ts';

function ws(...texts: string[]): TimeWindow[] {
  const p = parseWindows(texts);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

const sources: PolicySources = {
  sites: {
    baard: { timezone: 'Europe/Oslo', windows: ws('Mon-Fri 22:00-06:00'), offHours: ws('01:00-06:00') },
  },
  tags: {
    lobby: { windows: ws('12:00-13:00') },
    late: { windows: ws('23:00-23:30'), timezone: 'UTC' },
  },
  defaultTimezone: 'America/New_York',
};

describe('a host policy', () => {
  it('takes the first tag that sets a field, then the site, then the defaults', () => {
    expect(resolvePolicy({ site: 'baard', tags: [] }, sources)).toEqual(sources.sites.baard);
    const lobby = resolvePolicy({ site: 'baard', tags: ['lobby', 'late'] }, sources);
    expect(lobby.windows?.map((w) => w.text)).toEqual(['12:00-13:00']);
    expect(lobby.timezone).toBe('UTC');
    expect(lobby.offHours?.map((w) => w.text)).toEqual(['01:00-06:00']);
    expect(resolvePolicy({ site: 'oslo', tags: ['nothing'] }, sources)).toEqual({
      timezone: 'America/New_York',
      windows: null,
      offHours: null,
    });
  });

  it('says what waits for the window and when it opens', () => {
    const p = resolvePolicy({ site: 'baard', tags: [] }, sources);
    // Monday 2026-12-07 12:00 UTC is 13:00 in Oslo.
    const noon = new Date('2026-12-07T12:00:00Z');
    expect(windowOpen(p, noon)).toBe(false);
    expect(windowWait(p, noon)).toEqual({
      windows: 'Mon-Fri 22:00-06:00',
      opensAt: new Date('2026-12-07T21:00:00Z'),
      text: 'activation waits for the window Mon-Fri 22:00-06:00 (Europe/Oslo), next opening Mon 22:00 Europe/Oslo',
    });
    expect(windowWait(p, new Date('2026-12-07T21:00:00Z'))).toBeNull();
    expect(windowOpen(resolvePolicy({ site: 'x', tags: [] }, sources), noon)).toBe(true);
  });

  it('says when the screen is off on schedule', () => {
    const p = resolvePolicy({ site: 'baard', tags: [] }, sources);
    expect(offOnSchedule(p, new Date('2026-12-07T01:30:00Z'))).toBe(true);
    expect(offOnSchedule(p, new Date('2026-12-07T12:00:00Z'))).toBe(false);
    expect(offOnSchedule(resolvePolicy({ site: 'x', tags: [] }, sources), new Date())).toBe(false);
  });
});

function parse(extra: string) {
  return parseConfig(
    `flake: ./fleet
stateDir: /var/lib/signage
builder: {signingKeyFile: /k}
ssh: {knownHostsFile: /kh, identityFile: /id}
${extra}`,
    'signage.yml',
  );
}

describe('sites and tags in the configuration', () => {
  it('resolve into each host', () => {
    const r = parse(`defaults: {site: baard}
hosts:
  cafe-wall: {tags: [night]}
sites:
  baard: {timezone: Europe/Oslo, windows: ["Mon-Fri 22:00-06:00"], offHours: ["01:00-06:00"]}
tags:
  night: {windows: ["Sat,Sun 00:00-24:00"]}
`);
    if (!r.ok) throw new Error(formatConfigError(r.error));
    const hosts = resolveHosts(r.value, ['cafe-wall', 'lobby']);
    if (!hosts.ok) throw new Error(formatConfigError(hosts.error));
    const [cafe, lobby] = hosts.value;
    expect(cafe!.policy?.windows?.map((w) => w.text)).toEqual(['Sat,Sun 00:00-24:00']);
    expect(cafe!.policy?.timezone).toBe('Europe/Oslo');
    expect(lobby!.policy?.windows?.map((w) => w.text)).toEqual(['Mon-Fri 22:00-06:00']);
    expect(lobby!.policy?.offHours?.map((w) => w.text)).toEqual(['01:00-06:00']);
  });

  it('name a bad window, zone or field by its path', () => {
    const r = parse(`sites:
  baard:
    timezone: Europe/Osl
    windows: ["Mon-Fri 22:00-06:00", "Sun 25:00-26:00"]
    offHours: []
    opening: ["09:00-17:00"]
`);
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : formatConfigError(r.error);
    expect(text).toContain('sites.baard.timezone');
    expect(text).toContain('an IANA time zone like "Europe/Oslo"');
    expect(text).toContain('sites.baard.windows[1]: "25:00" is not a time of day');
    expect(text).toContain('sites.baard.offHours: an empty list; leave the field out for no restriction');
    expect(text).toContain('timezone, windows, offHours');
  });

  it('refuse a site or tag no host has', () => {
    const r = parse(`defaults: {site: baard, tags: [screen]}
sites:
  bard: {windows: ["22:00-06:00"]}
tags:
  screens: {windows: ["22:00-06:00"]}
`);
    if (!r.ok) throw new Error(formatConfigError(r.error));
    const hosts = resolveHosts(r.value, ['lobby']);
    expect(hosts.ok).toBe(false);
    const text = hosts.ok ? '' : formatConfigError(hosts.error);
    expect(text).toContain("sites.bard: no host has the site bard; the hosts' sites are: baard");
    expect(text).toContain("tags.screens: no host has the tag screens; the hosts' tags are: screen");
  });
});
