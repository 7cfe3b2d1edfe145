/**
 * Property tests over random guilds from a seeded PRNG (deterministic: a failure names its seed
 * and case, and re-running reproduces it). Checks the computation against an independent
 * per-bit model of Discord's algorithm, and invariants that must hold for any guild.
 */
import { describe, expect, it } from 'vitest';
import {
  TIMED_OUT_PERMISSIONS,
  applyImplicitRules,
  basePermissions,
  channelPermissions,
  isTimedOut,
  type ChannelKind,
  type PermissionChannel,
  type PermissionGuild,
  type PermissionMember,
  type PermissionOverwrite,
  type PermissionRole,
} from './compute.js';
import { canActOnMember, canEditRolePermissions, canManageRole, canSetOverwrite, highestRolePosition, type MemberAction } from './hierarchy.js';
import { ALL, PERMISSION_NAMES, Permission as P, isValidPermissions } from './permissions.js';
import { seededRandom } from '../testing/seeded-random.js';

const FLAGS = PERMISSION_NAMES.map((n) => P[n]);
const NOW = 1_700_000_000_000;

interface World {
  guild: PermissionGuild;
  members: PermissionMember[];
  channels: PermissionChannel[];
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Each defined flag with probability p; ADMINISTRATOR much more rarely so most cases are non-admin. */
  perms(p: number, adminP = 0): bigint {
    let out = 0n;
    for (const f of FLAGS) if (f === P.ADMINISTRATOR ? this.chance(adminP) : this.chance(p)) out |= f;
    return out;
  }

  world(): World {
    const roleCount = 1 + this.int(6);
    const roles: PermissionRole[] = [{ id: 'everyone', position: 0, permissions: this.perms(0.5) }];
    // Few distinct positions, so ties are common.
    for (let i = 0; i < roleCount; i++) roles.push({ id: `r${i}`, position: 1 + this.int(4), permissions: this.perms(0.25, 0.05) });
    const memberCount = 2 + this.int(5);
    const members: PermissionMember[] = [];
    for (let i = 0; i < memberCount; i++) {
      const roleIds = roles
        .slice(1)
        .filter(() => this.chance(0.35))
        .map((r) => r.id);
      if (this.chance(0.1)) roleIds.push('ghost');
      const m: PermissionMember = { id: `m${i}`, roleIds };
      const t = this.int(4);
      if (t === 1) m.timeoutUntil = NOW + 1 + this.int(1000); // active
      if (t === 2) m.timeoutUntil = NOW - this.int(1000); // expired (or ending exactly now)
      members.push(m);
    }
    const guild: PermissionGuild = {
      ownerId: this.pick(members).id,
      everyoneRoleId: 'everyone',
      roles: this.chance(0.5) ? new Map(roles.map((r) => [r.id, r])) : Object.fromEntries(roles.map((r) => [r.id, r])),
    };
    const channels: PermissionChannel[] = [];
    for (let c = 0; c < 3; c++) {
      const overwrites: PermissionOverwrite[] = [];
      const count = this.int(6);
      for (let i = 0; i < count; i++) {
        const o: PermissionOverwrite = this.chance(0.6)
          ? { type: 'role', id: this.pick(roles).id, allow: this.perms(0.15, 0.05), deny: this.perms(0.15, 0.05) }
          : { type: 'member', id: this.pick(members).id, allow: this.perms(0.15, 0.05), deny: this.perms(0.15, 0.05) };
        overwrites.push(o);
      }
      channels.push({ id: `c${c}`, kind: this.pick<ChannelKind>(['text', 'voice']), overwrites });
    }
    return { guild, members, channels };
  }
}

function rolesOf(g: PermissionGuild): PermissionRole[] {
  return g.roles instanceof Map ? [...g.roles.values()] : Object.values(g.roles);
}

/**
 * Independent model: decide each bit on its own by walking the layers from the most specific
 * (member) to the least (@everyone), taking the first layer that says anything, where "says"
 * means allow wins over deny within a layer.
 */
function modelChannelPermissions(m: PermissionMember, g: PermissionGuild, c: PermissionChannel, now: number): bigint {
  const roleList = rolesOf(g);
  const known = new Set(roleList.map((r) => r.id));
  const mine = new Set(m.roleIds.filter((id) => known.has(id) && id !== g.everyoneRoleId));
  if (m.id === g.ownerId) return ALL;
  let base = 0n;
  for (const r of roleList) if (r.id === g.everyoneRoleId || mine.has(r.id)) base |= r.permissions;
  if (base & P.ADMINISTRATOR) return ALL;
  const layers = [
    c.overwrites.filter((o) => o.type === 'member' && o.id === m.id),
    c.overwrites.filter((o) => o.type === 'role' && o.id !== g.everyoneRoleId && mine.has(o.id)),
    c.overwrites.filter((o) => o.type === 'role' && o.id === g.everyoneRoleId),
  ];
  let out = 0n;
  for (const f of FLAGS) {
    let on = (base & f) !== 0n;
    if (f !== P.ADMINISTRATOR) {
      for (const layer of layers) {
        if (layer.some((o) => o.allow & f)) {
          on = true;
          break;
        }
        if (layer.some((o) => o.deny & f)) {
          on = false;
          break;
        }
      }
    }
    if (on) out |= f;
  }
  const timedOut = m.timeoutUntil != null && now < m.timeoutUntil;
  if (timedOut) out &= TIMED_OUT_PERMISSIONS;
  if (!(out & P.VIEW_CHANNEL)) return 0n;
  if (!(out & P.SEND_MESSAGES)) out &= ~(P.MENTION_EVERYONE | P.ATTACH_FILES);
  if (c.kind === 'voice' && !(out & P.CONNECT)) out &= ~(P.SPEAK | P.VIDEO | P.MUTE_MEMBERS);
  return out;
}

const SEEDS = [1, 2, 3, 42, 1337, 20240601];
const CASES_PER_SEED = 150;

/** Runs `check` over every (seed, case) world. */
function forAllWorlds(check: (w: World, gen: Gen, where: string) => void): void {
  for (const seed of SEEDS) {
    const gen = new Gen(seededRandom(seed));
    for (let i = 0; i < CASES_PER_SEED; i++) check(gen.world(), gen, `seed ${seed} case ${i}`);
  }
}

const isAdmin = (m: PermissionMember, g: PermissionGuild) => m.id !== g.ownerId && basePermissions({ ...m, timeoutUntil: undefined }, g, NOW) === ALL;

describe('random guilds', () => {
  it('channel permissions match an independent per-bit model', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      for (const m of members)
        for (const c of channels) {
          expect(channelPermissions(m, guild, c, NOW), `${where} ${m.id} ${c.id}`).toBe(modelChannelPermissions(m, guild, c, NOW));
        }
    });
  });

  it('the owner always has ALL, guild-wide and in every channel', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      const owner = members.find((m) => m.id === guild.ownerId)!;
      expect(basePermissions(owner, guild, NOW), where).toBe(ALL);
      for (const c of channels) expect(channelPermissions(owner, guild, c, NOW), where).toBe(ALL);
    });
  });

  it('never produces a bit the roles and overwrites could not', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      const fromRoles = rolesOf(guild).reduce((acc, r) => acc | r.permissions, 0n);
      for (const m of members) {
        const base = basePermissions(m, guild, NOW);
        expect(isValidPermissions(base), where).toBe(true);
        if (m.id === guild.ownerId || isAdmin(m, guild)) continue;
        expect(base & ~fromRoles, where).toBe(0n);
        for (const c of channels) {
          const fromOverwrites = c.overwrites.reduce((acc, o) => acc | o.allow, 0n);
          const perms = channelPermissions(m, guild, c, NOW);
          expect(isValidPermissions(perms), where).toBe(true);
          expect(perms & ~((fromRoles | fromOverwrites) & ~P.ADMINISTRATOR), where).toBe(0n);
        }
      }
    });
  });

  it('implicit rules always hold for non-owners and non-administrators', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      for (const m of members) {
        if (m.id === guild.ownerId || isAdmin(m, guild)) continue;
        if (isTimedOut(m, NOW)) expect(basePermissions(m, guild, NOW) & ~TIMED_OUT_PERMISSIONS, where).toBe(0n);
        for (const c of channels) {
          const perms = channelPermissions(m, guild, c, NOW);
          if (!(perms & P.VIEW_CHANNEL)) expect(perms, where).toBe(0n);
          if (!(perms & P.SEND_MESSAGES)) expect(perms & (P.MENTION_EVERYONE | P.ATTACH_FILES), where).toBe(0n);
          if (c.kind === 'voice' && !(perms & P.CONNECT)) expect(perms & (P.SPEAK | P.VIDEO | P.MUTE_MEMBERS), where).toBe(0n);
          if (isTimedOut(m, NOW)) expect(perms & ~TIMED_OUT_PERMISSIONS, where).toBe(0n);
        }
      }
    });
  });

  it('without overwrites, channel permissions are the guild-wide ones after the implicit rules', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      for (const m of members)
        for (const c of channels) {
          const bare = { ...c, overwrites: [] };
          const base = basePermissions(m, guild, NOW);
          const expected = base === ALL ? ALL : applyImplicitRules(base, c.kind, false);
          expect(channelPermissions(m, guild, bare, NOW), where).toBe(expected);
        }
    });
  });

  it('is monotone: adding allows or role permissions, or removing denies, never removes a permission', () => {
    forAllWorlds(({ guild, members, channels }, gen, where) => {
      const c = gen.pick(channels);
      const extra = gen.perms(0.3, 0.05);
      const variants: PermissionChannel[] = [];
      if (c.overwrites.length > 0) {
        const k = gen.int(c.overwrites.length);
        const o = c.overwrites[k]!;
        const withAllow = c.overwrites.map((x, i) => (i === k ? { ...o, allow: o.allow | extra } : x));
        const lessDeny = c.overwrites.map((x, i) => (i === k ? { ...o, deny: o.deny & ~extra } : x));
        variants.push({ ...c, overwrites: withAllow }, { ...c, overwrites: lessDeny });
      }
      const newcomer: PermissionOverwrite = gen.chance(0.5)
        ? { type: 'role', id: gen.pick(rolesOf(guild)).id, allow: extra, deny: 0n }
        : { type: 'member', id: gen.pick(members).id, allow: extra, deny: 0n };
      variants.push({ ...c, overwrites: [...c.overwrites, newcomer] });

      const role = gen.pick(rolesOf(guild));
      const richer = rolesOf(guild).map((r) => (r.id === role.id ? { ...r, permissions: r.permissions | extra } : r));
      const richerGuild: PermissionGuild = { ...guild, roles: new Map(richer.map((r) => [r.id, r])) };

      for (const m of members) {
        const before = channelPermissions(m, guild, c, NOW);
        for (const v of variants) expect(before & ~channelPermissions(m, guild, v, NOW), `${where} ${m.id}`).toBe(0n);
        expect(before & ~channelPermissions(m, richerGuild, c, NOW), `${where} ${m.id} role ${role.id}`).toBe(0n);
        const baseBefore = basePermissions(m, guild, NOW);
        expect(baseBefore & ~basePermissions(m, richerGuild, NOW), where).toBe(0n);
      }
    });
  });

  it('ending a timeout never removes a permission', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      for (const m of members) {
        const free = { ...m, timeoutUntil: null };
        expect(basePermissions(m, guild, NOW) & ~basePermissions(free, guild, NOW), where).toBe(0n);
        for (const c of channels) expect(channelPermissions(m, guild, c, NOW) & ~channelPermissions(free, guild, c, NOW), where).toBe(0n);
      }
    });
  });

  it('Map and plain-object role lookups agree', () => {
    forAllWorlds(({ guild, members, channels }, _, where) => {
      const list = rolesOf(guild);
      const asMap: PermissionGuild = { ...guild, roles: new Map(list.map((r) => [r.id, r])) };
      const asRecord: PermissionGuild = { ...guild, roles: Object.fromEntries(list.map((r) => [r.id, r])) };
      for (const m of members)
        for (const c of channels) {
          expect(channelPermissions(m, asMap, c, NOW), where).toBe(channelPermissions(m, asRecord, c, NOW));
        }
    });
  });
});

describe('random guilds: hierarchy', () => {
  const ACTIONS: MemberAction[] = ['kick', 'ban', 'timeout'];

  it('nobody acts on the owner, and no two members can act on each other', () => {
    forAllWorlds(({ guild, members }, _, where) => {
      for (const a of members)
        for (const b of members) {
          if (a.id === b.id) continue;
          for (const action of ACTIONS) {
            const ab = canActOnMember(a, b, action, guild, NOW);
            if (b.id === guild.ownerId) expect(ab, where).toBe(false);
            if (ab) {
              expect(canActOnMember(b, a, action, guild, NOW), `${where} ${a.id}<->${b.id} ${action}`).toBe(false);
              expect(a.id === guild.ownerId || highestRolePosition(a, guild) > highestRolePosition(b, guild), where).toBe(true);
            }
          }
        }
    });
  });

  it('the owner manages every role; anyone else only roles strictly below their top role', () => {
    forAllWorlds(({ guild, members }, _, where) => {
      for (const m of members)
        for (const r of rolesOf(guild)) {
          const can = canManageRole(m, r, guild, NOW);
          if (m.id === guild.ownerId) expect(can, where).toBe(true);
          else if (can) expect(highestRolePosition(m, guild) > r.position, where).toBe(true);
        }
    });
  });

  it('re-saving a role unchanged is allowed exactly when the role can be managed; granting needs the bits', () => {
    forAllWorlds(({ guild, members }, gen, where) => {
      for (const m of members)
        for (const r of rolesOf(guild)) {
          expect(canEditRolePermissions(m, r, r.permissions, guild, NOW), where).toBe(canManageRole(m, r, guild, NOW));
          const wanted = r.permissions | gen.perms(0.2, 0.05);
          if (canEditRolePermissions(m, r, wanted, guild, NOW)) {
            const mine = basePermissions(m, guild, NOW);
            expect(mine === ALL || (wanted & ~r.permissions & ~mine) === 0n, where).toBe(true);
          }
        }
    });
  });

  it('an overwrite can be set only with MANAGE_ROLES in the channel and bits held there', () => {
    forAllWorlds(({ guild, members, channels }, gen, where) => {
      for (const m of members)
        for (const c of channels) {
          const allow = gen.perms(0.1) & ~P.ADMINISTRATOR;
          const deny = gen.perms(0.1) & ~P.ADMINISTRATOR;
          const perms = channelPermissions(m, guild, c, NOW);
          const expected = (perms & P.MANAGE_ROLES) !== 0n && ((allow | deny) & ~perms) === 0n;
          expect(canSetOverwrite(m, c, allow, deny, guild, NOW), where).toBe(expected);
        }
    });
  });
});
