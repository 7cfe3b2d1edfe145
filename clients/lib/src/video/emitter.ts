/**
 * A small typed event emitter that runs the same in browsers and Node (no `events` polyfill for
 * the library's own events). A throwing listener does not stop the others: it is reported once
 * through `queueMicrotask`, as an uncaught error, where the page's error handlers see it.
 */
export type Listener<A> = (arg: A) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Resolves with the next event of this kind that `where` accepts. */
  next<K extends keyof Events>(event: K, where: (arg: Events[K]) => boolean = () => true): Promise<Events[K]> {
    return new Promise((resolve) => {
      const stop = this.on(event, (arg) => {
        if (!where(arg)) return;
        stop();
        resolve(arg);
      });
    });
  }

  protected emit<K extends keyof Events>(event: K, arg: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(arg);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
