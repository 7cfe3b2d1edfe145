/** The guild's own settings: name, description, icon, ad-hoc IRC channels, and its owner. */
import { Permission } from '@alloquy/protocol/permissions';
import { ControlError } from '../errors/control-error.js';
import type { Json } from './audit.js';
import type { Actor } from './authority.js';
import type { GuildContext } from './context.js';
import { requireMember } from './lookup.js';
import type { GuildSnapshot } from './model.js';

export interface SettingsPatch {
  name?: string;
  description?: string;
  icon?: string | null;
  adhocChannels?: boolean;
  /** Account name of the new owner. */
  owner?: string;
}

export function updateSettings(ctx: GuildContext, actor: Actor, patch: SettingsPatch): GuildSnapshot['settings'] {
  const who = ctx.authority.require(actor, Permission.MANAGE_GUILD);
  const current = ctx.snapshot().settings;
  const changes: Json = {};
  let ownerId: number | undefined;
  if (patch.name !== undefined) {
    if (patch.name.trim().length < 2 || patch.name.length > 100) throw new ControlError('invalid_request', 'a server name is 2 to 100 characters');
    changes.name = patch.name;
  }
  if (patch.description !== undefined) {
    if (patch.description.length > 1000) throw new ControlError('invalid_request', 'a description is at most 1000 characters');
    changes.description = patch.description;
  }
  if (patch.icon !== undefined) {
    if (patch.icon !== null && patch.icon.length > 2048) throw new ControlError('invalid_request', 'an icon reference is at most 2048 characters');
    changes.icon = patch.icon;
  }
  if (patch.adhocChannels !== undefined) changes.adhoc_channels = patch.adhocChannels;
  if (patch.owner !== undefined) {
    if (!who.supreme || (actor.kind === 'account' && !actor.account.isAdmin && current.ownerId !== String(actor.account.id))) {
      throw new ControlError('forbidden', 'only the owner or a server admin may transfer ownership');
    }
    const target = requireMember(ctx.snapshot(), patch.owner);
    ownerId = target.accountId;
    changes.owner = target.username;
  }
  if (Object.keys(changes).length === 0) return current;
  ctx.audit.write(who, { action: 'guild.update', targetType: 'guild', targetId: '1', targetName: current.name, changes }, () => {
    ctx
      .sql(
        'UPDATE guild_settings SET name = ?, description = ?, icon = ?, adhoc_channels = ?, owner_account_id = COALESCE(?, owner_account_id), updated_at = ? WHERE id = 1',
      )
      .run(
        patch.name ?? current.name,
        patch.description ?? current.description,
        patch.icon === undefined ? current.icon : patch.icon,
        (patch.adhocChannels ?? current.adhocChannels) ? 1 : 0,
        ownerId ?? null,
        ctx.now(),
      );
  });
  return ctx.snapshot().settings;
}
