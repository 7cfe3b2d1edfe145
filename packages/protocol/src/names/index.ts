export * from './channel-names.js';
