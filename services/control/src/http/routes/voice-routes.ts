import { VoiceCertificateCreate, VoiceCertificateList, VoiceCertificateView, VoiceView } from '@alloquy/protocol/http';
import { ControlError } from '../../errors/control-error.js';
import type { MurmurRelay } from '../../murmur/relay.js';
import type { MurmurStore } from '../../murmur/store.js';
import { route, type ControlRoute } from '../route.js';
import { voiceCertificateView, voiceView } from '../views/voice.js';

export interface VoiceRouteDeps {
  store: MurmurStore;
  /** Undefined when Murmur is switched off in the configuration. */
  relay: MurmurRelay | undefined;
}

/**
 * Voice: who is where, and the client certificates Mumble logs in with. Voice channels are
 * guild channels (guild/channels.ts).
 */
export function voiceRoutes({ store, relay }: VoiceRouteDeps): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/voice',
      summary: 'Who is in which voice channel, and who is muted or deafened (refreshed every second)',
      tag: 'voice',
      auth: 'user',
      responses: { 200: VoiceView },
      errors: [503],
      handler() {
        const presence = relay?.presence();
        if (!presence) {
          throw new ControlError('voice_unavailable', relay ? 'voice (Murmur) is not reachable right now' : 'voice is not enabled on this server');
        }
        return { status: 200, body: voiceView(presence) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/me/voice-certificates',
      summary: 'The client certificates your Mumble clients may log in with instead of a password',
      tag: 'voice',
      auth: 'user',
      responses: { 200: VoiceCertificateList },
      handler({ account }) {
        return { status: 200, body: { certificates: store.certificates(account.id).map(voiceCertificateView) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/me/voice-certificates',
      summary: 'Link a Mumble client certificate (its SHA-1 hash) to your account. Murmur accepts one certificate per user: the newest linked',
      tag: 'voice',
      auth: 'user',
      body: VoiceCertificateCreate,
      responses: { 201: VoiceCertificateView, 200: VoiceCertificateView },
      errors: [409],
      async handler({ body, account }) {
        const { hash, created } = store.addCertificate(account.id, body.hash);
        if (relay) await relay.syncAccount(account.id);
        const certificate = store.certificates(account.id).find((c) => c.hash === hash)!;
        return { status: created ? 201 : 200, body: voiceCertificateView(certificate) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/me/voice-certificates/{hash}',
      summary: 'Unlink a client certificate; the next newest becomes the one Murmur accepts',
      tag: 'voice',
      auth: 'user',
      responses: { 204: null },
      errors: [404],
      async handler({ params, account }) {
        store.removeCertificate(account.id, params.hash);
        if (relay) await relay.syncAccount(account.id);
        return { status: 204 };
      },
    }),
  ];
}
