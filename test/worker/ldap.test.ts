/**
 * LDAP on the edge, inside workerd: the Worker binds and searches a real OpenLDAP (started on the Node
 * side) with ldapts over `node:net`, one connection per request, with the identity mappings bundled in
 * the Worker (mappings/openldap-inetorgperson.json, which matches the seeded directory).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { memoryLogger } from '../../src/log.ts';
import { createWorker } from '../../src/worker.ts';
import { basic, confCreate, confRetrieve, expectCode, http, send, userId } from './_ccmp.ts';

/** Passwords of the seeded directory. */
const PASSWORDS: Record<string, string> = { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' };

describe('an LDAP directory from the Worker', () => {
  const logger = memoryLogger();
  const worker = createWorker({ logger: () => logger });
  let bindings: object;
  const as = (login: string, password = PASSWORDS[login]) => ({
    authorization: basic(login, password),
    env: bindings,
  });

  beforeAll(() => {
    const ldap = inject('ldap');
    bindings = {
      ...env,
      CCMP_DIRECTORY: 'ldap',
      CCMP_ALLOW_DEMO_DIRECTORY: 'false',
      CCMP_AUTH_SCHEMES: 'basic',
      LDAP_URL: ldap.url,
      LDAP_BASE_DN: ldap.baseDn,
      LDAP_BIND_DN: ldap.bindDn,
      LDAP_BIND_PASSWORD: ldap.bindPassword,
      LDAP_TIMEOUT_MS: '3000',
      // No caching: every request below reaches the directory, on a connection of its own.
      DIRECTORY_CACHE_TTL_S: '0',
      CREDENTIAL_CACHE_TTL_S: '0',
    };
  });

  it('authenticates directory users request after request', async () => {
    const uri = expectCode(await send(worker, confCreate('bob'), as('bob')), 200).confObjID ?? '';
    for (let i = 0; i < 3; i++) {
      const read = expectCode(await send(worker, confRetrieve('bob', uri), as('bob')), 200);
      expect(read.confUserID).toBe(userId('bob'));
    }
    const summary = logger.records.find((r) => r.event === 'identity.configured')?.fields.summary;
    expect(String(summary)).toMatch(
      /directory=ldap\(.*mappings=openldap-inetorgperson.*connections=per operation/,
    );
  });

  it('takes system roles from the directory groups (alice is in conf-admins)', async () => {
    const uri = expectCode(await send(worker, confCreate('carol'), as('carol')), 200).confObjID ?? '';
    // bob has no role in carol's conference; alice, an administrator, may read it.
    expectCode(await send(worker, confRetrieve('bob', uri), as('bob')), 401);
    expectCode(await send(worker, confRetrieve('alice', uri), as('alice')), 200);
  });

  it('refuses a wrong password and an unknown user with HTTP 401', async () => {
    expect((await http(worker, confCreate('bob'), as('bob', 'not-the-password'))).status).toBe(401);
    expect((await http(worker, confCreate('mallory'), as('mallory', 'anything'))).status).toBe(401);
  });
});
