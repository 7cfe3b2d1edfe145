import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptsTcp, canListen, waitForTcpPorts } from './net-wait.js';
import { freePort } from './ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

function listen(port: number, host: string): Promise<void> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
}

describe('canListen', () => {
  it('sees a port taken on loopback, also when asked about all interfaces', async () => {
    const port = await freePort();
    expect(await canListen('127.0.0.1', port)).toBe(true);
    expect(await canListen('', port)).toBe(true);
    await listen(port, '127.0.0.1');
    expect(await canListen('127.0.0.1', port)).toBe(false);
    expect(await canListen('0.0.0.0', port)).toBe(false);
    expect(await canListen('', port)).toBe(false);
  });

  it('sees a wildcard listener from a specific address', async () => {
    const port = await freePort();
    await listen(port, '::');
    expect(await canListen('127.0.0.1', port)).toBe(false);
  });
});

describe('waitForTcpPorts', () => {
  it('resolves once every port accepts and names the ones that never do', async () => {
    const [open, closed] = [await freePort(), await freePort()];
    setTimeout(() => void listen(open, '127.0.0.1'), 100);
    await waitForTcpPorts('127.0.0.1', [open], { timeoutMs: 3000 });
    expect(await acceptsTcp('127.0.0.1', open)).toBe(true);
    await expect(waitForTcpPorts('127.0.0.1', [open, closed], { timeoutMs: 200 })).rejects.toThrow(
      new RegExp(`port ${closed} on 127\\.0\\.0\\.1 did not accept connections within 200 ms`),
    );
    await expect(waitForTcpPorts('127.0.0.1', [closed], { timeoutMs: 5000, abortIf: () => new Error('the process exited') })).rejects.toThrow(
      'the process exited',
    );
  });
});
