export * from './seeded-random.js';
export * from './import-chain.js';
