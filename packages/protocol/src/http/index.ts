export * from './error-body.js';
export * from './control/index.js';
