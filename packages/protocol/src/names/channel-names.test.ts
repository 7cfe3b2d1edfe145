import { describe, expect, it } from 'vitest';
import { isValidVoiceChannelName, normalizeTextChannelName } from './channel-names.js';

describe('text channel names', () => {
  it('are lowered, lose one leading #, and turn runs of spaces into one dash', () => {
    expect(normalizeTextChannelName(' General ')).toBe('general');
    expect(normalizeTextChannelName('#Off  Topic')).toBe('off-topic');
    expect(normalizeTextChannelName('dev_2')).toBe('dev_2');
  });

  it('are refused when nothing IRC-safe remains', () => {
    for (const bad of ['', '#', '-dash', 'ünïcode', 'a'.repeat(49), 'semi;colon', '##two']) expect(normalizeTextChannelName(bad)).toBeUndefined();
    expect(normalizeTextChannelName('a'.repeat(48))).toBe('a'.repeat(48));
  });
});

describe('voice channel names', () => {
  it('take letters in any script, digits, single spaces and a few marks', () => {
    for (const good of ['General', 'Café (AFK)', "Bob's room", 'Общий', 'a'.repeat(48)]) expect(isValidVoiceChannelName(good)).toBe(true);
  });

  it('refuse surrounding or double spaces, a leading mark, and anything longer than 48', () => {
    for (const bad of ['', ' General', 'General ', 'Two  spaces', '-lead', 'a'.repeat(49), 'tab\there', 'new\nline']) {
      expect(isValidVoiceChannelName(bad)).toBe(false);
    }
  });
});
