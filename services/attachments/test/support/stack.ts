import { Permission } from '@alloquy/protocol/permissions';
import { OPERATOR, startTestControl } from '@alloquy/control/testing';
import type { ControlServer } from '@alloquy/control';
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
  const base = await startTestControl('attachments', ['alice', 'bob', 'carol'] as const, PASSWORD);
  const { control, home, log, tokens } = base;
  let attachments: AttachmentsServer | undefined;
  let authorizer: GrpcAuthorizer | undefined;
  try {
    const guild = control.guild;
    guild.updateRole(OPERATOR, '@everyone', { maxUploadBytes: EVERYONE_MAX_BYTES });
    guild.createRole(OPERATOR, { name: 'trusted', maxUploadBytes: TRUSTED_MAX_BYTES });
    guild.addMemberRole(OPERATOR, 'alice', 'trusted');
    guild.createChannel(OPERATOR, { kind: 'text', name: 'announcements' });
    guild.setOverwrite(OPERATOR, 'announcements', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.ATTACH_FILES });
    guild.createChannel(OPERATOR, { kind: 'text', name: 'secret' });
    guild.setOverwrite(OPERATOR, 'secret', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIEW_CHANNEL });
    guild.setOverwrite(OPERATOR, 'secret', { type: 'member', target: String(base.accounts.alice.id), allow: Permission.VIEW_CHANNEL, deny: 0n });

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
        await base.stop();
      },
    };
  } catch (err) {
    await attachments?.stop();
    authorizer?.close();
    await base.stop();
    throw err;
  }
}
