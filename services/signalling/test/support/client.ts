import WebSocket from 'ws';

export type Message = { type: string; [key: string]: unknown };

/**
 * A real `ws` client that queues what the server sends, so a test can wait for the next message
 * of a type (failing, with what did arrive, if the connection closes first).
 */
export class TestClient {
  readonly messages: Message[] = [];
  private waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void; reject: (e: Error) => void }> = [];
  closed: { code: number; reason: string } | undefined;
  private closedWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      const i = this.waiters.findIndex((w) => w.match(message));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(message);
      else this.messages.push(message);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters) w.reject(new Error(`closed (${code}) while waiting; unread: ${JSON.stringify(this.messages)}`));
      this.waiters = [];
      for (const done of this.closedWaiters) done(this.closed);
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Opens, says hello, and answers the welcome. */
  static async hello(url: string, token: string): Promise<{ client: TestClient; welcome: Message }> {
    const client = await TestClient.open(url);
    client.send({ type: 'hello', token });
    return { client, welcome: await client.next('welcome') };
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message of `type` (and matching `where`), already received or still to come. */
  next(type: string, where: (m: Message) => boolean = () => true): Promise<Message> {
    const match = (m: Message) => m.type === type && where(m);
    const i = this.messages.findIndex(match);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]!);
    if (this.closed) return Promise.reject(new Error(`closed; unread: ${JSON.stringify(this.messages)}`));
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  /** Sends and waits for the `error` that echoes `id`. */
  async refused(message: Record<string, unknown>, id: string): Promise<Message> {
    this.send({ ...message, id });
    return this.next('error', (m) => m.ref === id);
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  close(): void {
    this.ws.close();
  }
}
