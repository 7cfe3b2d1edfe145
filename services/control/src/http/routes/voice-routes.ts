import { z } from 'zod';
import { ControlError } from '../../errors/control-error.js';
import type { MurmurRelay } from '../../murmur/relay.js';
import type { MurmurStore } from '../../murmur/store.js';
import { route, type ControlRoute } from '../route.js';

const VoiceUserView = z.object({
  username: z.string(),
  registered: z.boolean().describe('logged in with an account (not anonymously)'),
  muted: z.boolean().describe('muted by a moderator'),
  deafened: z.boolean().describe('deafened by a moderator'),
  self_muted: z.boolean(),
  self_deafened: z.boolean(),
  suppressed: z.boolean().describe('may not speak in this channel'),
});

const VoiceView = z.object({
  updated_at: z.string().describe('when Murmur was last asked (ISO 8601); at most about a second old'),
  channels: z.array(
    z.object({
      id: z.number().int().describe("Murmur's channel id; 0 is the root channel users land in"),
      name: z.string(),
      parent_id: z.number().int().nullable(),
      voice_channel: z.boolean().describe('one of our voice channels (not the root or a channel made in Murmur)'),
      users: z.array(VoiceUserView),
    }),
  ),
});

const CertificateView = z.object({
  hash: z.string().describe('SHA-1 of the DER client certificate, lowercase hex'),
  created_at: z.string(),
  active: z.boolean().describe('the one Murmur accepts (Murmur keeps one certificate per user: the newest added)'),
});

export interface VoiceRouteDeps {
  store: MurmurStore;
  /** Undefined when Murmur is switched off in the configuration. */
  relay: MurmurRelay | undefined;
}

/**
 * Voice: who is where, and the client certificates Mumble logs in with. Voice channels are
 * guild channels (guild-routes.ts).
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
        return { status: 200, body: { updated_at: new Date(presence.at).toISOString(), channels: presence.channels } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/me/voice-certificates',
      summary: 'The client certificates your Mumble clients may log in with instead of a password',
      tag: 'voice',
      auth: 'user',
      responses: { 200: z.object({ certificates: z.array(CertificateView) }) },
      handler({ account }) {
        return { status: 200, body: { certificates: certificateViews(store, account.id) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/me/voice-certificates',
      summary:
        'Link a Mumble client certificate (its SHA-1 hash) to your account. Murmur accepts one certificate per user: the newest linked',
      tag: 'voice',
      auth: 'user',
      body: z.strictObject({ hash: z.string().min(40).max(64) }),
      responses: { 201: CertificateView, 200: CertificateView },
      errors: [409],
      async handler({ body, account }) {
        const { hash, created } = store.addCertificate(account.id, body.hash);
        if (relay) await relay.syncAccount(account.id);
        const view = certificateViews(store, account.id).find((c) => c.hash === hash)!;
        return { status: created ? 201 : 200, body: view };
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
        store.removeCertificate(account.id, params.hash!);
        if (relay) await relay.syncAccount(account.id);
        return { status: 204 };
      },
    }),
  ];
}

function certificateViews(store: MurmurStore, accountId: number): z.infer<typeof CertificateView>[] {
  return store.certificates(accountId).map((c) => ({ hash: c.hash, created_at: new Date(c.createdAt).toISOString(), active: c.active }));
}
