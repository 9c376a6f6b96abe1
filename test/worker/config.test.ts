/**
 * The Worker's configuration, inside workerd: built once per isolate from its bindings, and a clear HTTP
 * 500 `configuration error: …` naming the setting (and logged) when a binding is missing or wrong.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/log.ts';
import { createWorker } from '../../src/worker.ts';
import { confCreate, expectCode, http, send } from './_ccmp.ts';

/** A Worker with its own isolate-like state and a logger the test can read. */
function isolate() {
  const logger = memoryLogger();
  let builds = 0;
  const handler = createWorker({
    logger: () => {
      builds++;
      return logger;
    },
  });
  return { handler, logger, builds: () => builds };
}

function without(...names: string[]): object {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

describe('Worker configuration', () => {
  it('builds the gateway once per isolate and keeps it for the next requests', async () => {
    const { handler, builds } = isolate();
    for (let i = 0; i < 3; i++) expectCode(await send(handler, confCreate('alice')), 200);
    expect(builds()).toBe(1);
  });

  it.each([
    [{ CCMP_DOMAIN: 'not a domain' }, /^configuration error: CCMP_DOMAIN must be a domain name/],
    [
      { CCMP_CONNECTOR: 'flexisip' },
      /^configuration error: CCMP_CONNECTOR=flexisip is not available on Cloudflare Workers/,
    ],
    [{ CCMP_CONNECTOR: 'janus' }, /^configuration error: CCMP_CONNECTOR must be one of mock, flexisip/],
    [
      { CCMP_ALLOW_DEMO_DIRECTORY: 'false' },
      /^configuration error: CCMP_DIRECTORY is demo .* refused on the edge/,
    ],
    [
      { CCMP_ALLOW_DEMO_DIRECTORY: 'maybe' },
      /^configuration error: CCMP_ALLOW_DEMO_DIRECTORY must be one of true, false/,
    ],
    [
      { CCMP_AUTH_SCHEMES: 'digest,basic' },
      /^configuration error: DIGEST_NONCE_SECRET must be set on Cloudflare Workers when Digest is enabled/,
    ],
    [{ CCMP_STORE: 'sqlite' }, /^configuration error: CCMP_STORE must be one of d1/],
    [
      { CCMP_SITES_FILE: 'sites.json' },
      /^configuration error: CCMP_SITES_FILE cannot be read on Cloudflare Workers: put the sites document in CCMP_SITES/,
    ],
    [{ CCMP_SITES: '{not json' }, /^configuration error: invalid sites file:\s+CCMP_SITES: \$: is not JSON/],
    [
      {
        CCMP_SITES: JSON.stringify({
          site: 'example.com',
          localDomains: ['example.com'],
          signingKey: { kid: 'k1', alg: 'ES256', privateKey: { env: 'CCMP_SITE_PRIVATE_KEY' } },
          peers: {},
        }),
      },
      /^configuration error: invalid sites file:\s+CCMP_SITES: \$\.signingKey\.privateKey: the environment variable CCMP_SITE_PRIVATE_KEY is not set/,
    ],
    [{ JWT_SECRET: 'short' }, /^configuration error: JWT_SECRET: the JWT secret must be at least 32 bytes/],
    [
      {
        CCMP_DIRECTORY: 'ldap',
        LDAP_URL: 'ldap://127.0.0.1:1',
        LDAP_BASE_DN: 'dc=x',
        CCMP_MAPPINGS: 'site.json',
      },
      /^configuration error: .*CCMP_MAPPINGS names a file, but this runtime cannot read files/,
    ],
    [
      {
        CCMP_DIRECTORY: 'ldap',
        LDAP_URL: 'ldap://127.0.0.1:1',
        LDAP_BASE_DN: 'dc=example,dc=com',
        LDAP_REUSE_CONNECTIONS: 'true',
      },
      /^configuration error: LDAP_REUSE_CONNECTIONS must be false on Cloudflare Workers/,
    ],
    [{ CCMP_DIRECTORY: 'ldap' }, /^configuration error: LDAP_URL must be set when CCMP_DIRECTORY=ldap/],
    [
      {
        CCMP_DIRECTORY: 'ldap',
        LDAP_URL: 'ldaps://ldap.example.com',
        LDAP_BASE_DN: 'dc=x',
        LDAP_CA: '-----BEGIN CERTIFICATE-----',
      },
      /^configuration error: LDAP_CA is not supported on Cloudflare Workers/,
    ],
  ])('answers HTTP 500 naming the bad setting for %o', async (overrides, message) => {
    const { handler, logger } = isolate();
    const res = await http(handler, confCreate('alice'), { env: { ...env, ...overrides } });
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(message);
    expect(logger.records).toContainEqual(
      expect.objectContaining({ level: 'error', event: 'gateway.configuration_error' }),
    );
  });

  it('names the missing D1 binding', async () => {
    const { handler } = isolate();
    const res = await http(handler, confCreate('alice'), { env: without('DB') });
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/^configuration error: the D1 binding DB is missing/);
  });

  it('keeps answering with the configuration error, logged once', async () => {
    const { handler, logger } = isolate();
    const bad = { ...env, CCMP_DOMAIN: 'not a domain' };
    for (let i = 0; i < 3; i++)
      expect((await http(handler, confCreate('alice'), { env: bad })).status).toBe(500);
    expect(logger.records.filter((r) => r.event === 'gateway.configuration_error')).toHaveLength(1);
  });

  it('accepts an LDAP directory with one connection per request, and the bundled mappings', async () => {
    const { handler, logger } = isolate();
    const ldap = {
      ...env,
      CCMP_DIRECTORY: 'ldap',
      LDAP_URL: 'ldap://127.0.0.1:1',
      LDAP_BASE_DN: 'dc=example,dc=com',
    };
    const res = await SELFless(handler, ldap);
    expect(res.status).toBe(200);
    const configured = logger.records.find((r) => r.event === 'identity.configured');
    expect(String(configured?.fields.summary)).toMatch(/mappings=openldap-inetorgperson/);
    expect(String(configured?.fields.summary)).toMatch(/connections=per operation/);
  });
});

/** GET /health on a handler: builds it without sending credentials anywhere. */
function SELFless(handler: ReturnType<typeof createWorker>, bindings: object): Promise<Response> {
  return http(handler, null, { method: 'GET', path: '/health', env: bindings });
}
