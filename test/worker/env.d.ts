/** @module The bindings the test configuration adds to those of wrangler.toml. */
import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      VALIDATE: Fetcher;
      CCMP_AUTH_SCHEMES: string;
      JWT_SECRET: string;
      JWT_ISSUER: string;
      JWT_AUDIENCE: string;
    }
  }
}
