// The few settings the environment may give: only where the file says nothing. systemd gives the state
// directory; an operator's shell gives the agent; a deployment may keep the signing key's path outside the
// file. The file always wins, so what it says is what runs.
import type { Env } from './parse.ts';
import type { PathSegment } from './problems.ts';

export interface EnvFill {
  readonly path: readonly PathSegment[];
  readonly variable: string;
  readonly value: string;
}

type Mapping = Record<string, unknown>;

const isMapping = (v: unknown): v is Mapping => typeof v === 'object' && v !== null && !Array.isArray(v);
const given = (env: Env, name: string): string | undefined => (env[name] ? env[name] : undefined);

/** A copy of the parsed file with the environment's values filled in, and what was filled from where. */
export function fillFromEnv(raw: unknown, env: Env): { raw: unknown; filled: EnvFill[] } {
  if (!isMapping(raw)) return { raw, filled: [] };
  const out: Mapping = { ...raw };
  const filled: EnvFill[] = [];
  const fill = (path: readonly PathSegment[], variable: string, value: string) => {
    filled.push({ path, variable, value });
    return value;
  };

  // systemd's StateDirectory= may list several, separated by colons: the first is the bot's.
  const stateDirectory = given(env, 'STATE_DIRECTORY')?.split(':')[0];
  if (out.stateDir === undefined && stateDirectory) {
    out.stateDir = fill(['stateDir'], 'STATE_DIRECTORY', stateDirectory);
  }

  const signingKey = given(env, 'SIGNAGE_SIGNING_KEY_FILE');
  if (signingKey && (out.builder === undefined || out.builder === null || isMapping(out.builder))) {
    const builder: Mapping = { ...(out.builder ?? {}) };
    if (builder.signingKeyFile === undefined) {
      builder.signingKeyFile = fill(['builder', 'signingKeyFile'], 'SIGNAGE_SIGNING_KEY_FILE', signingKey);
      out.builder = builder;
    }
  }

  return { raw: out, filled };
}
