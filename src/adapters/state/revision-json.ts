// A fleet revision as the state file keeps it: JSON text in `runs.revision` and `deployments.revision`.
// Read back defensively: a value this version cannot read is treated as unknown rather than trusted.
import { z } from 'zod';
import type { Revision } from '../../core/revision.ts';

const nullableString = z.string().nullable();

const revision = z.object({
  flake: z.string(),
  requested: nullableString,
  branch: nullableString,
  rev: nullableString,
  dirty: z.boolean(),
  path: nullableString,
  subject: z.string().optional(),
  author: z.string().optional(),
  onDefault: z.boolean(),
  defaultBranch: nullableString,
});

export function revisionJson(r: Revision | null | undefined): string | null {
  return r ? JSON.stringify(r) : null;
}

export function revisionOf(value: unknown): Revision | null {
  if (typeof value !== 'string') return null;
  try {
    const parsed = revision.safeParse(JSON.parse(value));
    if (!parsed.success) return null;
    const { subject, author, ...rest } = parsed.data;
    return {
      ...rest,
      ...(subject === undefined ? {} : { subject }),
      ...(author === undefined ? {} : { author }),
    };
  } catch {
    return null;
  }
}
