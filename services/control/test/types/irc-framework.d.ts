/**
 * The part of irc-framework (which ships no types) that the end-to-end tests drive: a stock
 * IRCv3 client library logging in with SASL, as a real app would.
 */
declare module 'irc-framework' {
  interface ConnectOptions {
    host: string;
    port: number;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    nick: string;
    username?: string;
    gecos?: string;
    account?: { account: string; password: string };
    auto_reconnect?: boolean;
  }

  export class Client {
    connect(options: ConnectOptions): void;
    join(channel: string, key?: string): void;
    say(target: string, message: string): void;
    quit(message?: string): void;
    on(event: 'raw', listener: (event: { line: string; from_server: boolean }) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    once(event: string, listener: (...args: unknown[]) => void): this;
  }

  const IRC: { Client: typeof Client };
  export default IRC;
}
