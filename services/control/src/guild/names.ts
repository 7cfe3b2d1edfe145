import { TEXT_CHANNEL_NAME_RULE, VOICE_CHANNEL_NAME_RULE, isValidVoiceChannelName, normalizeTextChannelName } from '@alloquy/protocol/names';
import { ControlError } from '../errors/control-error.js';
import type { ChannelKind } from './model.js';

/**
 * A channel name in its canonical form (the rules are the protocol package's, so clients check
 * the same), or `invalid_request`: text names are normalized (`General Chat` → `general-chat`),
 * voice names are taken as written.
 */
export function normalizeChannelName(kind: ChannelKind, input: string): string {
  if (kind === 'voice') {
    assertValidVoiceChannelName(input);
    return input;
  }
  const name = normalizeTextChannelName(input);
  if (name === undefined) throw new ControlError('invalid_request', TEXT_CHANNEL_NAME_RULE);
  return name;
}

export function assertValidVoiceChannelName(name: string): void {
  if (!isValidVoiceChannelName(name)) throw new ControlError('invalid_request', VOICE_CHANNEL_NAME_RULE);
}

/** Role and category names: printable, 1 to 64 characters, no leading or trailing spaces. */
export function assertDisplayName(what: 'role' | 'category', name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.length < 1 || name.length > 64 || name !== name.trim() || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ControlError('invalid_request', `a ${what} name is 1 to 64 printable characters without surrounding spaces`);
  }
}

/** Topics travel on IRC: one line, at most InspIRCd's default TOPICLEN (307). */
export function assertTopic(topic: string): void {
  // eslint-disable-next-line no-control-regex
  if (topic.length > 307 || /[\u0000\r\n]/.test(topic)) {
    throw new ControlError('invalid_request', 'a topic is one line of at most 307 characters');
  }
}
