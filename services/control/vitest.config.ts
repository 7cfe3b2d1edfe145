import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'control',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The Murmur Ice proxies are generated at build time; tests run from src and need them too.
    globalSetup: ['./test/setup/codegen.ts'],
    // Integration tests start real daemons (InspIRCd registers clients on a 1 s tick).
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
