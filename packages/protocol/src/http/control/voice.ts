import { z } from 'zod';

/** Someone connected to Murmur. */
export const VoiceUserView = z.object({
  username: z.string(),
  registered: z.boolean().describe('logged in with an account (not anonymously)'),
  muted: z.boolean().describe('muted by a moderator'),
  deafened: z.boolean().describe('deafened by a moderator'),
  self_muted: z.boolean(),
  self_deafened: z.boolean(),
  suppressed: z.boolean().describe('may not speak in this channel'),
});
export type VoiceUserView = z.infer<typeof VoiceUserView>;

/** One Murmur channel and who is in it. */
export const VoiceChannelView = z.object({
  id: z.number().int().describe("Murmur's channel id; 0 is the root channel users land in"),
  name: z.string(),
  parent_id: z.number().int().nullable(),
  voice_channel: z.boolean().describe('one of our voice channels (not the root or a channel made in Murmur)'),
  users: z.array(VoiceUserView),
});
export type VoiceChannelView = z.infer<typeof VoiceChannelView>;

/** `GET /api/v1/voice`: who is in which voice channel. */
export const VoiceView = z.object({
  updated_at: z.string().describe('when Murmur was last asked (ISO 8601); at most about a second old'),
  channels: z.array(VoiceChannelView),
});
export type VoiceView = z.infer<typeof VoiceView>;

/** A Mumble client certificate linked to the caller's account. */
export const VoiceCertificateView = z.object({
  hash: z.string().describe('SHA-1 of the DER client certificate, lowercase hex'),
  created_at: z.string(),
  active: z.boolean().describe('the one Murmur accepts (Murmur keeps one certificate per user: the newest added)'),
});
export type VoiceCertificateView = z.infer<typeof VoiceCertificateView>;

/** `GET /api/v1/me/voice-certificates`. */
export const VoiceCertificateList = z.object({ certificates: z.array(VoiceCertificateView) });
export type VoiceCertificateList = z.infer<typeof VoiceCertificateList>;

/** `POST /api/v1/me/voice-certificates`. */
export const VoiceCertificateCreate = z.strictObject({ hash: z.string().min(40).max(64) });
export type VoiceCertificateCreate = z.input<typeof VoiceCertificateCreate>;
