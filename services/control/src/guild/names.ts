import { ControlError } from '../errors/control-error.js';
import { assertValidChannelName } from '../murmur/voice-channels.js';
import type { ChannelKind } from './model.js';

/**
 * A text channel is `#<name>` on IRC, so its name is what every IRC client accepts and shows
 * the same way: lowercase ASCII letters, digits, `-` and `_`. Like Discord, input is lowered and
 * spaces become dashes before it is checked.
 */
const TEXT_CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;

export function normalizeChannelName(kind: ChannelKind, input: string): string {
  if (kind === 'voice') {
    assertValidChannelName(input);
    return input;
  }
  const name = input.trim().replace(/^#/, '').replace(/\s+/g, '-').toLowerCase();
  if (!TEXT_CHANNEL_NAME.test(name)) {
    throw new ControlError(
      'invalid_request',
      'a text channel name is 1 to 48 lowercase letters, digits, - and _, starting with a letter or digit (it is #name on IRC)',
    );
  }
  return name;
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
