// Keeps each verb's argument and result types inferred from its schema and `run`.
import type { Engine } from '../engine/engine.ts';
import type { Verb } from './verb.ts';

export function defineVerb<Args, Result>(verb: Verb<Engine, Args, Result>): Verb<Engine, Args, Result> {
  return verb;
}
