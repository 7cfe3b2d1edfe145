import { normalizeChannelName } from '@alloquy/control/guild/names.js';
import { AttachmentError } from '../errors/attachment-error.js';

/**
 * A text channel name as clients send it (`general`, `#general`, ` General `) in the control
 * server's one canonical form, or `invalid_request`. Whether the channel exists is the
 * control server's answer (`not_found`).
 */
export function normalizeChannel(input: unknown): string {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new AttachmentError('invalid_request', 'a "channel" (text channel name, without #) is required');
  }
  try {
    return normalizeChannelName('text', input);
  } catch (err) {
    throw new AttachmentError('invalid_request', (err as Error).message);
  }
}
