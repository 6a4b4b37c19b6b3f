// docs/configuration.md is what operators copy from: its examples must be valid, and it must mention every
// field the configuration has.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/adapters/config/parse.ts';
import { formatConfigError } from '../../src/adapters/config/problems.ts';
import type { Config } from '../../src/adapters/config/schema.ts';

const doc = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

function valid(text: string): Config {
  const r = parseConfig(text, 'docs/configuration.md');
  if (!r.ok) throw new Error(`${formatConfigError(r.error)}\n${text}`);
  return r.value;
}

function fieldNames(value: unknown, skipKeysOf: ReadonlySet<unknown>, into = new Set<string>()): Set<string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return into;
  for (const [key, inner] of Object.entries(value)) {
    if (!skipKeysOf.has(value)) into.add(key);
    fieldNames(inner, skipKeysOf, into);
  }
  return into;
}

describe('docs/configuration.md', () => {
  const [complete, minimal, ...sections] = blocks;

  it('has a complete example and a minimal one that are valid', () => {
    expect(blocks.length).toBeGreaterThan(2);
    valid(complete!);
    valid(minimal!);
  });

  it('has section examples that are valid beside the minimal file', () => {
    for (const section of sections) valid(stringify({ ...parse(minimal!), ...parse(section) }));
  });

  it('documents every field of the complete example', () => {
    const config = valid(complete!);
    // Host, site and tag names are the fleet's, not fields.
    const names = fieldNames(config, new Set([config.hosts, config.sites, config.tags]));
    for (const name of [...names, 'agentSocket', 'identityFile', 'port', 'user', 'usergroup']) {
      // As `name`, or within a dotted path like `approvers.users`.
      expect(doc, `the field ${name}`).toMatch(new RegExp(`\`([\\w.]*\\.)?${name}(\\.[\\w.]*)?\``));
    }
    expect(names.size).toBeGreaterThan(30);
  });
});
