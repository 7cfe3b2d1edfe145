/**
 * What the attachments service asks the control server (over gRPC, `proto/`): who the bearer
 * of an access token is, and what they may do. The service never reads the control database
 * and never checks a token's signature itself.
 */
export interface Principal {
  account: string;
  accountId: number;
}

/** A text channel as the control server resolved it. */
export interface ChannelSummary {
  /** The control server's channel id: it survives renames (store it beside the name). */
  id: string;
  /** Canonical name: lowercase, without `#`. */
  name: string;
  /** A member with no roles may see and read it: its files need no signed URL. */
  public: boolean;
}

export interface UploadGrant extends Principal {
  /** The largest file this account may upload into this channel (from its roles). */
  maxBytes: number;
  channel: ChannelSummary;
}

/** A text channel by name (`general`, `#general`), or by the id an UploadGrant reported. */
export type ChannelRef = string | { id: string };

export interface Authorizer {
  /** The token's account; AttachmentError `invalid_token` / `unauthorized` otherwise. */
  identify(token: string): Promise<Principal>;
  /** May the bearer upload into `channel` (ATTACH_FILES)? `forbidden` / `not_found` otherwise. */
  authorizeUpload(token: string, channel: string): Promise<UploadGrant>;
  /**
   * May the account (by name, or by numeric id) read `channel` (VIEW_CHANNEL and READ_HISTORY)?
   * False for an unknown channel (deleted: its private files are nobody's any more).
   */
  canRead(account: string | number, channel: ChannelRef): Promise<boolean>;
  /** Is `channel` readable by every member (then its files need no signed URL)? False when unknown. */
  isPublicChannel(channel: ChannelRef): Promise<boolean>;
  /** May the bearer add custom emoji (MANAGE_EMOJIS) / change the guild icon (MANAGE_GUILD)? */
  authorizeGuildAction(token: string, action: 'manage_emojis' | 'manage_guild'): Promise<Principal>;
}
