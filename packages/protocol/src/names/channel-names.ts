/**
 * Channel names as the server accepts them, so a client can check (and normalize) before asking.
 *
 * A text channel is `#<name>` on IRC, so its name is what every IRC client accepts and shows the
 * same way: lowercase ASCII letters, digits, `-` and `_`. Like Discord, input is lowered and
 * spaces become dashes before it is checked.
 *
 * A voice channel is a Murmur channel: letters, digits, single spaces and `-_.'()`, starting with
 * a letter or digit, at most 48 characters, readable in every Mumble client and inside Murmur's
 * default channel-name rule.
 */
const TEXT_CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;
const VOICE_CHANNEL_NAME = /^[\p{L}\p{N}][\p{L}\p{N} _\-.'()]{0,47}$/u;

export const TEXT_CHANNEL_NAME_RULE = 'a text channel name is 1 to 48 lowercase letters, digits, - and _, starting with a letter or digit (it is #name on IRC)';
export const VOICE_CHANNEL_NAME_RULE = "a channel name is 1 to 48 letters, digits, single spaces and - _ . ' ( ), starting with a letter or digit";

/** `General Chat`, `#general-chat` → `general-chat`; undefined when no valid name results. */
export function normalizeTextChannelName(input: string): string | undefined {
  const name = input.trim().replace(/^#/, '').replace(/\s+/g, '-').toLowerCase();
  return TEXT_CHANNEL_NAME.test(name) ? name : undefined;
}

/** Voice channel names are taken as written (no normalization): this says whether one is valid. */
export function isValidVoiceChannelName(name: string): boolean {
  return VOICE_CHANNEL_NAME.test(name) && name === name.trim() && !/\s{2}/.test(name);
}
