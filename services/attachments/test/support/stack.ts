import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@alloquy/control/config/config.js';
import { Permission } from '@alloquy/control/guild/permissions/permissions.js';
import { OPERATOR } from '@alloquy/control/guild/service.js';
import { createLogger } from '@alloquy/control/log/logger.js';
import { startControlServer, type ControlServer } from '@alloquy/control/server.js';
import { GrpcAuthorizer } from '../../src/authz/grpc-authorizer.js';
import { loadAttachmentsConfig } from '../../src/config/config.js';
import { createMediaProcessor } from '../../src/media/media-processor.js';
import { startAttachmentsServer, type AttachmentsServer, type AttachmentsServerDeps } from '../../src/server.js';

export const PASSWORD = 'correct horse battery staple';
export const MiB = 1024 * 1024;

/** Upload limits of the test guild: everyone small, the `trusted` role large. */
export const EVERYONE_MAX_BYTES = 2 * MiB;
export const TRUSTED_MAX_BYTES = 400 * MiB;

export interface TestStack {
  control: ControlServer;
  attachments: AttachmentsServer;
  authorizer: GrpcAuthorizer;
  /** `http://127.0.0.1:<port>` of the attachments service. */
  baseUrl: string;
  home: string;
  /** Access tokens, logged in through the control server's account service. */
  tokens: Record<'alice' | 'bob' | 'carol', string>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  /** Use the real media processor (sharp thumbnails, dimensions, pixel limit). */
  media?: boolean;
  maxImagePixels?: number;
  attachments?: Partial<AttachmentsServerDeps>;
}

/**
 * A real control server (accounts, guild, gRPC Access service; IRC and Murmur off) in a temp
 * home, and the attachments service in front of it with the real GrpcAuthorizer. The guild:
 * - `alice` holds the `trusted` role (uploads up to TRUSTED_MAX_BYTES) and may read `#secret`;
 * - `bob` is a plain member (EVERYONE_MAX_BYTES), who cannot upload into `#announcements`
 *   and cannot see `#secret`;
 * - `carol` is a plain member too.
 * `#general` and `#announcements` are public, `#secret` is private.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-attachments-'));
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'test');
  const controlConfig = loadConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_HTTP_PORT: '0',
    ALLOQUY_IRC_LINK: 'false',
    ALLOQUY_MURMUR: 'false',
    ALLOQUY_OPERATOR_SOCKET: join(home, 'run', 'control.sock'),
  });
  const control = await startControlServer(controlConfig, log.child({ service: 'control' }));
  let attachments: AttachmentsServer | undefined;
  let authorizer: GrpcAuthorizer | undefined;
  try {
    // The first account is a server admin: keep it out of the cast.
    await control.accounts.register('owner', PASSWORD);
    const alice = await control.accounts.register('alice', PASSWORD);
    await control.accounts.register('bob', PASSWORD);
    await control.accounts.register('carol', PASSWORD);
    const guild = control.guild;
    guild.updateRole(OPERATOR, '@everyone', { maxUploadBytes: EVERYONE_MAX_BYTES });
    guild.createRole(OPERATOR, { name: 'trusted', maxUploadBytes: TRUSTED_MAX_BYTES });
    guild.addMemberRole(OPERATOR, 'alice', 'trusted');
    guild.createChannel(OPERATOR, { kind: 'text', name: 'announcements' });
    guild.setOverwrite(OPERATOR, 'announcements', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.ATTACH_FILES });
    guild.createChannel(OPERATOR, { kind: 'text', name: 'secret' });
    guild.setOverwrite(OPERATOR, 'secret', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIEW_CHANNEL });
    guild.setOverwrite(OPERATOR, 'secret', { type: 'member', target: String(alice.id), allow: Permission.VIEW_CHANNEL, deny: 0n });

    const tokens = {
      alice: (await control.accounts.login('alice', PASSWORD, { via: 'cli' })).access_token,
      bob: (await control.accounts.login('bob', PASSWORD, { via: 'cli' })).access_token,
      carol: (await control.accounts.login('carol', PASSWORD, { via: 'cli' })).access_token,
    };

    const config = loadAttachmentsConfig({
      ALLOQUY_HOME: home,
      ALLOQUY_ATTACHMENTS_HOST: '127.0.0.1',
      ALLOQUY_ATTACHMENTS_PORT: '0',
      ALLOQUY_CONTROL_GRPC_ADDRESS: control.grpc.address,
      ...(options.maxImagePixels ? { ALLOQUY_MAX_IMAGE_PIXELS: String(options.maxImagePixels) } : {}),
    });
    authorizer = new GrpcAuthorizer({ address: config.control.grpcAddress });
    attachments = await startAttachmentsServer(config, log.child({ service: 'attachments' }), {
      authorizer,
      ...(options.media ? { mediaProcessor: (core) => createMediaProcessor(config, { metrics: core.metrics, log: core.log }) } : {}),
      ...options.attachments,
    });
    const running = attachments;
    const grpc = authorizer;
    return {
      control,
      attachments: running,
      authorizer: grpc,
      baseUrl: `http://127.0.0.1:${running.httpPort}`,
      home,
      tokens,
      async stop() {
        await running.stop();
        grpc.close();
        await control.stop();
        rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await attachments?.stop();
    authorizer?.close();
    await control.stop();
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
}
