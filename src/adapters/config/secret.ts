// A secret value that cannot be printed by accident: string conversion, JSON and util.inspect (console.log,
// loggers) all show `[redacted]`. Code that needs the value asks for it by name, with `reveal()`.
import { inspect } from 'node:util';

const SHOWN = '[redacted]';

export class Secret {
  // A private field: not an own property, so no inspection or serialisation can reach it.
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return SHOWN;
  }

  toJSON(): string {
    return SHOWN;
  }

  [Symbol.toPrimitive](): string {
    return SHOWN;
  }

  [inspect.custom](): string {
    return `Secret(${SHOWN})`;
  }
}
