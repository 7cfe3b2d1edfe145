/**
 * The SASL agent: InspIRCd's m_sasl relays a client's AUTHENTICATE exchange to the
 * services server named in `<sasl target>`, as
 *
 *   :<hub> ENCAP <our sid> SASL <client uid> * H <host> <ip> <P|S>      client host/ip, plaintext or TLS
 *   :<hub> ENCAP <our sid> SASL <client uid> * S <mechanism> [certfp]     AUTHENTICATE <mechanism>
 *   :<hub> ENCAP <our sid> SASL <client uid> <agent> C <data>            each further AUTHENTICATE line
 *                                                                        (`*` = client aborted; hub already sent 906)
 *
 * and we answer with `ENCAP <client's sid> SASL <agent uid> <client uid> C|M|D <data>`:
 * `C +` asks for the response, `M <mechs>` lists mechanisms (908), `D S` / `D F` ends it
 * (903 / 904). On success the account is set first (`METADATA <uid> accountname :<name>`)
 * so the client's 900 RPL_LOGGEDIN precedes 903.
 *
 * Only PLAIN is offered: base64(authzid NUL authcid NUL password), sent by clients in
 * 400-character chunks where a chunk of exactly 400 means "more follows" and `+` is an
 * empty chunk.
 */
import { type LinkLogger, silentLogger } from './logger.js';

export type SaslVerdict = { ok: true; account: string } | { ok: false; reason: 'invalid' | 'disabled' | 'throttled' };

/** Implemented by the accounts module. `password` may be the password or a valid access token. */
export interface SaslAuthenticator {
  authenticate(authcid: string, password: string, ctx: { ip?: string }): Promise<SaslVerdict>;
}

/** How the agent talks back through the link. */
export interface SaslTransport {
  /** Send `ENCAP <sid of client> SASL <agent> <client> <type> <data>`. */
  sendSasl(clientUid: string, type: 'C' | 'M' | 'D', data: string): void;
  /** Send `METADATA <client> accountname :<account>`. */
  setAccount(clientUid: string, account: string): void;
}

export interface SaslAgentOptions {
  readonly authenticator: SaslAuthenticator;
  readonly transport: SaslTransport;
  readonly logger?: LinkLogger;
  /** A session not finished within this time is failed and forgotten. Default 60 s. */
  readonly sessionTimeoutMs?: number;
  /** Concurrent sessions; beyond this new ones are refused with `D F`. Default 10,000. */
  readonly maxSessions?: number;
  /** Maximum accumulated base64 response length. Default 4,096. */
  readonly maxResponseLength?: number;
}

export interface SaslCounters {
  started: number;
  succeeded: number;
  failed: number;
  aborted: number;
  timedOut: number;
  /** Inbound SASL messages that fit no session or were malformed. */
  ignored: number;
}

export const SASL_MECHANISMS = ['PLAIN'] as const;

/** Clients split AUTHENTICATE payloads into chunks of this many characters. */
export const SASL_CHUNK = 400;

type SessionPhase = 'started' | 'awaiting-response' | 'verifying';

interface Session {
  readonly clientUid: string;
  ip?: string;
  host?: string;
  mechanism: string | null;
  phase: SessionPhase;
  response: string;
  timer: NodeJS.Timeout;
}

export type PlainCredentials = { authcid: string; password: string };

/**
 * Decode a SASL PLAIN response. Returns null when it is not valid base64 of valid UTF-8
 * `authzid NUL authcid NUL password`, when authcid or password is empty, or when an
 * authzid is given that differs from authcid (we do not let one account act as another).
 */
export function decodePlain(base64: string): PlainCredentials | null {
  if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64'));
  } catch {
    return null;
  }
  const parts = text.split('\0');
  if (parts.length !== 3) return null;
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authcid.length === 0 || password.length === 0) return null;
  if (authzid.length > 0 && authzid !== authcid) return null;
  return { authcid, password };
}

/**
 * An account name we are willing to put on the network: it travels as a METADATA value,
 * in account-tag and in extended-join (where `*` means "no account"), so no whitespace,
 * no control characters, no leading ':' and not `*`.
 */
export function isPublishableAccountName(account: string): boolean {
  return (
    account.length > 0 &&
    Buffer.byteLength(account, 'utf8') <= 100 &&
    account !== '*' &&
    !account.startsWith(':') &&
    // eslint-disable-next-line no-control-regex -- control characters are what an account name must not hold
    !/[\s\u0000-\u001f\u007f]/u.test(account)
  );
}

export class SaslAgent {
  private readonly sessions = new Map<string, Session>();
  private readonly authenticator: SaslAuthenticator;
  private readonly transport: SaslTransport;
  private readonly log: LinkLogger;
  private readonly sessionTimeoutMs: number;
  private readonly maxSessions: number;
  private readonly maxResponseLength: number;
  readonly counters: SaslCounters = { started: 0, succeeded: 0, failed: 0, aborted: 0, timedOut: 0, ignored: 0 };

  constructor(options: SaslAgentOptions) {
    this.authenticator = options.authenticator;
    this.transport = options.transport;
    this.log = options.logger ?? silentLogger;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 60_000;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.maxResponseLength = options.maxResponseLength ?? 4096;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * Handle the parameters following `SASL` in an inbound ENCAP: `<client> <agent> <type> <data...>`.
   * Returns false when the message was ignored. Never throws.
   */
  handle(params: readonly string[]): boolean {
    const [clientUid, , type, ...data] = params;
    if (clientUid === undefined || type === undefined) return this.ignore();
    switch (type) {
      case 'H':
        return this.onHost(clientUid, data);
      case 'S':
        return this.onStart(clientUid, data);
      case 'C':
        return this.onClientData(clientUid, data);
      case 'D':
        return this.onDone(clientUid);
      default:
        return this.ignore();
    }
  }

  /** Forget every session (the link went down: the hub has forgotten them too). Pending verdicts are dropped. */
  reset(): void {
    for (const session of this.sessions.values()) clearTimeout(session.timer);
    this.sessions.clear();
  }

  private ignore(): false {
    this.counters.ignored++;
    return false;
  }

  /**
   * Start a session for the client. At the session limit nothing is started; the refusal
   * (`D F`) is sent for the mechanism message only, since H always arrives just before it.
   */
  private open(clientUid: string, refuseVisibly: boolean): Session | null {
    const existing = this.sessions.get(clientUid);
    if (existing) this.discard(existing);
    if (this.sessions.size >= this.maxSessions) {
      if (refuseVisibly) {
        this.log.warn({ clientUid, sessions: this.sessions.size }, 'SASL session limit reached, refusing');
        this.counters.failed++;
        this.transport.sendSasl(clientUid, 'D', 'F');
      }
      return null;
    }
    const session: Session = {
      clientUid,
      mechanism: null,
      phase: 'started',
      response: '',
      timer: setTimeout(() => this.onTimeout(session), this.sessionTimeoutMs),
    };
    session.timer.unref();
    this.sessions.set(clientUid, session);
    this.counters.started++;
    return session;
  }

  private discard(session: Session): void {
    clearTimeout(session.timer);
    if (this.sessions.get(session.clientUid) === session) this.sessions.delete(session.clientUid);
  }

  private onHost(clientUid: string, data: readonly string[]): boolean {
    const [host, ip] = data;
    if (host === undefined || ip === undefined) return this.ignore();
    const session = this.open(clientUid, false);
    if (!session) return true;
    session.host = host;
    session.ip = ip;
    return true;
  }

  private onStart(clientUid: string, data: readonly string[]): boolean {
    const [mechanism] = data;
    if (mechanism === undefined) return this.ignore();
    let session = this.sessions.get(clientUid);
    // A second S on a session that already chose a mechanism is a new attempt.
    if (!session || session.mechanism !== null) session = this.open(clientUid, true) ?? undefined;
    if (!session) return true;
    session.mechanism = mechanism.toUpperCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(session.mechanism)) {
      // 908 tells the client what we offer; D F ends this attempt so it can retry with one of them.
      this.transport.sendSasl(clientUid, 'M', SASL_MECHANISMS.join(','));
      this.finish(session, false, 'unsupported mechanism');
      return true;
    }
    session.phase = 'awaiting-response';
    this.transport.sendSasl(clientUid, 'C', '+');
    return true;
  }

  private onClientData(clientUid: string, data: readonly string[]): boolean {
    const session = this.sessions.get(clientUid);
    const [chunk] = data;
    if (!session || chunk === undefined) return this.ignore();
    if (chunk === '*') {
      // The hub already told the client 906 and dropped its side; nothing to send.
      this.counters.aborted++;
      this.discard(session);
      return true;
    }
    if (session.phase !== 'awaiting-response') return this.ignore();
    if (chunk.length > SASL_CHUNK || (chunk !== '+' && !/^[A-Za-z0-9+/=]+$/.test(chunk))) {
      this.finish(session, false, 'malformed response chunk');
      return true;
    }
    if (chunk !== '+') session.response += chunk;
    if (session.response.length > this.maxResponseLength) {
      this.finish(session, false, 'response too long');
      return true;
    }
    if (chunk.length === SASL_CHUNK) return true; // more follows
    session.phase = 'verifying';
    void this.verify(session);
    return true;
  }

  private onDone(clientUid: string): boolean {
    const session = this.sessions.get(clientUid);
    if (!session) return this.ignore();
    this.discard(session);
    return true;
  }

  private onTimeout(session: Session): void {
    if (this.sessions.get(session.clientUid) !== session) return;
    this.counters.timedOut++;
    this.finish(session, false, 'timed out');
  }

  private async verify(session: Session): Promise<void> {
    const credentials = decodePlain(session.response);
    if (!credentials) {
      this.finish(session, false, 'malformed PLAIN response');
      return;
    }
    let verdict: SaslVerdict;
    try {
      verdict = await this.authenticator.authenticate(credentials.authcid, credentials.password, session.ip === undefined ? {} : { ip: session.ip });
    } catch (error) {
      this.log.error({ err: error, clientUid: session.clientUid }, 'SASL authenticator threw');
      verdict = { ok: false, reason: 'invalid' };
    }
    // The client may have aborted, retried, timed out or the link may have dropped meanwhile.
    if (this.sessions.get(session.clientUid) !== session) return;
    if (verdict.ok && !isPublishableAccountName(verdict.account)) {
      this.log.error({ clientUid: session.clientUid }, 'authenticator returned an account name unsafe for IRC');
      this.finish(session, false, 'unsafe account name', credentials.authcid);
      return;
    }
    if (verdict.ok) {
      this.transport.setAccount(session.clientUid, verdict.account);
      this.finish(session, true, 'ok', credentials.authcid, verdict.account);
    } else {
      this.finish(session, false, verdict.reason, credentials.authcid);
    }
  }

  private finish(session: Session, success: boolean, reason: string, authcid?: string, account?: string): void {
    this.discard(session);
    if (success) this.counters.succeeded++;
    else this.counters.failed++;
    this.log.info(
      { clientUid: session.clientUid, ip: session.ip, mechanism: session.mechanism, authcid, account, reason },
      success ? 'SASL login succeeded' : 'SASL login failed',
    );
    this.transport.sendSasl(session.clientUid, 'D', success ? 'S' : 'F');
  }
}
