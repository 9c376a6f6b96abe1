/** @module The settings the Workers tests run the Worker with, on top of the `[vars]` of wrangler.toml. */

export const JWT_SECRET = 'worker-tests-hs256-secret-0123456789abcdef';
export const JWT_ISSUER = 'https://issuer.example.com';
export const JWT_AUDIENCE = 'ccmp-gateway';

export const TEST_VARS = {
  // The demo users (alice, bob, carol) drive the flows; the Worker refuses them unless told otherwise.
  CCMP_ALLOW_DEMO_DIRECTORY: 'true',
  CCMP_AUTH_SCHEMES: 'bearer,basic,subject',
  JWT_SECRET,
  JWT_ISSUER,
  JWT_AUDIENCE,
  LOG_LEVEL: 'error',
  // Tests make many requests from one "client": keep failed logins from slowing them down.
  AUTH_THROTTLE_FREE: '1000',
  AUTH_THROTTLE_LOCKOUT: '10000',
} as const;
