import { z } from 'zod';
import { ControlError } from '../../errors/control-error.js';
import type { Channel } from '../../guild/model.js';
import { Permission, has, hasAny, type OverwriteType } from '@alloquy/protocol/permissions';
import { accountActor, type Actor, type GuildService } from '../../guild/service.js';
import type { MurmurRelay } from '../../murmur/relay.js';
import { route, type ControlRoute } from '../route.js';
import { AuditEntryView, AuditQuery, BanView, CategoryCreate, CategoryPatch, CategoryView, ChannelCreate, ChannelPatch, ChannelView, GuildPatch, GuildView, InviteCreate, InviteView, JoinBody, MemberView, OverwriteBody, ReasonBody, RoleCreate, RolePatch, RoleView, TimeoutBody, auditEntryView, banView, categoryView, channelView, guildView, inviteView, memberView, roleView } from './guild-schemas.js';

export interface GuildRouteDeps {
  guild: GuildService;
  /** Voice channels are made (renamed, removed) in Murmur at once when there is a relay. */
  relay: Pick<MurmurRelay, 'syncChannels'> | undefined;
}

const OVERWRITE_TYPES: readonly OverwriteType[] = ['role', 'member'];

/**
 * The guild over HTTP: settings, channels, categories, roles, members, moderation, invites and
 * the audit log. Every route is `auth: 'user'`; what the caller may do is decided by
 * GuildService with the permission math, never here.
 */
export function guildRoutes({ guild, relay }: GuildRouteDeps): ControlRoute[] {
  /** Murmur down: the channel is recorded, and made by the sync that follows its return. */
  const syncVoice = async (channel: Pick<Channel, 'kind'>): Promise<void> => {
    if (relay && channel.kind === 'voice') await relay.syncChannels().catch(() => undefined);
  };

  /** `perms`: the actor's permissions in the channel, when the caller has already computed them. */
  const viewOf = (actor: Actor, channel: Channel, perms = guild.permissionsOf(actor, channel)) =>
    channelView(guild.snapshot(), channel, perms, hasAny(perms, Permission.MANAGE_ROLES | Permission.MANAGE_CHANNELS));

  /**
   * The view of a channel the caller can see, by id or name; hidden ones are as absent as missing
   * ones. VIEW_CHANNEL in this one channel is what `channelsInView` checks in each.
   */
  const visibleChannelView = (actor: Actor, ref: string) => {
    const found = guild.findChannel(ref);
    if (found) {
      const perms = guild.permissionsOf(actor, found);
      if (has(perms, Permission.VIEW_CHANNEL)) return viewOf(actor, found, perms);
    }
    throw new ControlError('not_found', `no channel "${ref}"`);
  };

  return [
    // ---- the guild ----------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/guild',
      summary: 'The server: name, description, icon, settings, owner, and your permissions',
      tag: 'guild',
      auth: 'user',
      responses: { 200: GuildView },
      handler({ account }) {
        const actor = accountActor(account);
        return { status: 200, body: guildView(guild.snapshot(), guild.member(account) !== undefined, guild.permissionsOf(actor)) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/guild',
      summary: 'Change the server name, description, icon or ad-hoc channel setting (MANAGE_GUILD), or transfer ownership (owner or admin)',
      tag: 'guild',
      auth: 'user',
      body: GuildPatch,
      responses: { 200: GuildView },
      errors: [403, 404],
      handler({ body, account }) {
        const actor = accountActor(account);
        guild.updateSettings(actor, {
          name: body.name,
          description: body.description,
          icon: body.icon,
          adhocChannels: body.adhoc_channels,
          owner: body.owner,
        });
        return { status: 200, body: guildView(guild.snapshot(), guild.member(account) !== undefined, guild.permissionsOf(actor)) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/guild/join',
      summary: 'Join (or rejoin after a kick). Needs an invite unless registration is open; banned accounts cannot',
      tag: 'guild',
      auth: 'user',
      body: JoinBody,
      responses: { 200: MemberView },
      errors: [403],
      handler({ body, account }) {
        const member = guild.join(account, body.invite);
        return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
      },
    }),

    // ---- channels -----------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/channels',
      summary: 'The text and voice channels you can see (VIEW_CHANNEL), with your permissions in each',
      tag: 'channels',
      auth: 'user',
      responses: { 200: z.object({ channels: z.array(ChannelView) }) },
      handler({ account }) {
        const actor = accountActor(account);
        return { status: 200, body: { channels: guild.channelsInView(actor).map((v) => viewOf(actor, v.channel, v.permissions)) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/channels',
      summary: 'Create a text or voice channel (MANAGE_CHANNELS). Voice channels are created in Murmur at once',
      tag: 'channels',
      auth: 'user',
      body: ChannelCreate,
      responses: { 201: ChannelView },
      errors: [403, 404, 409],
      async handler({ body, account }) {
        const actor = accountActor(account);
        const created = guild.createChannel(actor, {
          kind: body.kind,
          name: body.name,
          topic: body.topic,
          categoryId: body.category,
          position: body.position,
        });
        await syncVoice(created);
        return { status: 201, body: viewOf(actor, guild.channel(created.id)) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/channels/{channel}',
      summary: 'One channel you can see, by id or name (text names without "#")',
      tag: 'channels',
      auth: 'user',
      responses: { 200: ChannelView },
      errors: [404],
      handler({ params, account }) {
        return { status: 200, body: visibleChannelView(accountActor(account), params.channel!) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/channels/{channel}',
      summary: 'Rename a channel, set its topic, position or category (MANAGE_CHANNELS in it). A renamed text channel keeps its history',
      tag: 'channels',
      auth: 'user',
      body: ChannelPatch,
      responses: { 200: ChannelView },
      errors: [403, 404, 409],
      async handler({ params, body, account }) {
        const actor = accountActor(account);
        const updated = guild.updateChannel(actor, params.channel!, {
          name: body.name,
          topic: body.topic,
          position: body.position,
          categoryId: body.category,
        });
        await syncVoice(updated);
        return { status: 200, body: viewOf(actor, guild.channel(updated.id)) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/channels/{channel}',
      summary: 'Delete a channel (MANAGE_CHANNELS in it)',
      tag: 'channels',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      async handler({ params, account }) {
        const channel = guild.channel(params.channel!);
        guild.deleteChannel(accountActor(account), channel.id);
        await syncVoice(channel);
        return { status: 204 };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/channels/{channel}/overwrites/{type}/{target}',
      summary:
        'Set the permission overwrite of a role or member in a channel (type "role" or "member"; target id or name). Needs MANAGE_ROLES in the channel and every permission set',
      tag: 'channels',
      auth: 'user',
      body: OverwriteBody,
      responses: { 200: ChannelView },
      errors: [403, 404],
      handler({ params, body, account }) {
        const actor = accountActor(account);
        const channel = guild.setOverwrite(actor, params.channel!, {
          type: overwriteType(params.type!),
          target: params.target!,
          allow: body.allow ?? 0n,
          deny: body.deny ?? 0n,
        });
        return { status: 200, body: viewOf(actor, channel) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/channels/{channel}/overwrites/{type}/{target}',
      summary: 'Remove a permission overwrite from a channel',
      tag: 'channels',
      auth: 'user',
      responses: { 200: ChannelView },
      errors: [403, 404],
      handler({ params, account }) {
        const actor = accountActor(account);
        const channel = guild.deleteOverwrite(actor, params.channel!, overwriteType(params.type!), params.target!);
        return { status: 200, body: viewOf(actor, channel) };
      },
    }),

    // ---- categories ---------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/categories',
      summary: 'The channel categories',
      tag: 'channels',
      auth: 'user',
      responses: { 200: z.object({ categories: z.array(CategoryView) }) },
      errors: [403],
      handler({ account }) {
        return { status: 200, body: { categories: guild.listCategories(accountActor(account)).map(categoryView) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/categories',
      summary: 'Create a category (MANAGE_CHANNELS)',
      tag: 'channels',
      auth: 'user',
      body: CategoryCreate,
      responses: { 201: CategoryView },
      errors: [403],
      handler({ body, account }) {
        return { status: 201, body: categoryView(guild.createCategory(accountActor(account), { name: body.name, position: body.position })) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/categories/{category}',
      summary: 'Rename or move a category (MANAGE_CHANNELS); by id or name',
      tag: 'channels',
      auth: 'user',
      body: CategoryPatch,
      responses: { 200: CategoryView },
      errors: [403, 404],
      handler({ params, body, account }) {
        return { status: 200, body: categoryView(guild.updateCategory(accountActor(account), params.category!, { name: body.name, position: body.position })) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/categories/{category}',
      summary: 'Delete a category (MANAGE_CHANNELS); its channels stay, without a category',
      tag: 'channels',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, account }) {
        guild.deleteCategory(accountActor(account), params.category!);
        return { status: 204 };
      },
    }),

    // ---- roles --------------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/roles',
      summary: 'The roles, most senior first (@everyone last)',
      tag: 'roles',
      auth: 'user',
      responses: { 200: z.object({ roles: z.array(RoleView) }) },
      errors: [403],
      handler({ account }) {
        const everyone = guild.snapshot().everyoneRoleId;
        const roles = guild.listRoles(accountActor(account)).sort((a, b) => b.position - a.position || Number(a.id) - Number(b.id));
        return { status: 200, body: { roles: roles.map((r) => roleView(r, everyone)) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/roles',
      summary: 'Create a role just above @everyone (MANAGE_ROLES; only with permissions you have; an upload limit needs MANAGE_GUILD too)',
      tag: 'roles',
      auth: 'user',
      body: RoleCreate,
      responses: { 201: RoleView },
      errors: [403, 409],
      handler({ body, account }) {
        const role = guild.createRole(accountActor(account), {
          name: body.name,
          permissions: body.permissions,
          color: body.color,
          mentionable: body.mentionable,
          maxUploadBytes: body.max_upload_bytes,
        });
        return { status: 201, body: roleView(role, guild.snapshot().everyoneRoleId) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/roles/{role}',
      summary: 'Change a role below your highest (MANAGE_ROLES; you may only grant permissions you have; its upload limit needs MANAGE_GUILD too); by id or name',
      tag: 'roles',
      auth: 'user',
      body: RolePatch,
      responses: { 200: RoleView },
      errors: [403, 404, 409],
      handler({ params, body, account }) {
        const role = guild.updateRole(accountActor(account), params.role!, {
          name: body.name,
          permissions: body.permissions,
          color: body.color,
          mentionable: body.mentionable,
          position: body.position,
          maxUploadBytes: body.max_upload_bytes,
        });
        return { status: 200, body: roleView(role, guild.snapshot().everyoneRoleId) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/roles/{role}',
      summary: 'Delete a role below your highest (MANAGE_ROLES)',
      tag: 'roles',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, account }) {
        guild.deleteRole(accountActor(account), params.role!);
        return { status: 204 };
      },
    }),

    // ---- members ------------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/members',
      summary: 'The members: roles, timeouts, who owns the server',
      tag: 'members',
      auth: 'user',
      responses: { 200: z.object({ members: z.array(MemberView) }) },
      errors: [403],
      handler({ account }) {
        const snapshot = guild.snapshot();
        const now = Date.now();
        return { status: 200, body: { members: guild.listMembers(accountActor(account)).map((m) => memberView(snapshot, m, now)) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/members/{username}',
      summary: 'One member',
      tag: 'members',
      auth: 'user',
      responses: { 200: MemberView },
      errors: [403, 404],
      handler({ params, account }) {
        const member = guild.getMember(accountActor(account), params.username!);
        return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
      },
    }),
    ...(['put', 'delete'] as const).map((method) =>
      route({
        method,
        path: '/api/v1/members/{username}/roles/{role}',
        summary: method === 'put' ? 'Give a member a role below your highest (MANAGE_ROLES)' : 'Take a role from a member (MANAGE_ROLES, role below your highest)',
        tag: 'members',
        auth: 'user',
        responses: { 200: MemberView },
        errors: [403, 404],
        handler({ params, account }) {
          const actor = accountActor(account);
          const member =
            method === 'put'
              ? guild.addMemberRole(actor, params.username!, params.role!)
              : guild.removeMemberRole(actor, params.username!, params.role!);
          return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
        },
      }),
    ),
    route({
      method: 'post',
      path: '/api/v1/members/{username}/kick',
      summary: 'Remove a member below your highest role (KICK_MEMBERS). They are disconnected and may rejoin with an invite',
      tag: 'members',
      auth: 'user',
      body: ReasonBody,
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, body, account }) {
        guild.kick(accountActor(account), params.username!, body.reason ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/members/{username}/timeout',
      summary: 'Time a member out (MODERATE_MEMBERS, below your highest role): no sending, reacting or speaking until it ends (at most 28 days)',
      tag: 'members',
      auth: 'user',
      body: TimeoutBody,
      responses: { 200: MemberView },
      errors: [403, 404],
      handler({ params, body, account }) {
        const now = Date.now();
        const until = body.until !== undefined ? Date.parse(body.until) : now + body.duration_seconds! * 1000;
        const member = guild.timeout(accountActor(account), params.username!, until, body.reason ?? '');
        return { status: 200, body: memberView(guild.snapshot(), member, now) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/members/{username}/timeout',
      summary: 'Lift a timeout (MODERATE_MEMBERS)',
      tag: 'members',
      auth: 'user',
      responses: { 200: MemberView },
      errors: [403, 404],
      handler({ params, account }) {
        const member = guild.timeout(accountActor(account), params.username!, null);
        return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
      },
    }),

    // ---- bans ---------------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/bans',
      summary: 'Banned accounts (BAN_MEMBERS)',
      tag: 'members',
      auth: 'user',
      responses: { 200: z.object({ bans: z.array(BanView) }) },
      errors: [403],
      handler({ account }) {
        return { status: 200, body: { bans: guild.listBans(accountActor(account)).map(banView) } };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/bans/{username}',
      summary: 'Ban an account (BAN_MEMBERS; a member must rank below you): it is disconnected and cannot rejoin',
      tag: 'members',
      auth: 'user',
      body: ReasonBody,
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, body, account }) {
        guild.ban(accountActor(account), params.username!, body.reason ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/bans/{username}',
      summary: 'Lift a ban (BAN_MEMBERS); the account may then rejoin with an invite',
      tag: 'members',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, account }) {
        guild.unban(accountActor(account), params.username!);
        return { status: 204 };
      },
    }),

    // ---- invites ------------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/invites',
      summary: 'Live invites: not revoked, expired or used up (MANAGE_GUILD)',
      tag: 'invites',
      auth: 'user',
      responses: { 200: z.object({ invites: z.array(InviteView) }) },
      errors: [403],
      handler({ account }) {
        return { status: 200, body: { invites: guild.listInvites(accountActor(account)).map(inviteView) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/invites',
      summary: 'Create an invite (CREATE_INVITE), optionally limited in uses and time; it registers new accounts and readmits kicked ones',
      tag: 'invites',
      auth: 'user',
      body: InviteCreate,
      responses: { 201: InviteView },
      errors: [403],
      handler({ body, account }) {
        const invite = guild.createInvite(accountActor(account), { maxUses: body.max_uses, expiresInSeconds: body.expires_in });
        return { status: 201, body: inviteView(invite) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/invites/{code}',
      summary: 'Revoke an invite (your own, or any with MANAGE_GUILD)',
      tag: 'invites',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, account }) {
        guild.revokeInvite(accountActor(account), params.code!);
        return { status: 204 };
      },
    }),

    // ---- audit log ----------------------------------------------------------------------------
    route({
      method: 'get',
      path: '/api/v1/audit-log',
      summary: 'Every management action, newest first, with who did it (MANAGE_GUILD or a moderation permission)',
      tag: 'guild',
      auth: 'user',
      query: AuditQuery,
      responses: { 200: z.object({ entries: z.array(AuditEntryView) }) },
      errors: [403],
      handler({ query, account }) {
        return { status: 200, body: { entries: guild.auditLog(accountActor(account), query).map(auditEntryView) } };
      },
    }),
  ];
}

function overwriteType(text: string): OverwriteType {
  if (!(OVERWRITE_TYPES as readonly string[]).includes(text)) throw new ControlError('invalid_request', 'an overwrite type is "role" or "member"');
  return text as OverwriteType;
}
