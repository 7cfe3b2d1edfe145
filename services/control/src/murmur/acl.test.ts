import { describe, expect, it } from 'vitest';
import { aclMatches, voiceChannelAcl } from './acl.js';
import { Permission } from './ice-client.js';

describe('voiceChannelAcl', () => {
  it('denies everyone, then lets registered users (auth) enter and speak', () => {
    const acl = voiceChannelAcl();
    expect(acl.inherit).toBe(true);
    expect(acl.groups).toEqual([]);
    expect(acl.acls.map((a) => [a.group, a.allow, a.deny])).toEqual([
      ['all', 0, Permission.Enter | Permission.Speak],
      ['auth', Permission.Enter | Permission.Speak, 0],
    ]);
  });

  it('maps separate enter and speak groups', () => {
    const acl = voiceChannelAcl({ enter: ['members', 'guests'], speak: ['members'] });
    expect(acl.acls.slice(1).map((a) => [a.group, a.allow])).toEqual([
      ['members', Permission.Enter | Permission.Speak],
      ['guests', Permission.Enter],
    ]);
  });
});

describe('aclMatches', () => {
  it('compares only the channel\'s own entries and groups', () => {
    const wanted = voiceChannelAcl();
    const inheritedAdmin = { applyHere: true, applySubs: true, inherited: true, userId: -1, group: 'admin', allow: 1, deny: 0 };
    const inheritedGroup = { name: 'admin', inherited: true, inherit: true, inheritable: true, add: [], remove: [], members: [1] };
    expect(aclMatches({ ...wanted, acls: [inheritedAdmin, ...wanted.acls], groups: [inheritedGroup] }, wanted)).toBe(true);
    expect(aclMatches({ ...wanted, inherit: false }, wanted)).toBe(false);
    expect(aclMatches({ ...wanted, acls: wanted.acls.slice(0, 1) }, wanted)).toBe(false);
    expect(aclMatches({ ...wanted, acls: [...wanted.acls].reverse() }, wanted)).toBe(false);
  });
});
