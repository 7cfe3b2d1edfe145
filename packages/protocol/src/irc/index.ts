export * from './line.js';
export * from './fold-case.js';
export * from './client-tags.js';
