import { defineConfig } from 'vitest/config';

// One run covers every package; each package's own vitest.config.ts sets its timeouts.
export default defineConfig({
  test: {
    projects: ['packages/*', 'services/*', 'scripts/stack', 'clients/*'],
  },
});
