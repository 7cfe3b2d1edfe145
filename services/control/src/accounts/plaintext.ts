import { inspect } from 'node:util';

/**
 * A plaintext password on its way to an in-process relay (Murmur keeps its own password hash,
 * so it must be given the password itself). Wrapped so that it cannot reach a log, a JSON body
 * or an error message by accident: printing, inspecting or serialising it shows `[redacted]`;
 * only `reveal()` gives the value.
 */
export class Plaintext {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}
