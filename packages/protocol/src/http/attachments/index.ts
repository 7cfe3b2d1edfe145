/**
 * Wire shapes of the attachments service's HTTP API: the JSON answers a client gets (uploads,
 * link embeds, avatars and emoji). Its requests are files, not JSON: the service documents them
 * in its own OpenAPI document. Each schema has a type of the same name.
 */
export * from './attachment.js';
export * from './embed.js';
export * from './assets.js';
