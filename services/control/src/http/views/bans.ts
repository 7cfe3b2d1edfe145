import type { BanView } from '@alloquy/protocol/http';
import type { Ban } from '../../guild/model.js';
import { isoTime } from './time.js';

export function banView(b: Ban): BanView {
  return { username: b.username, reason: b.reason, created_at: isoTime(b.createdAt) };
}
