/** @module The bindings the test configuration adds to those of wrangler.toml. */
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    VALIDATE: Fetcher;
    CCMP_AUTH_SCHEMES: string;
    JWT_SECRET: string;
    JWT_ISSUER: string;
    JWT_AUDIENCE: string;
  }
}
