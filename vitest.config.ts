/** @module vitest.config */
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Workers runtime tests run as their own project, inside workerd.
    exclude: [...configDefaults.exclude, 'test/worker/**'],
    // Integration tests start real services (slapd, mariadb) in their hooks.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
