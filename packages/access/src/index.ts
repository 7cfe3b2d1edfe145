export * from './access-proto.js';
export * from './access-client.js';
