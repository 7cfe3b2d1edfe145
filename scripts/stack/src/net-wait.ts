import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether something accepts TCP connections on host:port right now. */
export function acceptsTcp(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Checked between attempts; a non-undefined result aborts the wait with that error. */
  abortIf?: () => Error | undefined;
}

/** Polls until every port accepts TCP; rejects with the ports still closed after the timeout. */
export async function waitForTcpPorts(host: string, ports: readonly number[], options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let closed = [...ports];
  for (;;) {
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw aborted;
    const results = await Promise.all(closed.map((port) => acceptsTcp(host, port)));
    closed = closed.filter((_, index) => !results[index]);
    if (closed.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`port${closed.length > 1 ? 's' : ''} ${closed.join(', ')} on ${host} did not accept connections within ${options.timeoutMs} ms`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/**
 * Whether a listener could bind host:port now. A wildcard host ('' / '::' /
 * '0.0.0.0') is tried dual-stack, so a listener on either family counts.
 */
export async function canListen(host: string, port: number): Promise<boolean> {
  const wildcard = host === '' || host === '::' || host === '0.0.0.0' || host === '*';
  const attempt = (address: string): Promise<NodeJS.ErrnoException | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
      server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
  if (!wildcard) return (await attempt(host)) === undefined;
  const error = await attempt('::');
  // Hosts without IPv6 cannot bind "::" at all; the IPv4 wildcard is what a daemon would get there.
  if (error?.code === 'EAFNOSUPPORT' || error?.code === 'EADDRNOTAVAIL') return (await attempt('0.0.0.0')) === undefined;
  return error === undefined;
}
