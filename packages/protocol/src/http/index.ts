export * from './error-body.js';
