import type { VoiceCertificateView, VoiceView } from '@alloquy/protocol/http';
import type { VoicePresence } from '../../murmur/presence.js';
import type { VoiceCertificate } from '../../murmur/store.js';
import { isoTime } from './time.js';

export function voiceView(presence: VoicePresence): VoiceView {
  return { updated_at: isoTime(presence.at), channels: presence.channels };
}

export function voiceCertificateView(c: VoiceCertificate): VoiceCertificateView {
  return { hash: c.hash, created_at: isoTime(c.createdAt), active: c.active };
}
