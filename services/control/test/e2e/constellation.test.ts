/**
 * The "Must show", end to end: the whole stack started the way `scripts/up` starts it
 * (supervisor, real InspIRCd, real control server) on free ports in a temporary data folder;
 * accounts made over HTTP; stock-client behaviour checked with a raw TLS IRC client.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type RunningStack } from '@alloquy/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawIrcClient, connectWithSasl, type SaslOutcome } from '../irc-link/raw-client.js';
import { httpApi } from '../support/http-api.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
let stack: RunningStack;
let home: string;
const open: RawIrcClient[] = [];

const { post } = httpApi(() => stack.httpUrl);

async function sasl(nick: string, authcid: string, password: string, timeoutMs?: number): Promise<SaslOutcome> {
  const outcome = await connectWithSasl(stack.ports.ircTls, nick, { authcid, password }, { tls: true, timeoutMs });
  open.push(outcome.client);
  return outcome;
}

/** Joins #general and waits for the server's echo of our own JOIN. */
async function joinGeneral(client: RawIrcClient, nick: string): Promise<void> {
  client.send('JOIN #general');
  await client.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith(`${nick}!`) === true);
}

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.env }, input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'alloquy-e2e-'));
  stack = await startStack({ home });
  expect((await post('/api/v1/accounts', { username: 'alice', password: 'alice-password' })).status).toBe(201);
  expect((await post('/api/v1/accounts', { username: 'bob', password: 'bob-password' })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  for (const c of open) c.destroy();
  await stack?.stop();
}, 60_000);

describe('the constellation', () => {
  it('logs stock clients in with SASL over TLS and tags their messages with the account', async () => {
    const alice = await sasl('alice', 'alice', 'alice-password');
    const bob = await sasl('bob', 'bob', 'bob-password');
    expect(alice.numerics).toEqual(['900', '903']);
    expect(bob.success).toBe(true);
    await joinGeneral(alice.client, 'alice');
    await joinGeneral(bob.client, 'bob');
    const mark = bob.client.mark();
    alice.client.send('PRIVMSG #general :hello from alice');
    const msg = await bob.client.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hello from alice', 10_000, mark);
    expect(msg.source).toMatch(/^alice!/);
    expect(msg.tags.get('account')).toBe('alice');
    expect(msg.tags.get('time')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(msg.tags.get('msgid')).toBeTruthy();
  });

  it('answers 904 to a wrong password, an unknown user and a disabled user', async () => {
    expect((await sasl('mallory1', 'alice', 'not-her-password')).numerics).toEqual(['904']);
    expect((await sasl('mallory2', 'nobody', 'whatever-pass')).numerics).toEqual(['904']);
    expect((await post('/api/v1/accounts', { username: 'carol', password: 'carol-password' })).status).toBe(201);
    const disabled = cli(['user', 'disable', 'carol']);
    expect(disabled.code).toBe(0);
    expect((await sasl('carol', 'carol', 'carol-password')).numerics).toEqual(['904']);
  });

  it('accepts an access token as the SASL password', async () => {
    const session = await post('/api/v1/sessions', { username: 'bob', password: 'bob-password' });
    const outcome = await sasl('bobapp', 'bob', session.json.access_token);
    expect(outcome.numerics).toEqual(['900', '903']);
    // A token is bound to its account.
    expect((await sasl('bobfake', 'alice', session.json.access_token)).numerics).toEqual(['904']);
  });

  it('disconnects an account disabled while online, from the API and from the CLI', async () => {
    for (const name of ['dave', 'erin']) expect((await post('/api/v1/accounts', { username: name, password: `${name}-password` })).status).toBe(201);
    const dave = await sasl('dave', 'dave', 'dave-password');
    const erin = await sasl('erin', 'erin', 'erin-password');
    expect(dave.success && erin.success).toBe(true);

    const admin = await post('/api/v1/sessions', { username: 'alice', password: 'alice-password' });
    expect((await post('/api/v1/accounts/dave/disable', {}, admin.json.access_token)).status).toBe(200);
    await dave.client.waitFor((m) => m.command === 'ERROR', 10_000);
    await dave.client.closed;

    expect(cli(['user', 'disable', 'erin']).code).toBe(0);
    await erin.client.waitFor((m) => m.command === 'ERROR', 10_000);
    await erin.client.closed;
  });

  it('keeps users chatting through kill -9 of the control server, and SASL works again within 10 s', async () => {
    const alice = await sasl('alice2', 'alice', 'alice-password');
    const bob = await sasl('bob2', 'bob', 'bob-password');
    await joinGeneral(alice.client, 'alice2');
    await joinGeneral(bob.client, 'bob2');

    const before = stack.pidOf('control');
    expect(before).toBeTypeOf('number');
    process.kill(before!, 'SIGKILL');
    const killedAt = Date.now();

    // Text is InspIRCd's job: it keeps flowing with services gone.
    const mark = bob.client.mark();
    alice.client.send('PRIVMSG #general :still here');
    const msg = await bob.client.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'still here', 5000, mark);
    expect(msg.tags.get('account')).toBe('alice');
    expect(alice.client.isClosed || bob.client.isClosed).toBe(false);

    let loggedIn = false;
    let attempt = 0;
    const attempts: string[] = [];
    while (!loggedIn && Date.now() - killedAt < 10_000) {
      const started = Date.now() - killedAt;
      try {
        // A client that starts SASL just as services die is never answered (InspIRCd 3 does
        // not abort the exchange): like real clients, give each attempt its own timeout.
        const outcome = await sasl(`late${attempt++}`, 'bob', 'bob-password', 2000);
        loggedIn = outcome.success;
        attempts.push(`${started} ms: ${outcome.numerics.join(' ')}`);
      } catch (err) {
        // While unlinked, InspIRCd withdraws the sasl capability: try again.
        attempts.push(`${started} ms: ${(err as Error).message}`);
      }
      if (!loggedIn) await sleep(250);
    }
    if (!loggedIn) {
      const log = readFileSync(stack.logPath('control'), 'utf8').split('\n').slice(-25).join('\n');
      expect.fail(`no SASL login within 10 s of the kill; attempts:\n${attempts.join('\n')}\ncontrol log:\n${log}`);
    }
    expect(stack.pidOf('control')).not.toBe(before);
  });

  it('serves the operator CLI', async () => {
    const add = cli(['user', 'add', 'frank'], 'frank-password\n');
    expect(add.code, add.err).toBe(0);
    expect((await sasl('frank', 'frank', 'frank-password')).success).toBe(true);
    const passwd = cli(['user', 'passwd', 'frank'], 'frank-password-2\n');
    expect(passwd.code, passwd.err).toBe(0);
    expect((await sasl('frank2', 'frank', 'frank-password')).numerics).toEqual(['904']);
    expect((await sasl('frank3', 'frank', 'frank-password-2')).success).toBe(true);

    const list = cli(['user', 'list']);
    expect(list.out).toMatch(/^alice\s+admin\s+active/m);
    expect(list.out).toMatch(/^carol\s+user\s+disabled/m);
    const status = cli(['status']);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toMatch(/ircLink\s+up/);
    expect(status.out).toMatch(/database\s+up/);

    expect(cli(['user', 'disable', 'nobody'])).toMatchObject({ code: 1, err: expect.stringMatching(/no account named "nobody"/) });
    expect(cli(['user', 'add', 'bad name'], 'frank-password\n')).toMatchObject({ code: 1, err: expect.stringMatching(/username/) });
    expect(cli(['frobnicate']).code).toBe(2);
  });

  it('reuses the data folder on the next start: accounts survive', async () => {
    await stack.stop();
    stack = await startStack({ home });
    expect((await sasl('alice3', 'alice', 'alice-password')).success).toBe(true);
    expect((await post('/api/v1/accounts', { username: 'alice', password: 'alice-password' })).status).toBe(409);
  }, 90_000);
});
