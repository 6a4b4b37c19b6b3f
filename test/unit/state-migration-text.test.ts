// Released migrations are never edited: files out there already ran them. Migrations 6, 7 and 8 are written
// with a helper (a table made anew); the statements it gives must be the very text those files ran, kept
// here as it was released.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/adapters/state/schema.ts';

const released = (version: number) =>
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'state', `migration-${version}.sql`), 'utf8');

describe('released migrations', () => {
  it.each([6, 7, 8])('version %i runs the statements it was released with, byte for byte', (version) => {
    const migration = MIGRATIONS.find((m) => m.version === version);
    expect(migration?.sql).toBe(released(version));
  });
});
