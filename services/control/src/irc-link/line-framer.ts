/**
 * Cuts the hub's byte stream (already decoded as UTF-8) into lines. No I/O here.
 *
 * A line ends at LF, with an optional CR before it; empty lines are skipped (RFC 1459). A
 * peer that never sends a newline must not make us buffer without bound: past
 * `maxPendingChars` the partial line is thrown away, and so is the rest of it up to the next
 * newline, so that its tail is never taken for a line of its own.
 */

/** Beyond this many buffered characters without a newline we discard input until the next newline. */
export const MAX_PENDING_CHARS = 65_536;

export class LineFramer {
  private pending = '';
  private discardingOversizedLine = false;

  constructor(private readonly maxPendingChars = MAX_PENDING_CHARS) {}

  /** Forget any partial line (a new connection starts clean). */
  reset(): void {
    this.pending = '';
    this.discardingOversizedLine = false;
  }

  /**
   * Add `chunk` and hand every complete line to `deliver`, in order. `deliver` returns false to
   * stop reading this chunk (the connection it came from was closed); the rest stays buffered
   * and is dropped by the next `reset`.
   * @returns how many characters were thrown away as an oversized line (0 almost always).
   */
  push(chunk: string, deliver: (line: string) => boolean): number {
    this.pending += chunk;
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) !== -1) {
      let line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (this.discardingOversizedLine) {
        this.discardingOversizedLine = false;
        continue;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length === 0) continue;
      if (!deliver(line)) return 0;
    }
    if (this.pending.length <= this.maxPendingChars) return 0;
    const discarded = this.pending.length;
    this.pending = '';
    this.discardingOversizedLine = true;
    return discarded;
  }
}
