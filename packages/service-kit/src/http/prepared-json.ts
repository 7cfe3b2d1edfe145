/**
 * A JSON answer serialized once, for a route that hands the very same body to many requests (the
 * newest page of a busy channel, say): the shell's direct path sends its bytes as they are, and
 * express's `res.json()` serializes it as its value (`toJSON`), so the answer is the same bytes
 * either way. The value must not change once prepared.
 */
export class PreparedJson {
  /** The UTF-8 bytes of `JSON.stringify(value)`. */
  readonly bytes: Buffer;

  constructor(readonly value: unknown) {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError('PreparedJson: the value has no JSON form');
    this.bytes = Buffer.from(text, 'utf8');
  }

  toJSON(): unknown {
    return this.value;
  }
}
