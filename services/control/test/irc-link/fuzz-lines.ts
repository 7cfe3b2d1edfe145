/**
 * Seeded generator of hostile inbound lines for the server link: random bytes, broken tags,
 * huge parameters, odd Unicode, lone CRs, commands with missing parameters, unknown commands,
 * and well-formed-looking protocol lines (SASL, UID, FJOIN, METADATA, PING, ...) carrying
 * garbage. The same seed always yields the same lines, so a failure reproduces.
 */

import { seededRandom } from '@alloquy/protocol/testing';

export interface FuzzContext {
  readonly hubSid: string;
  readonly hubName: string;
  readonly ourSid: string;
  readonly ourName: string;
  readonly agentUid: string;
  /** UIDs that exist on the hub, so garbage sometimes hits real users. */
  readonly knownUids?: readonly string[];
  /**
   * Leave out the few lines a real hub only sends when they are true about us: ones that
   * end the link (ERROR, SQUIT of our server) and KILL/SAVE of our own pseudo-client (we act
   * on those by reintroducing or renaming it). For tests that must prove the link survives
   * everything else.
   */
  readonly truthfulAboutUs?: boolean;
}

const PROTOCOL_COMMANDS = [
  'PING',
  'PONG',
  'SERVER',
  'SQUIT',
  'RSQUIT',
  'UID',
  'QUIT',
  'KILL',
  'NICK',
  'SAVE',
  'FHOST',
  'FIDENT',
  'FNAME',
  'METADATA',
  'FJOIN',
  'IJOIN',
  'PART',
  'KICK',
  'FTOPIC',
  'TOPIC',
  'ENCAP',
  'BURST',
  'ENDBURST',
  'IDLE',
  'PRIVMSG',
  'NOTICE',
  'TAGMSG',
  'FMODE',
  'MODE',
  'OPERTYPE',
  'AWAY',
  'SINFO',
  'CAPAB',
  'ERROR',
  'SVSNICK',
  'SVSJOIN',
  'NUM',
  'ADDLINE',
] as const;

export class FuzzLineGenerator {
  private readonly random: () => number;

  constructor(
    seed: number,
    private readonly ctx: FuzzContext,
  ) {
    this.random = seededRandom(seed);
  }

  lines(count: number): string[] {
    return Array.from({ length: count }, () => this.next());
  }

  /** The next line, honouring `truthfulAboutUs`. */
  next(): string {
    for (;;) {
      const line = this.anyLine();
      if (!(this.ctx.truthfulAboutUs && this.liesAboutUs(line))) return line;
    }
  }

  private anyLine(): string {
    const generators = [
      () => this.randomBytes(),
      () => this.brokenTags(),
      () => this.hugeParams(),
      () => this.unicodeNoise(),
      () => this.loneCr(),
      () => this.missingParams(),
      () => this.unknownCommand(),
      () => this.garbageSasl(),
      () => this.garbageUid(),
      () => this.garbageFjoin(),
      () => this.garbageMetadata(),
      () => this.garbageProtocolLine(),
      () => this.garbageProtocolLine(),
    ];
    return this.pick(generators)();
  }

  private liesAboutUs(line: string): boolean {
    const words = line
      .replace(/^@\S*\s+/, '')
      .replace(/^:\S+\s+/, '')
      .split(' ')
      .filter(Boolean);
    const command = (words[0] ?? '').toUpperCase();
    const target = (words[1] ?? '').replace(/^:/, '').toLowerCase();
    if (command === 'ERROR') return true;
    if (command === 'SQUIT') return target === this.ctx.ourSid.toLowerCase() || target === this.ctx.ourName.toLowerCase();
    if (command === 'KILL' || command === 'SAVE') return target === this.ctx.agentUid.toLowerCase();
    return false;
  }

  private int(max: number): number {
    return Math.floor(this.random() * max);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private randomBytes(): string {
    const length = this.int(700);
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.int(256));
    return text;
  }

  private unicodeNoise(): string {
    const pieces = ['\u{1F600}', '\u202E', '\u200B', '\uFEFF', '\uD800', '\uDFFF', 'é', 'Ω', '中文', '\u0301', '\u0000', '\u0085', '\u2028'];
    let text = this.chance(0.5) ? `:${this.source()} PRIVMSG #chan :` : '';
    const n = 1 + this.int(200);
    for (let i = 0; i < n; i++) text += this.chance(0.7) ? this.pick(pieces) : String.fromCodePoint(this.int(0x10ffff));
    return text;
  }

  private loneCr(): string {
    const base = this.garbageProtocolLine();
    const at = this.int(base.length + 1);
    return `${base.slice(0, at)}\r${base.slice(at)}`;
  }

  private brokenTags(): string {
    const tagForms = [
      '@',
      '@;',
      '@=',
      '@a=b;',
      '@;a',
      '@a b',
      '@+',
      '@vendor/',
      '@/key',
      '@a\\',
      '@a=\\',
      '@a=\\s\\:\\\\',
      '@a=b;=c',
      '@ké=v',
      '@a=b;a=c',
      `@${'x'.repeat(9000)}`,
      '@time=2024-01-01T00:00:00.000Z',
      '@msgid=abc;account=alice',
    ];
    const tags = this.pick(tagForms);
    const rest = this.chance(0.3) ? '' : ` ${this.garbageProtocolLine()}`;
    return tags + rest;
  }

  private hugeParams(): string {
    const command = this.pick(PROTOCOL_COMMANDS);
    if (this.chance(0.5)) return `:${this.source()} ${command} ${this.token()} :${'A'.repeat(400 + this.int(20_000))}`;
    const params = Array.from({ length: 20 + this.int(600) }, () => this.token() || 'x');
    return `:${this.source()} ${command} ${params.join(' ')}`;
  }

  private missingParams(): string {
    const command = this.pick(PROTOCOL_COMMANDS);
    const params = Array.from({ length: this.int(3) }, () => this.token() || 'x');
    return [this.chance(0.7) ? `:${this.source()}` : '', command, ...params].filter(Boolean).join(' ');
  }

  private unknownCommand(): string {
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const command = this.chance(0.3) ? String(this.int(1000)).padStart(3, '0') : Array.from({ length: 1 + this.int(12) }, () => letters[this.int(26)]).join('');
    return `:${this.source()} ${command} ${this.token()} :${this.token()}`;
  }

  private garbageSasl(): string {
    const type = this.pick(['H', 'S', 'C', 'D', 'M', 'X', '', '*']);
    const data = this.pick([
      'PLAIN',
      'EXTERNAL',
      'SCRAM-SHA-256',
      '+',
      '*',
      'AGFsaWNlAHB3',
      '!!!notbase64',
      'A'.repeat(400),
      'A'.repeat(401),
      'AAAA',
      '====',
      '',
      'S',
      'F',
      this.token(),
    ]);
    const target = this.pick([this.ctx.ourSid, this.ctx.ourName, '*', '*.alloquy.local', this.token()]);
    const parts = [`:${this.source()}`, 'ENCAP', target, 'SASL', this.uid(), this.pick(['*', this.ctx.agentUid, this.token()]), type, data];
    if (this.chance(0.3)) parts.push(this.token(), this.token());
    return parts.filter((part) => part !== '').join(' ');
  }

  private garbageUid(): string {
    const fields = [
      this.uid(),
      this.timestamp(),
      this.nickLike(),
      this.token(),
      this.token(),
      this.token(),
      this.pick(['127.0.0.1', '::1', 'not-an-ip', '0.0.0.0', this.token()]),
      this.timestamp(),
      this.pick(['+', '+i', 'i', '+x', '+s', '']),
      this.token(),
    ].slice(0, 5 + this.int(6));
    return `:${this.source()} UID ${fields.filter(Boolean).join(' ')} :${this.token()}`;
  }

  private garbageFjoin(): string {
    const members = Array.from({ length: this.int(8) }, () =>
      this.pick([`o,${this.uid()}`, `,${this.uid()}:1`, `${this.token()},${this.token()}`, ',', 'v,', this.uid()]),
    ).join(' ');
    return `:${this.source()} FJOIN ${this.pick(['#chan', 'chan', '#', '', this.token()])} ${this.timestamp()} ${this.pick(['+nt', '+', 'nt', '+k key', '+l'])} :${members}`;
  }

  private garbageMetadata(): string {
    const target = this.pick([this.uid(), '*', '#chan', this.token()]);
    const key = this.pick(['accountname', 'accountid', 'ssl_cert', 'saslmechlist', 'modules', this.token()]);
    return `:${this.source()} METADATA ${target} ${key} :${this.pick(['', 'alice', ' spaced value', this.token()])}`;
  }

  private garbageProtocolLine(): string {
    const command = this.pick(PROTOCOL_COMMANDS);
    const params = Array.from({ length: this.int(8) }, () => this.token() || 'x');
    const trailing = this.chance(0.5) ? ` :${this.token()}` : '';
    const source = this.chance(0.85) ? `:${this.source()} ` : '';
    return `${source}${command} ${params.join(' ')}${trailing}`;
  }

  private source(): string {
    return this.pick([this.ctx.hubSid, this.ctx.hubSid, this.ctx.hubName, this.uid(), this.ctx.ourSid, this.ctx.agentUid, '9ZZ', 'x', this.token() || 'y']);
  }

  private uid(): string {
    const known = this.ctx.knownUids ?? [];
    if (known.length > 0 && this.chance(0.3)) return this.pick(known);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const suffix = Array.from({ length: 6 }, () => alphabet[this.int(alphabet.length)]).join('');
    return this.pick([`${this.ctx.hubSid}${suffix}`, `${this.ctx.ourSid}${suffix}`, this.ctx.agentUid, `9ZZ${suffix}`, suffix, this.token()]);
  }

  private nickLike(): string {
    return this.pick(['alice', 'Alloquy', 'bob', '0nick', '-', '[]{}', this.token()]);
  }

  private timestamp(): string {
    return this.pick(['0', '1', '1700000000', String(Math.floor(Date.now() / 1000)), '-5', '99999999999999999999', 'abc', '']);
  }

  private token(): string {
    const forms = [
      () => '',
      () => ':',
      () => '::x',
      () => '*',
      () => '#chan',
      () => this.ctx.hubSid,
      () => this.ctx.ourSid,
      () => this.ctx.ourName,
      () => this.ctx.hubName,
      () => this.ctx.agentUid,
      () => String(this.int(1e9)),
      () => 'x'.repeat(1 + this.int(600)),
      () => '\u{1F4A9}\u202E',
      () => '\x01ACTION\x01',
      () => '=;\\s',
      () => Array.from({ length: 1 + this.int(20) }, () => String.fromCharCode(33 + this.int(94))).join(''),
    ];
    return this.pick(forms)();
  }
}
