export * from './layered-config.js';
export * from './secrets.js';
