/**
 * The operator CLI on its own (it works on the database directly; no stack needed): hostile
 * arguments get a clear message and a usage exit code, never a stack trace; guild commands go
 * through GuildService as the operator, land in the audit log, and reach a running server over
 * the operator socket.
 */
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountService } from '../../src/accounts/create-account-service.js';
import { loadConfig } from '../../src/config/config.js';
import { GuildService } from '../../src/guild/service.js';
import { HistoryStore } from '../../src/history/store.js';
import { createLogger } from '@alloquy/service-kit/log';
import { startOperatorSocket } from '../../src/operator/operator-socket.js';
import { openControlDatabase, type Db } from '../../src/store/database.js';
import { runCli, runCliSync, type CliResult } from '../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'alloquy-cli-'));

function env(at: string) {
  // A port nothing listens on, so `status` never reaches a live stack.
  return { ...process.env, ALLOQUY_HOME: at, ALLOQUY_HTTP_PORT: '1' };
}

function cli(args: string[], input?: string, at = home): CliResult {
  return runCliSync(args, env(at), input);
}

/** Without blocking this process: for when the test itself serves the operator socket. */
function cliAsync(args: string[], at: string): Promise<CliResult> {
  return runCli(args, env(at));
}

function ok(r: CliResult): string {
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
  return r.out;
}

describe('alloquy CLI', () => {
  it('adds, lists and disables accounts in the data folder', () => {
    expect(cli(['user', 'add', 'alice'], 'alice-password\n')).toMatchObject({ code: 0, out: expect.stringContaining('created alice (admin)') });
    expect(cli(['user', 'disable', 'alice']).code).toBe(0);
    expect(cli(['user', 'list']).out).toMatch(/^alice\s+admin\s+disabled/m);
  });

  it.each([
    [['user', 'add'], /needs a NAME/],
    [['user', 'list', '--bogus'], /bogus/],
    [['user', 'list', 'extra'], /unexpected "extra"/],
    [['invite', 'create', '--max-uses'], /max-uses/],
    [['invite', 'create', '--max-uses', '0'], /positive whole numbers/],
    [['invite', 'create', '--max-uses', 'abc'], /positive whole numbers/],
    [['invite', 'create', '--expires', '1.5'], /positive whole numbers/],
    [['frobnicate'], /unknown command/],
    [['channel', 'frobnicate'], /unknown command "channel frobnicate"/],
    [['channel', 'rename', 'general'], /needs NEW/],
    [['channel', 'topic', 'general'], /needs NAME TEXT/],
    [['channel', 'allow', 'general', 'team', 'bob', 'SEND_MESSAGES'], /"role" or "member"/],
    [['channel', 'allow', 'general', 'role', '@everyone'], /needs PERM/],
    [['channel', 'deny', 'general', 'role', '@everyone', 'FLY'], /unknown permission "FLY".*VIEW_CHANNEL/],
    [['role', 'add', 'X', '--permissions', 'send_messages,teleport'], /unknown permission "TELEPORT"/],
    [['role', 'list', '--topic', 'x'], /--topic does not apply to "role list"/],
    [['member', 'timeout', 'bob', '10x'], /not a duration/],
    [['member', 'timeout', 'bob', '0m'], /longer than zero/],
    [['guild', 'set', 'colour', 'red'], /unknown setting "colour"/],
    [['guild', 'set', 'adhoc', 'maybe'], /on or off/],
    [['audit', '--limit', '-5'], /limit/],
  ])('%j is a usage error (exit 2) without a stack trace', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('shows the usage of one command with --help, of all without a command', () => {
    expect(cli(['channel', 'allow', '--help'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^usage: alloquy channel allow NAME role\|member TARGET PERM/),
    });
    const all = cli(['--help']);
    expect(all.code).toBe(0);
    for (const line of ['member timeout USER DURATION [REASON]', 'guild set name|description|icon|adhoc|owner VALUE', 'audit [--limit N]', 'user add NAME']) {
      expect(all.out).toContain(line);
    }
    expect(cli([]).code).toBe(2);
  });

  it.each([
    [['user', 'disable', 'nobody'], /no account named "nobody"/],
    [['user', 'add', 'bad name'], /username/],
    [['user', 'add', 'bob'], /password/],
  ])('%j fails with a clear message (exit 1)', (args, message) => {
    const r = cli(args, args[2] === 'bob' ? 'short\n' : 'long-enough-password\n');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('says when the control server is not reachable', () => {
    expect(cli(['status'])).toMatchObject({ code: 1, out: expect.stringMatching(/not reachable/) });
  });
});

describe('alloquy guild commands', () => {
  const at = mkdtempSync(join(tmpdir(), 'alloquy-cli-guild-'));
  const run = (...args: string[]) => cli(args, undefined, at);

  beforeAll(() => {
    for (const name of ['owner', 'bob', 'carol', 'dave']) ok(cli(['user', 'add', name], `${name}-password\n`, at));
  });

  it('channels: add text and voice, topic, rename, overwrites, remove', () => {
    expect(ok(run('category', 'add', 'Social'))).toMatch(/created category Social/);
    const added = run('channel', 'add-text', 'Off Topic', '--topic', 'anything goes', '--category', 'Social');
    expect(ok(added)).toMatch(/created text channel #off-topic/);
    // No server runs on this data folder: the CLI says the change waits for it.
    expect(added.out).toMatch(/no control server is running/);
    expect(ok(run('channel', 'add-voice', 'Raid Night'))).toMatch(/created voice channel Raid Night/);
    expect(ok(run('channel', 'topic', 'general', 'Welcome', 'all'))).toMatch(/topic of #general: Welcome all/);
    expect(ok(run('channel', 'rename', 'off-topic', 'chatter'))).toMatch(/renamed #off-topic to #chatter/);

    expect(ok(run('channel', 'deny', 'chatter', 'role', '@everyone', 'send_messages,add_reactions'))).toMatch(
      /#chatter: role @everyone: allow -; deny SEND_MESSAGES,ADD_REACTIONS/,
    );
    expect(ok(run('channel', 'allow', 'chatter', 'role', '@everyone', 'SEND_MESSAGES'))).toMatch(/allow SEND_MESSAGES; deny ADD_REACTIONS/);
    expect(ok(run('channel', 'allow', 'chatter', 'member', 'bob', 'MANAGE_MESSAGES'))).toMatch(/member bob: allow MANAGE_MESSAGES/);
    expect(ok(run('channel', 'clear', 'chatter', 'role', '@everyone', 'ADD_REACTIONS'))).toMatch(/allow SEND_MESSAGES; deny -/);
    expect(ok(run('channel', 'clear', 'chatter', 'role', '@everyone', 'SEND_MESSAGES'))).toMatch(/no overwrite/);
    expect(ok(run('channel', 'clear', 'chatter', 'member', 'bob'))).toMatch(/no overwrite/);

    const list = ok(run('channel', 'list'));
    expect(list).toMatch(/^ID\s+KIND\s+NAME\s+CATEGORY\s+MURMUR\s+TOPIC$/m);
    expect(list).toMatch(/^\d+\s+text\s+#general\s+-\s+Welcome all$/m);
    expect(list).toMatch(/^\d+\s+text\s+#chatter\s+Social\s+anything goes$/m);
    expect(list).toMatch(/^\d+\s+voice\s+Raid Night\s+-\s+-$/m);

    expect(run('channel', 'add-text', 'general')).toMatchObject({ code: 1, err: expect.stringMatching(/exists/) });
    expect(ok(run('channel', 'remove', 'Raid Night'))).toMatch(/removed voice channel Raid Night/);
    expect(ok(run('channel', 'list'))).not.toMatch(/Raid Night/);
    expect(ok(run('category', 'list'))).toMatch(/^\d+\s+0\s+Social$/m);
    expect(ok(run('category', 'remove', 'Social'))).toMatch(/removed category Social/);
    expect(ok(run('category', 'list')).trim()).toBe('ID  POSITION  NAME');
  });

  it('roles: add, grant, revoke, assign, remove', () => {
    expect(ok(run('role', 'add', 'Mods', '--permissions', 'KICK_MEMBERS,BAN_MEMBERS'))).toMatch(/created role Mods \(id \d+\): KICK_MEMBERS,BAN_MEMBERS/);
    expect(ok(run('role', 'grant', 'mods', 'moderate_members'))).toMatch(/Mods: KICK_MEMBERS,BAN_MEMBERS,MODERATE_MEMBERS/);
    expect(ok(run('role', 'revoke', 'Mods', 'BAN_MEMBERS'))).toMatch(/Mods: KICK_MEMBERS,MODERATE_MEMBERS/);
    ok(run('role', 'add', 'Temp'));
    const roles = ok(run('role', 'list'));
    expect(roles).toMatch(/^\d+\s+2\s+Mods\s+KICK_MEMBERS,MODERATE_MEMBERS$/m);
    expect(roles).toMatch(/^\d+\s+1\s+Temp\s+-$/m);
    expect(roles).toMatch(/^1\s+0\s+@everyone\s+VIEW_CHANNEL/m);
    expect(ok(run('role', 'remove', 'Temp'))).toMatch(/removed role Temp/);
    expect(ok(run('member', 'role', 'add', 'bob', 'Mods'))).toMatch(/bob: Mods/);
    expect(ok(run('member', 'role', 'remove', 'bob', 'Mods'))).toMatch(/bob: no roles/);
    ok(run('member', 'role', 'add', 'carol', 'Mods'));
    expect(ok(run('member', 'list'))).toMatch(/^carol\s+Mods\s+-\s+-$/m);
    expect(run('role', 'remove', 'Ghosts')).toMatchObject({ code: 1, err: expect.stringMatching(/no role "Ghosts"/) });
  });

  it('moderation: timeout, untimeout, kick, ban, unban', () => {
    expect(ok(run('member', 'timeout', 'bob', '1h30m', 'calm', 'down'))).toMatch(/bob is timed out until \d{4}-/);
    const timedOut = ok(run('member', 'list')).match(/^bob\s+-\s+(\S+)\s+-$/m);
    expect(Date.parse(timedOut![1]!) - Date.now()).toBeGreaterThan(80 * 60_000);
    expect(ok(run('member', 'untimeout', 'bob'))).toMatch(/bob is no longer timed out/);
    expect(ok(run('member', 'list'))).toMatch(/^bob\s+-\s+-\s+-$/m);
    expect(run('member', 'timeout', 'bob', '29d')).toMatchObject({ code: 1, err: expect.stringMatching(/28 days/) });

    expect(ok(run('member', 'kick', 'bob', 'too', 'loud'))).toMatch(/kicked bob/);
    expect(ok(run('member', 'list'))).not.toMatch(/^bob/m);
    expect(ok(run('member', 'ban', 'dave', 'raiding'))).toMatch(/banned dave/);
    expect(ok(run('guild', 'show'))).toMatch(/^bans\s+1$/m);
    expect(run('member', 'ban', 'dave')).toMatchObject({ code: 1, err: expect.stringMatching(/already banned/) });
    expect(ok(run('member', 'unban', 'dave'))).toMatch(/unbanned dave/);
    expect(run('member', 'kick', 'owner')).toMatchObject({ code: 1, err: expect.stringMatching(/owner/) });
  });

  it('the guild: show and set', () => {
    ok(run('guild', 'set', 'name', 'Raiders'));
    ok(run('guild', 'set', 'description', 'We raid.'));
    ok(run('guild', 'set', 'icon', 'https://example.org/i.png'));
    ok(run('guild', 'set', 'adhoc', 'on'));
    ok(run('guild', 'set', 'owner', 'carol'));
    const shown = ok(run('guild', 'show'));
    expect(shown).toMatch(/^name\s+Raiders$/m);
    expect(shown).toMatch(/^description\s+We raid\.$/m);
    expect(shown).toMatch(/^icon\s+https:\/\/example\.org\/i\.png$/m);
    expect(shown).toMatch(/^owner\s+carol$/m);
    expect(shown).toMatch(/^adhoc channels\s+on$/m);
    ok(run('guild', 'set', 'icon', 'none'));
    ok(run('guild', 'set', 'owner', 'owner'));
    expect(ok(run('guild', 'show'))).toMatch(/^icon\s+-$/m);
    expect(run('guild', 'set', 'name', 'x')).toMatchObject({ code: 1, err: expect.stringMatching(/2 to 100/) });
  });

  it('invites: create (the old way too), list, revoke', () => {
    const code = ok(run('invite', 'create', '--max-uses', '3', '--expires', '3600'))
      .trim()
      .split('\n')[0]!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{12}$/);
    const plain = ok(run('invite', 'create')).trim().split('\n')[0]!;
    const list = ok(run('invite', 'list'));
    expect(list).toMatch(new RegExp(`^${code}\\s+0\\s+3\\s+\\d{4}-\\S+\\s+operator$`, 'm'));
    expect(list).toMatch(new RegExp(`^${plain}\\s+0\\s+-\\s+-\\s+operator$`, 'm'));
    expect(ok(run('invite', 'revoke', code))).toMatch(/revoked/);
    expect(ok(run('invite', 'list'))).not.toContain(code);
    expect(run('invite', 'revoke', 'nope')).toMatchObject({ code: 1, err: expect.stringMatching(/no such invite/) });
  });

  it('audit: every command above, by the operator, newest first', () => {
    const log = ok(run('audit', '--limit', '500'));
    const lines = log.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\s+DETAILS$/);
    const actions = lines.slice(1).map((l) => l.split(/\s+/).slice(1, 4).join(' '));
    for (const expected of [
      'operator channel.create off-topic',
      'operator channel.update off-topic',
      'operator overwrite.set chatter',
      'operator overwrite.delete chatter',
      'operator channel.delete Raid',
      'operator role.create Mods',
      'operator role.update Mods',
      'operator member.role_add bob',
      'operator member.timeout bob',
      'operator member.timeout_clear bob',
      'operator member.kick bob',
      'operator member.ban dave',
      'operator member.unban dave',
      'operator guild.update Alloquy',
      'operator invite.revoke',
    ]) {
      expect(
        actions.some((a) => a.startsWith(expected)),
        expected,
      ).toBe(true);
    }
    expect(log).toMatch(/member\.kick\s+bob\s+reason: too loud/);
    expect(lines[1]).toMatch(/invite\.revoke/);
    expect(
      ok(run('audit', '--limit', '2'))
        .trim()
        .split('\n'),
    ).toHaveLength(3);
    const kicks = ok(run('audit', '--action', 'member.kick'))
      .trim()
      .split('\n')
      .slice(1);
    expect(kicks).toHaveLength(1);
  });
});

describe('alloquy and a running server', () => {
  const at = mkdtempSync(join(tmpdir(), 'alloquy-cli-live-'));
  let db: Db;
  let guild: GuildService;
  let socket: Server;
  const heard: string[] = [];

  beforeAll(async () => {
    for (const name of ['owner', 'bob']) ok(cli(['user', 'add', name], `${name}-password\n`, at));
    // The server's side, wired as server.ts wires it: its own GuildService and the operator socket.
    const config = loadConfig({ ALLOQUY_HOME: at });
    db = openControlDatabase(config.database.path);
    const accounts = createAccountService(config, db);
    guild = new GuildService(db, accounts, { history: new HistoryStore(db) });
    guild.on('changed', (_s, change) => heard.push(`changed:${change.action}`));
    guild.on('memberRemoved', (r) => heard.push(`removed:${r.kind}:${r.username}:${r.reason}:${r.by}`));
    socket = await startOperatorSocket(config.operatorSocketPath, accounts, createLogger('silent'), {
      guildChanged: (change) => guild.reload(change),
      memberRemoved: (removal) => guild.emit('memberRemoved', removal),
      voiceChannelsChanged: () => heard.push('voice-channels'),
    });
  });
  afterAll(async () => {
    guild.close();
    await new Promise<void>((done) => socket.close(() => done()));
    db.close();
  });

  it('applies a change at once: the server reloads the guild', async () => {
    heard.length = 0;
    const r = await cliAsync(['channel', 'add-text', 'news'], at);
    expect(ok(r)).not.toMatch(/no control server/);
    expect(heard).toEqual(['changed:channel.create']);
    expect(guild.findChannel('news', 'text')).toBeDefined();
  });

  it("tells Murmur's side about voice channels", async () => {
    heard.length = 0;
    ok(await cliAsync(['channel', 'add-voice', 'Lobby'], at));
    expect(heard).toEqual(['changed:channel.create', 'voice-channels']);
    expect(guild.findChannel('Lobby', 'voice')).toBeDefined();
  });

  it('hands a kick over with its reason before the reload, so the server can disconnect them', async () => {
    heard.length = 0;
    ok(await cliAsync(['member', 'kick', 'bob', 'go', 'home'], at));
    expect(heard).toEqual(['removed:kick:bob:go home:operator', 'changed:member.kick']);
    expect(guild.snapshot().outsiders.map((o) => `${o.username}:${o.why}`)).toEqual(['bob:kicked']);
  });
});
