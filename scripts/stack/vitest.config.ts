import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'stack',
    include: ['src/**/*.test.ts'],
    // Integration tests start real daemons (InspIRCd registers clients on a 1 s tick).
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
