/**
 * Wire shapes of the control server's HTTP API (`/api/v1`), one module per resource: the bodies
 * a client sends and the views it gets back. The server validates requests and generates its
 * OpenAPI document from these schemas, so a client that uses them speaks exactly what the server
 * accepts. Each schema has a type of the same name: for a request body, what a client sends
 * (`z.input`); for a view, what it receives.
 */
export * from './permissions.js';
export * from './accounts.js';
export * from './sessions.js';
export * from './admin.js';
export * from './guild.js';
export * from './channels.js';
export * from './categories.js';
export * from './roles.js';
export * from './members.js';
export * from './bans.js';
export * from './invites.js';
export * from './audit-log.js';
export * from './history.js';
export * from './voice.js';
