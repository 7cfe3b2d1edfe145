import { Permission } from '@alloquy/protocol/permissions';
import { OPERATOR, startTestControl } from '@alloquy/control/testing';
import type { ControlServer } from '@alloquy/control';
import { GrpcVoiceAccess } from '../../src/authz/voice-access.js';
import { loadSignallingConfig } from '../../src/config/config.js';
import { startSignallingServer, type SignallingServer } from '../../src/server.js';

export const PASSWORD = 'correct horse battery staple';
export const TURN_URLS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];
export const USERS = ['alice', 'bob', 'carol'] as const;
export type User = (typeof USERS)[number];

export interface TestStack {
  control: ControlServer;
  signalling: SignallingServer;
  home: string;
  baseUrl: string;
  wsUrl: string;
  tokens: Record<User, string>;
  ids: Record<User, number>;
  stop(): Promise<void>;
}

/**
 * A real control server (accounts, guild, gRPC Access service; IRC and Murmur off) in a temp home
 * and the signalling service in front of it. Voice channels: `General` (everyone may connect and
 * use video), `Stage` (VIDEO denied to @everyone but alice), `Private` (only alice may CONNECT).
 */
export async function startTestStack(): Promise<TestStack> {
  const base = await startTestControl('signalling', USERS, PASSWORD);
  const { control, home, log, tokens } = base;
  let signalling: SignallingServer | undefined;
  const access = new GrpcVoiceAccess({ address: control.grpc.address, timeoutMs: 5000 });
  try {
    const ids = Object.fromEntries(USERS.map((user) => [user, base.accounts[user].id])) as Record<User, number>;
    const g = control.guild;
    g.createChannel(OPERATOR, { kind: 'voice', name: 'Stage' });
    g.setOverwrite(OPERATOR, 'Stage', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIDEO });
    g.setOverwrite(OPERATOR, 'Stage', { type: 'member', target: String(ids.alice), allow: Permission.VIDEO, deny: 0n });
    g.createChannel(OPERATOR, { kind: 'voice', name: 'Private' });
    g.setOverwrite(OPERATOR, 'Private', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.CONNECT });
    g.setOverwrite(OPERATOR, 'Private', { type: 'member', target: String(ids.alice), allow: Permission.CONNECT, deny: 0n });

    const config = loadSignallingConfig({
      ALLOQUY_HOME: home,
      ALLOQUY_SIGNALLING_HOST: '127.0.0.1',
      ALLOQUY_SIGNALLING_PORT: '0',
      ALLOQUY_CONTROL_GRPC_ADDRESS: control.grpc.address,
      ALLOQUY_TURN_URLS: TURN_URLS.join(','),
    });
    signalling = await startSignallingServer(config, log.child({ service: 'signalling' }), { access });
    const running = signalling;
    return {
      control,
      signalling: running,
      home,
      baseUrl: `http://127.0.0.1:${running.httpPort}`,
      wsUrl: `ws://127.0.0.1:${running.httpPort}/api/v1/signalling`,
      tokens,
      ids,
      async stop() {
        await running.stop();
        access.close();
        await base.stop();
      },
    };
  } catch (err) {
    await signalling?.stop();
    access.close();
    await base.stop();
    throw err;
  }
}
