import { TEXT_CHANNEL_NAME_RULE, normalizeTextChannelName } from '@alloquy/protocol/names';
import { AttachmentError } from '../errors/attachment-error.js';

/**
 * A text channel name as clients send it (`general`, `#general`, ` General `) in the one
 * canonical form every Alloquy service uses, or `invalid_request`. Whether the channel exists is
 * the control server's answer (`not_found`).
 */
export function normalizeChannel(input: unknown): string {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new AttachmentError('invalid_request', 'a "channel" (text channel name, without #) is required');
  }
  const name = normalizeTextChannelName(input);
  if (name === undefined) throw new AttachmentError('invalid_request', TEXT_CHANNEL_NAME_RULE);
  return name;
}
