// Reading the configuration text: YAML (so JSON too), checked against the schema, with every problem named
// by its field path and line. Pure: the file's text and the environment come in as arguments.
import { isAbsolute } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { fillFromEnv } from './env.ts';
import { lineOf } from './lines.ts';
import {
  type ConfigProblem,
  type ConfigResult,
  defaultMessage,
  failure,
  issueProblems,
  pathText,
} from './problems.ts';
import { type Config, configSchema } from './schema.ts';
import { show } from './show.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export function parseConfig(text: string, fileName: string, env: Env = {}): ConfigResult<Config> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return failure(
      fileName,
      doc.errors.map((e) => ({
        path: '',
        message:
          e.code === 'MULTIPLE_DOCS'
            ? 'the configuration file must hold one YAML document; this one has a second after a `---` line'
            : `not valid YAML: ${e.message.split('\n')[0]}`,
        line: counter.linePos(e.pos[0]).line,
      })),
    );
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return failure(fileName, [{ path: '', message: `not usable YAML: ${(e as Error).message}` }]);
  }
  if (raw === null || raw === undefined) {
    return failure(fileName, [
      {
        path: '',
        message:
          'the file is empty; it needs at least flake, stateDir, builder and ssh (docs/configuration.md)',
      },
    ]);
  }

  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return failure(fileName, [
      {
        path: '',
        message: `expected a mapping of settings (flake: …, stateDir: …), got ${show(raw)}`,
        line: 1,
      },
    ]);
  }

  const { raw: withEnv, filled } = fillFromEnv(raw, env);
  const problems: ConfigProblem[] = [];
  for (const f of filled) {
    if (!isAbsolute(f.value)) {
      problems.push({
        path: pathText(f.path),
        message: `$${f.variable} must be an absolute path, got ${JSON.stringify(f.value)}`,
      });
    }
  }

  const parsed = configSchema.safeParse(withEnv, { error: defaultMessage });
  if (parsed.success && problems.length === 0) return { ok: true, value: parsed.data };

  for (const p of parsed.success ? [] : issueProblems(parsed.error.issues)) {
    const path = pathText(p.path);
    const from = filled.find((f) => pathText(f.path) === path);
    if (from && problems.some((q) => q.path === path)) continue;
    const line = from ? undefined : lineOf(doc, counter, p.path);
    problems.push({
      path,
      message: from ? `${p.message} (from $${from.variable})` : p.message,
      ...(line === undefined ? {} : { line }),
    });
  }
  return failure(fileName, problems);
}
