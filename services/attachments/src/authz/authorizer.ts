/**
 * What the attachments service asks the control server (over gRPC, `proto/`): who the bearer
 * of an access token is, and what they may do. The service never reads the control database
 * and never checks a token's signature itself.
 */
export interface Principal {
  account: string;
  accountId: number;
}

export interface UploadGrant extends Principal {
  /** The largest file this account may upload into this channel (from its roles). */
  maxBytes: number;
}

export interface Authorizer {
  /** The token's account; AttachmentError `invalid_token` / `unauthorized` otherwise. */
  identify(token: string): Promise<Principal>;
  /** May the bearer upload into `channel` (ATTACH_FILES)? `forbidden` / `not_found` otherwise. */
  authorizeUpload(token: string, channel: string): Promise<UploadGrant>;
  /** May the account read `channel` (VIEW_CHANNEL and READ_HISTORY)? */
  canRead(account: string, channel: string): Promise<boolean>;
  /** Is `channel` readable by every member (then its files need no signed URL)? */
  isPublicChannel(channel: string): Promise<boolean>;
  /** May the bearer add custom emoji (MANAGE_EMOJIS) / change the guild icon (MANAGE_GUILD)? */
  authorizeGuildAction(token: string, action: 'manage_emojis' | 'manage_guild'): Promise<Principal>;
}
