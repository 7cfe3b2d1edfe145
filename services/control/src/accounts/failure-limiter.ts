/**
 * Counts failed logins per key (an account, a source address) in a sliding window. Only
 * failures count: any number of successful logins from one address is never throttled.
 * Pure apart from the injected clock, so it is tested directly.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the key may try again, or 0 when it may try now. */
  retryAfterSeconds(key: string): number {
    const times = this.live(key);
    if (times.length < this.limit) return 0;
    const oldest = times[times.length - this.limit]!;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  recordFailure(key: string): void {
    const times = this.live(key);
    times.push(this.now());
    // Keep only what can still matter, so one hostile key cannot grow memory without bound.
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    this.failures.set(key, times);
  }

  /** A success clears an account's failures (not an address's: one good login must not reset a spray). */
  clear(key: string): void {
    this.failures.delete(key);
  }

  private live(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const times = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) this.failures.delete(key);
    return times;
  }

  /** Drops empty windows; called periodically. */
  sweep(): void {
    for (const key of [...this.failures.keys()]) this.live(key);
  }

  get size(): number {
    return this.failures.size;
  }
}
