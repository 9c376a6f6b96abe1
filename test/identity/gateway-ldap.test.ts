/**
 * @module The whole gateway on a real OpenLDAP directory: identity built by `identityFromEnv` from the
 * environment, requests through the HTTP app, slapd stopped and started under it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { identityFromEnv, type Identity } from '../../src/auth/from-env.ts';
import { memoryLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import type { ObjectKind } from '../../src/store/types.ts';
import {
  DOMAIN,
  all,
  attr,
  basic,
  confInfo,
  envelope,
  expectCode,
  idOf,
  readReply,
  targets,
  testGateway,
  text,
  type Reply,
  type RequestSpec,
  type TestGateway,
} from '../e2e/_harness.ts';
import { serviceAccount, startSlapd, type Slapd } from '../services/slapd.ts';

/** Passwords of the seeded directory (test/fixtures/ldap/seed.ldif). */
const PASSWORDS: Record<string, string> = {
  alice: 'alice-secret',
  bob: 'bob-secret',
  carol: 'carol-secret',
  erin: 'erin-secret',
};
const MAPPINGS = fileURLToPath(new URL('../../mappings/openldap-inetorgperson.json', import.meta.url));
const KINDS: ObjectKind[] = ['blueprint', 'conference', 'sidebar-by-val', 'sidebar-by-ref'];

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapd();
});
afterAll(async () => {
  await slapd.dispose();
});
beforeEach(async () => {
  // A test that failed during an outage must not leave the next one without a directory.
  await slapd.start();
});

const opened: Identity[] = [];
afterEach(async () => {
  for (const identity of opened.splice(0)) await identity.directory.close?.();
});

interface LdapGateway {
  gw: TestGateway;
  identity: Identity;
  logger: ReturnType<typeof memoryLogger>;
}

/** A gateway whose identity comes from the environment, as the Node entry builds it. */
function ldapGateway(env: Record<string, string> = {}): LdapGateway {
  const logger = memoryLogger();
  const { bindDn, bindPassword } = serviceAccount();
  const identity = identityFromEnv(
    {
      CCMP_DIRECTORY: 'ldap',
      CCMP_MAPPINGS: MAPPINGS,
      LDAP_URL: slapd.url,
      LDAP_BASE_DN: slapd.suffix,
      LDAP_BIND_DN: bindDn,
      LDAP_BIND_PASSWORD: bindPassword,
      DIGEST_HA1_ATTRIBUTE: 'ccmpDigestHA1',
      LDAP_TIMEOUT_MS: '2000',
      ...env,
    },
    { domain: DOMAIN, platform: webPlatform, logger, readFile: (path) => readFileSync(path, 'utf8') },
  );
  opened.push(identity);
  expect(identity.demo).toBe(false);
  const gw = testGateway({
    directory: identity.directory,
    schemes: identity.schemes,
    authThrottle: identity.throttle,
    logger,
    passwords: PASSWORDS,
  });
  return { gw, identity, logger };
}

async function storedUris(gw: TestGateway): Promise<string[]> {
  await gw.app.ready;
  return (await gw.store.listAll({ kinds: KINDS })).sort();
}

/** Sends a request with `<subject>` credentials and no HTTP credentials. */
function withSubject(gw: TestGateway, login: string, password: string, spec: RequestSpec): Promise<Reply> {
  return gw.ccmp(null, { confUserID: idOf(login), ...spec, subject: { username: login, password } });
}

const create: RequestSpec = { type: 'conf', operation: 'create' };

describe('the gateway on LDAP (identityFromEnv)', () => {
  it('creates and retrieves a conference as an LDAP user with HTTP Basic', async () => {
    const { gw } = ldapGateway();
    const uri = await gw.createConference('bob', { confInfo: confInfo(targets([[idOf('carol')]])) });
    const stored = await gw.stored(uri);
    expect(stored.owner).toBe(idOf('bob'));

    const reply = expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(reply.confUserID).toBe(idOf('bob'));
    expect(reply.confObjID).toBe(uri);
    // The users carry what the directory says of them (displayName, the mapped SIP address).
    const users = all(reply.payload('confInfo'), 'info:users/info:user');
    const bob = users.find((u) => attr(u, 'entity') === idOf('bob'));
    const carol = users.find((u) => attr(u, 'entity') === idOf('carol'));
    expect(text(bob, 'info:display-text')).toBe('Bob');
    expect(text(bob, 'info:associated-aors/info:entry/info:uri')).toBe(`sip:bob@${DOMAIN}`);
    expect(text(carol, 'info:display-text')).toBe('Carol Danvers');

    // The invitee logs in with her own LDAP password and sees the conference.
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }), 200);
    expectCode(await gw.ccmp('erin', { type: 'conf', operation: 'retrieve', confObjID: uri }), 401);
  });

  it('requires the confUserID to be the authenticated user: 401 for another user, 421 for an unknown one', async () => {
    const { gw } = ldapGateway();
    const before = await storedUris(gw);
    const other = await gw.ccmp('bob', { ...create, confUserID: idOf('carol') });
    expectCode(other, 401);
    expect(other.responseString).toContain(idOf('carol'));
    const unknown = await gw.ccmp('bob', { ...create, confUserID: idOf('nobody') });
    expectCode(unknown, 421);
    // A name that only an LDAP filter would confuse with a user is no user either.
    expectCode(await gw.ccmp('bob', { ...create, confUserID: 'xcon-userid:*@example.com' }), 421);
    expect(await storedUris(gw)).toEqual(before);
    // Compared case-insensitively.
    expectCode(await gw.ccmp('bob', { ...create, confUserID: 'XCON-USERID:Bob@Example.COM' }), 200);
  });

  it('answers a wrong password with HTTP 401 and a challenge for every HTTP scheme', async () => {
    const { gw } = ldapGateway();
    const before = await storedUris(gw);
    for (const authorization of [basic('bob', 'wrong'), basic('nobody', 'bob-secret'), undefined]) {
      const res = await gw.http(envelope({ ...create, confUserID: idOf('bob') }), {
        as: null,
        headers: authorization ? { authorization } : {},
      });
      expect(res.status).toBe(401);
      const challenges = res.headers.get('www-authenticate') ?? '';
      expect(challenges).toMatch(/Digest realm="example\.com".*algorithm=SHA-256/);
      expect(challenges).toMatch(/Digest realm="example\.com".*algorithm=MD5/);
      expect(challenges).toContain('Basic realm="example.com"');
      // Strongest first: Digest SHA-256, Digest MD5, Basic.
      const order = ['algorithm=SHA-256', 'algorithm=MD5', 'Basic '].map((c) => challenges.indexOf(c));
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      await res.text();
    }
    expect(await storedUris(gw)).toEqual(before);
  });

  it('accepts <subject> credentials, and answers wrong ones with CCMP 424', async () => {
    const { gw } = ldapGateway();
    const created = expectCode(await withSubject(gw, 'carol', PASSWORDS.carol!, create), 200);
    expect(created.confUserID).toBe(idOf('carol'));
    expect((await gw.stored(created.confObjID!)).owner).toBe(idOf('carol'));
    expectCode(
      await withSubject(gw, 'carol', PASSWORDS.carol!, {
        type: 'conf',
        operation: 'retrieve',
        confObjID: created.confObjID!,
      }),
      200,
    );
    expectCode(await withSubject(gw, 'carol', 'wrong', create), 424);
  });

  it('makes members of the admin group system administrators: they see every conference', async () => {
    const { gw } = ldapGateway();
    const bobs = await gw.createConference('bob');
    const carols = await gw.createConference('carol');
    const listed = async (login: string) =>
      all(
        expectCode(await gw.ccmp(login, { type: 'confs' }), 200).payload('confsInfo'),
        'info:entry/info:uri',
      )
        .map((u) => text(u))
        .sort();
    expect(await listed('alice')).toEqual([bobs, carols].sort());
    expect(await listed('bob')).toEqual([bobs]);
    expectCode(await gw.ccmp('alice', { type: 'conf', operation: 'retrieve', confObjID: carols }), 200);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: carols }), 401);
  });

  it('costs the directory at most 0.01 operations per request in the steady state', async () => {
    const { gw, identity } = ldapGateway();
    expect(identity.ldapStats).toBeDefined();
    const stats = () => identity.ldapStats!().operations;
    const uri = await gw.createConference('bob');
    const warm = stats();
    expect(warm).toBeGreaterThan(0);
    const requests = 500;
    for (let i = 0; i < requests; i++) {
      expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: uri }), 200);
    }
    const steady = stats() - warm;
    expect(steady / requests).toBeLessThanOrEqual(0.01);
    // The login itself included.
    expect(stats() / (requests + 1)).toBeLessThanOrEqual(0.01);
  }, 120_000);
});

describe('the gateway when LDAP is down', () => {
  it('fails closed (503 for Basic, CCMP 500 for <subject>), writes nothing, and recovers by itself', async () => {
    const { gw, logger } = ldapGateway({ LDAP_RETRY_AFTER_S: '7' });
    // bob logs in before the outage: his credentials are cached.
    const bobs = await gw.createConference('bob');
    const before = await storedUris(gw);
    const backendConferences = gw.mock.conferences.size;
    await slapd.stop();

    // HTTP Basic of a user the caches do not know: HTTP 503 with Retry-After.
    const res = await gw.http(envelope({ ...create, confUserID: idOf('carol') }), { as: 'carol' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.text()).toMatch(/LDAP directory .* is unavailable/);

    // <subject>: CCMP 500 whose response-string names the directory and the cause.
    const subject = await withSubject(gw, 'erin', PASSWORDS.erin!, create);
    expectCode(subject, 500);
    expect(subject.responseString).toBe(
      `LDAP directory ${slapd.url} is unavailable: connection refused (connect ECONNREFUSED 127.0.0.1:${slapd.port})`,
    );

    // A cached user keeps working, until a request needs the directory: inviting an unknown user
    // fails with 500 before the backend is asked, so no orphan conference is left behind.
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: bobs }), 200);
    const invite = await gw.ccmp('bob', { ...create, body: confInfo(targets([[idOf('carol')]])) });
    expectCode(invite, 500);
    expect(invite.responseString).toMatch(/^LDAP directory .* is unavailable/);

    expect(await storedUris(gw)).toEqual(before);
    expect(gw.mock.conferences.size).toBe(backendConferences);

    // The same gateway recovers by itself once slapd is back (after its one-second fail-fast).
    await slapd.start();
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 5_000) {
      const r = await gw.http(envelope({ ...create, confUserID: idOf('carol') }), { as: 'carol' });
      status = r.status;
      const body = await r.text();
      if (status === 200) {
        expectCode(readReply(body, r.headers), 200);
        break;
      }
      expect(status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    expectCode(await withSubject(gw, 'erin', PASSWORDS.erin!, create), 200);
    expect(await storedUris(gw)).toHaveLength(before.length + 2);
    const events = logger.records.map((r) => r.event).filter((e) => e.startsWith('ldap.'));
    expect(events).toEqual(['ldap.unavailable', 'ldap.recovered']);
  });

  it('does not let a client notice a restart of slapd between two requests', async () => {
    const { gw, logger } = ldapGateway();
    await gw.createConference('bob');
    await slapd.stop();
    await slapd.start();
    // The kept service connection died with the old server: carol's login needs it, and succeeds.
    await gw.createConference('carol');
    expect(logger.records.filter((r) => r.event === 'ldap.unavailable')).toEqual([]);
  });
});
