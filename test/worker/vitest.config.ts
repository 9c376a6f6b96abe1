/**
 * @module The Workers test project: these tests run inside workerd (`@cloudflare/vitest-pool-workers`),
 * with the bindings of wrangler.toml, a local D1 database with `migrations/` applied, and test settings.
 *
 * xmllint does not exist inside workerd, so the tests send every CCMP response the Worker emits to the
 * `VALIDATE` service binding: a function that runs here, on Node, and checks the body against the RFC 6503
 * XSD and the RFC 6501 RELAX NG with the same `validateCcmpResponse` as the Node suite.
 */
import './_offline.ts';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { validateCcmpResponse } from '../helpers/validate.ts';
import { TEST_VARS } from './_settings.ts';

// Loaded after _offline.ts has set the environment: static imports would run before it.
const { cloudflareTest, readD1Migrations } = await import('@cloudflare/vitest-pool-workers');

const root = fileURLToPath(new URL('../../', import.meta.url));

export default defineConfig({
  root,
  plugins: [
    cloudflareTest(async () => ({
      main: './src/worker.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          ...TEST_VARS,
          TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL('migrations/', `file://${root}/`))),
        },
        serviceBindings: {
          /** Answers 200 for a valid CCMP response; a schema error becomes a 500 carrying its message. */
          VALIDATE: async (request: Request) => {
            validateCcmpResponse(await request.text());
            return new Response('valid');
          },
        },
      },
    })),
  ],
  test: {
    include: ['test/worker/**/*.test.ts'],
    setupFiles: ['test/worker/_setup.ts'],
    globalSetup: ['test/worker/_global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
