/**
 * GrpcAuthorizer against a real control server (free ports, temp folder): every answer and
 * every gRPC failure becomes the right AttachmentError, and a control server that is down,
 * hanging or of the wrong kind fails closed with control_unavailable / bad_gateway.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startControlServer, type ControlServer } from '@alloquy/control';
import { AccessCallError } from '@alloquy/access';
import { Permission } from '@alloquy/protocol/permissions';
import { OPERATOR } from '@alloquy/control/testing';
import { createLogger } from '@alloquy/service-kit/log';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcAuthorizer, toAttachmentError } from '../../src/authz/grpc-authorizer.js';
import { AttachmentError, type AttachmentErrorCode } from '../../src/errors/attachment-error.js';
import { forgedTokens } from '@alloquy/stack';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const USERS = ['owner', 'alice', 'bob', 'carol', 'dave'] as const;
type User = (typeof USERS)[number];

let home: string;
let control: ControlServer;
let authorizer: GrpcAuthorizer;
const tokens = {} as Record<User, string>;

async function startControl(grpcPort = 0): Promise<ControlServer> {
  const config = loadConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_HTTP_PORT: '0',
    ALLOQUY_CONTROL_GRPC_PORT: String(grpcPort),
    ALLOQUY_IRC_LINK: 'false',
    ALLOQUY_MURMUR: 'false',
  });
  return startControlServer(config, createLogger('silent'));
}

/** The AttachmentError `promise` rejects with, asserting its code and HTTP status. */
async function refusal(promise: Promise<unknown>, code: AttachmentErrorCode, status: number): Promise<AttachmentError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(AttachmentError);
  expect({ code: (err as AttachmentError).code, status: (err as AttachmentError).status }).toEqual({ code, status });
  return err as AttachmentError;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'alloquy-attachments-authz-'));
  control = await startControl();
  for (const user of USERS) await control.accounts.register(user, `${user}-password`, { bypassPolicy: true });
  for (const user of USERS) tokens[user] = (await control.accounts.login(user, `${user}-password`, { via: 'cli' })).access_token;
  const g = control.guild;
  g.createRole(OPERATOR, { name: 'Emoji', permissions: Permission.MANAGE_EMOJIS });
  g.createRole(OPERATOR, { name: 'Staff', maxUploadBytes: 300 * MiB });
  g.addMemberRole(OPERATOR, 'bob', 'Staff');
  g.addMemberRole(OPERATOR, 'carol', 'Emoji');
  g.createChannel(OPERATOR, { kind: 'text', name: 'staff' });
  g.setOverwrite(OPERATOR, 'staff', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIEW_CHANNEL });
  g.setOverwrite(OPERATOR, 'staff', { type: 'role', target: 'Staff', allow: Permission.VIEW_CHANNEL, deny: 0n });
  g.createChannel(OPERATOR, { kind: 'text', name: 'announcements' });
  g.setOverwrite(OPERATOR, 'announcements', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.SEND_MESSAGES });
  authorizer = new GrpcAuthorizer({ address: control.grpc.address, timeoutMs: 5000 });
});

afterAll(async () => {
  authorizer?.close();
  await control?.stop();
});

describe('identify', () => {
  it('names the bearer', async () => {
    expect(await authorizer.identify(tokens.alice)).toEqual({ account: 'alice', accountId: control.accounts.get('alice').id });
  });

  it('maps bad tokens to invalid_token (401) and no token to unauthorized (401)', async () => {
    for (const token of [...forgedTokens(tokens.alice), 'x'.repeat(10_000)]) {
      await refusal(authorizer.identify(token), 'invalid_token', 401);
    }
    await refusal(authorizer.identify(''), 'unauthorized', 401);
  });
});

describe('authorizeUpload', () => {
  it('grants ATTACH_FILES with the size limit and the resolved channel', async () => {
    const general = control.guild.channel('general', 'text');
    expect(await authorizer.authorizeUpload(tokens.alice, 'general')).toEqual({
      account: 'alice',
      accountId: control.accounts.get('alice').id,
      maxBytes: GiB,
      channel: { id: general.id, name: 'general', public: true },
    });
    expect(await authorizer.authorizeUpload(tokens.bob, '#Staff')).toMatchObject({
      account: 'bob',
      maxBytes: 300 * MiB,
      channel: { name: 'staff', public: false },
    });
  });

  it('maps each refusal to its AttachmentError', async () => {
    const hidden = await refusal(authorizer.authorizeUpload(tokens.alice, 'staff'), 'forbidden', 403);
    expect(hidden.message).toBe('uploading files in #staff needs ATTACH_FILES');
    await refusal(authorizer.authorizeUpload(tokens.alice, 'announcements'), 'forbidden', 403);
    const unknown = await refusal(authorizer.authorizeUpload(tokens.alice, 'nowhere'), 'not_found', 404);
    expect(unknown.message).toBe('there is no text channel #nowhere');
    await refusal(authorizer.authorizeUpload(forgedTokens(tokens.alice)[0]!, 'general'), 'invalid_token', 401);
    await refusal(authorizer.authorizeUpload(tokens.alice, 'x'.repeat(300)), 'invalid_request', 400);
    await refusal(authorizer.authorizeUpload(tokens.alice, ''), 'invalid_request', 400);
  });

  it('refuses a timed-out member, a kicked one, and a disabled account', async () => {
    control.guild.timeout(OPERATOR, 'dave', Date.now() + 3600_000);
    await refusal(authorizer.authorizeUpload(tokens.dave, 'general'), 'forbidden', 403);
    control.guild.timeout(OPERATOR, 'dave', null);
    control.guild.kick(OPERATOR, 'dave', 'test');
    const kicked = await refusal(authorizer.authorizeUpload(tokens.dave, 'general'), 'forbidden', 403);
    expect(kicked.message).toBe('you are not a member of this server');
    control.accounts.setDisabled('dave', true);
    const disabled = await refusal(authorizer.authorizeUpload(tokens.dave, 'general'), 'forbidden', 403);
    expect(disabled.message).toMatch(/disabled/);
    await refusal(authorizer.identify(tokens.dave), 'forbidden', 403);
  });
});

describe('reads', () => {
  it('canRead: by account name or id, by channel name or id; unknown channels and accounts read nothing', async () => {
    const staff = control.guild.channel('staff', 'text');
    expect(await authorizer.canRead('bob', 'staff')).toBe(true);
    expect(await authorizer.canRead(control.accounts.get('bob').id, { id: staff.id })).toBe(true);
    expect(await authorizer.canRead('alice', 'staff')).toBe(false);
    expect(await authorizer.canRead('alice', 'general')).toBe(true);
    expect(await authorizer.canRead('alice', 'nowhere')).toBe(false);
    expect(await authorizer.canRead('nobody', 'general')).toBe(false);
    expect(await authorizer.canRead('dave', 'general')).toBe(false);
    await refusal(authorizer.canRead('', 'general'), 'invalid_request', 400);
  });

  it('isPublicChannel: by name or id; a deleted channel is not public', async () => {
    const temp = control.guild.createChannel(OPERATOR, { kind: 'text', name: 'temp' });
    expect(await authorizer.isPublicChannel('general')).toBe(true);
    expect(await authorizer.isPublicChannel({ id: temp.id })).toBe(true);
    expect(await authorizer.isPublicChannel('staff')).toBe(false);
    control.guild.deleteChannel(OPERATOR, temp.id);
    expect(await authorizer.isPublicChannel({ id: temp.id })).toBe(false);
    expect(await authorizer.isPublicChannel('temp')).toBe(false);
  });
});

describe('authorizeGuildAction', () => {
  it('MANAGE_EMOJIS for custom emoji, MANAGE_GUILD for the icon', async () => {
    expect(await authorizer.authorizeGuildAction(tokens.carol, 'manage_emojis')).toMatchObject({ account: 'carol' });
    expect(await authorizer.authorizeGuildAction(tokens.owner, 'manage_guild')).toMatchObject({ account: 'owner' });
    const noEmoji = await refusal(authorizer.authorizeGuildAction(tokens.alice, 'manage_emojis'), 'forbidden', 403);
    expect(noEmoji.message).toBe('this needs the MANAGE_EMOJIS permission');
    await refusal(authorizer.authorizeGuildAction(tokens.carol, 'manage_guild'), 'forbidden', 403);
    await refusal(authorizer.authorizeGuildAction('garbage', 'manage_guild'), 'invalid_token', 401);
  });
});

describe('a control server that is down, hanging or not ours', () => {
  it('answers control_unavailable (503) while the control server is stopped, and recovers when it is back', async () => {
    const port = control.grpc.port;
    await control.stop();
    await refusal(authorizer.authorizeUpload(tokens.alice, 'general'), 'control_unavailable', 503);
    await refusal(authorizer.identify(tokens.alice), 'control_unavailable', 503);
    await refusal(authorizer.canRead('alice', 'general'), 'control_unavailable', 503);
    await refusal(authorizer.isPublicChannel('general'), 'control_unavailable', 503);
    control = await startControl(port);
    // Same data folder, same signing key: the old token is good, and the same client reconnects.
    let granted: unknown;
    for (let attempt = 0; attempt < 50 && !granted; attempt++) {
      granted = await authorizer.authorizeUpload(tokens.alice, 'general').catch(async (err: unknown) => {
        if (!(err instanceof AttachmentError) || err.code !== 'control_unavailable') throw err;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(granted).toMatchObject({ account: 'alice', maxBytes: GiB });
  });

  it('answers control_unavailable when the deadline passes (a listener that never answers)', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hanging = new GrpcAuthorizer({ address: `127.0.0.1:${(silent.address() as { port: number }).port}`, timeoutMs: 300 });
    try {
      const err = await refusal(hanging.authorizeUpload(tokens.alice, 'general'), 'control_unavailable', 503);
      expect(err.message).toMatch(/did not answer in time/);
    } finally {
      hanging.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('answers bad_gateway (502) when the gRPC server does not serve the Access service', async () => {
    const other = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      other.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    const wrong = new GrpcAuthorizer({ address: `127.0.0.1:${port}`, timeoutMs: 5000 });
    try {
      await refusal(wrong.identify(tokens.alice), 'bad_gateway', 502);
    } finally {
      wrong.close();
      other.forceShutdown();
    }
  });

  it('a closed authorizer fails closed', async () => {
    const closed = new GrpcAuthorizer({ address: control.grpc.address });
    closed.close();
    await refusal(closed.identify(tokens.alice), 'control_unavailable', 503);
  });
});

describe('toAttachmentError', () => {
  it.each([
    [grpc.status.UNAUTHENTICATED, 'invalid_token', 401],
    [grpc.status.PERMISSION_DENIED, 'forbidden', 403],
    [grpc.status.NOT_FOUND, 'not_found', 404],
    [grpc.status.INVALID_ARGUMENT, 'invalid_request', 400],
    [grpc.status.UNAVAILABLE, 'control_unavailable', 503],
    [grpc.status.DEADLINE_EXCEEDED, 'control_unavailable', 503],
    [grpc.status.CANCELLED, 'control_unavailable', 503],
    [grpc.status.RESOURCE_EXHAUSTED, 'control_unavailable', 503],
    [grpc.status.INTERNAL, 'bad_gateway', 502],
    [grpc.status.UNIMPLEMENTED, 'bad_gateway', 502],
    [grpc.status.UNKNOWN, 'bad_gateway', 502],
  ] as const)('gRPC status %i → %s', (code, expected, httpStatus) => {
    const err = toAttachmentError(new AccessCallError(code, undefined, 'details from the control server'));
    expect({ code: err.code, status: err.status }).toEqual({ code: expected, status: httpStatus });
  });
});
