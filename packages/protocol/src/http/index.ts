export * from './error-body.js';
export * from './control/index.js';
export * from './attachments/index.js';
export * from './signalling/index.js';
