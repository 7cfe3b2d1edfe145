import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'client',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Integration tests start a real Murmur and stream audio through it.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
