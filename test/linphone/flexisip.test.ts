/**
 * @module Linphone against the gateway on the Flexisip conference server's SQLite database, and the
 * HTTP Digest exchange Linphone performs (linphone-client.md §1).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import flexisipConnector from '../../connectors/flexisip.ts';
import mockConnector from '../../connectors/mock.ts';
import { identityFromEnv } from '../../src/auth/from-env.ts';
import { compileMappings } from '../../src/identity/identity-map.ts';
import { parseMappings } from '../../src/identity/mappings.ts';
import { createGateway } from '../../src/gateway.ts';
import { memoryLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import { memoryStore } from '../../src/store/memory.ts';
import { expectCode, readReply } from '../e2e/_harness.ts';
import {
  PASSWORDS,
  describeLinphoneOnFlexisip,
  ha1FileText,
  linphoneGateway,
  temporaryHa1File,
  type LinphoneGateway,
} from './_flexisip-suite.ts';
import {
  DOMAIN,
  FOCUS,
  LinphoneClient,
  challengesOf,
  checkEnvelope,
  digestAnswer,
  hash,
  linphoneRequest,
  xconId,
  type Algorithm,
} from './_linphone.ts';
import { sqliteServerDatabases } from '../services/flexisip-db.ts';

const databases = sqliteServerDatabases('ccmp-linphone-flexisip-');
afterAll(() => databases.cleanup());
const newDatabase = () => databases.create();

describeLinphoneOnFlexisip('SQLite', newDatabase);

describe('HTTP Digest as Linphone answers it', () => {
  let ha1: Awaited<ReturnType<typeof temporaryHa1File>>;
  let gw: LinphoneGateway;
  const confs = linphoneRequest('confs-request.xml', 'marie');
  const post = (headers: Record<string, string>, body = confs, url = 'http://ccmp.sip.example.org/ccmp') =>
    gw.app.request(url, {
      method: 'POST',
      body,
      headers: { From: 'sip:marie@sip.example.org', 'Content-Type': 'application/ccmp+xml', ...headers },
    });

  beforeAll(async () => {
    ha1 = await temporaryHa1File();
    gw = linphoneGateway({ connectors: [mockConnector({ focusUri: FOCUS })], ha1File: ha1.path });
  });
  afterAll(async () => {
    await ha1.cleanup();
  });

  it('challenges a request without credentials in the SIP realm, with MD5 and SHA-256, qop="auth"', async () => {
    const res = await post({});
    expect(res.status).toBe(401);
    const challenges = challengesOf(res);
    expect(challenges.map((c) => c.algorithm).sort()).toEqual(['MD5', 'SHA-256']);
    for (const c of challenges) {
      expect(c).toMatchObject({ realm: DOMAIN, qop: 'auth' });
      expect(c.nonce).not.toBe('');
    }
    const header = res.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Digest realm="sip\.example\.org", /);
    expect(header).toContain('qop="auth"');
  });

  it.each<Algorithm>(['MD5', 'SHA-256'])(
    'accepts the %s answer computed from user:realm:password, uri = the path, nc and cnonce',
    async (algorithm) => {
      const challenge = challengesOf(await post({})).find((c) => c.algorithm === algorithm)!;
      // Computed here from the password alone, as the client does (HA1 = H(marie:sip.example.org:password)).
      const ha1 = hash(algorithm, `marie:${DOMAIN}:${PASSWORDS.marie}`);
      const cnonce = '0a4f113b';
      const ha2 = hash(algorithm, 'POST:/ccmp');
      const response = hash(algorithm, `${ha1}:${challenge.nonce}:00000001:${cnonce}:auth:${ha2}`);
      const authorization =
        `Digest username="marie", realm="${DOMAIN}", nonce="${challenge.nonce}", uri="/ccmp", ` +
        `algorithm=${algorithm}, response="${response}", opaque="${challenge.opaque ?? ''}", qop=auth, ` +
        `nc=00000001, cnonce="${cnonce}"`;
      const res = await post({ Authorization: authorization });
      expect(res.status).toBe(200);
      checkEnvelope(readReply(await res.text(), res.headers), 'confs', xconId('marie'));

      // The client keeps the nonce and counts up; a count already used gets a fresh, stale challenge.
      const again = (nc: number) =>
        post({
          Authorization: digestAnswer({
            challenge,
            username: 'marie',
            password: PASSWORDS.marie!,
            method: 'POST',
            uri: '/ccmp',
            nc,
          }),
        });
      expect((await again(2)).status).toBe(200);
      const replayed = await again(2);
      expect(replayed.status).toBe(401);
      expect(challengesOf(replayed).every((c) => c.stale === 'true')).toBe(true);
    },
  );

  it('refuses a wrong password, another realm, or a uri that is not the request path', async () => {
    const challenge = challengesOf(await post({})).find((c) => c.algorithm === 'MD5')!;
    const answer = (p: Partial<Parameters<typeof digestAnswer>[0]>) =>
      digestAnswer({
        challenge,
        username: 'marie',
        password: PASSWORDS.marie!,
        method: 'POST',
        uri: '/ccmp',
        nc: 1,
        ...p,
      });
    expect((await post({ Authorization: answer({ password: 'not-her-password' }) })).status).toBe(401);
    expect(
      (await post({ Authorization: answer({ challenge: { ...challenge, realm: 'other.example.org' } }) }))
        .status,
    ).toBe(401);
    expect((await post({ Authorization: answer({ uri: '/xml/' }) })).status).toBe(401);
  });

  it.each([
    ['POST', 'http://ccmp.sip.example.org/ccmp'],
    ['POST', `http://ccmp.sip.example.org/${xconId('marie')}`],
    ['PUT', `http://ccmp.sip.example.org/${xconId('marie')}`],
  ] as const)('works with ccmp_server_url on either binding: %s %s', async (method, url) => {
    const client = new LinphoneClient(
      gw.app,
      { user: 'marie', password: PASSWORDS.marie! },
      { url, method, algorithm: 'SHA-256' },
    );
    const { statuses, reply } = await client.send(confs);
    expect(statuses).toEqual([401, 200]);
    checkEnvelope(reply, 'confs', xconId('marie'));
  });

  it('takes the identity from From when the request has no confUserID', async () => {
    const client = gw.client('pauline');
    const body = linphoneRequest('confs-request.xml', 'pauline').replace(
      /\s*<confUserID>[^<]*<\/confUserID>/,
      '',
    );
    expect(body).not.toContain('confUserID');
    const { reply } = await client.send(body);
    checkEnvelope(reply, 'confs', xconId('pauline'));
  });

  it('answers From-identified requests of another user with 401', async () => {
    const challenge = challengesOf(await post({})).find((c) => c.algorithm === 'MD5')!;
    const body = linphoneRequest('confs-request.xml', 'pauline').replace(
      /\s*<confUserID>[^<]*<\/confUserID>/,
      '',
    );
    // Authenticated as marie, but From (the identity hint) names pauline.
    const res = await post(
      {
        From: 'sip:pauline@sip.example.org',
        Authorization: digestAnswer({
          challenge,
          username: 'marie',
          password: PASSWORDS.marie!,
          method: 'POST',
          uri: '/ccmp',
          nc: 1,
        }),
      },
      body,
    );
    expect(res.status).toBe(200);
    const reply = expectCode(readReply(await res.text(), res.headers), 401);
    expect(reply.confUserID).toBe(xconId('pauline'));
  });

  it('is set up from the environment too: CCMP_AUTH_SCHEMES=digest with DIGEST_HA1_FILE', async () => {
    const file = await temporaryHa1File(ha1FileText({ alice: 'alice-sip-password' }));
    try {
      const logger = memoryLogger();
      const identity = identityFromEnv(
        { CCMP_DIRECTORY: 'demo', CCMP_AUTH_SCHEMES: 'digest', DIGEST_HA1_FILE: file.path },
        { domain: DOMAIN, platform: webPlatform, logger, readFile: (path) => readFileSync(path, 'utf8') },
      );
      expect(identity.describe()).toContain(`digest(SHA-256+MD5, realm=${DOMAIN})`);
      const app = createGateway({
        store: memoryStore(),
        directory: identity.directory,
        schemes: identity.schemes,
        connectors: [mockConnector({ focusUri: FOCUS })],
        config: { domain: DOMAIN },
        logger,
      });
      const alice = new LinphoneClient(app, { user: 'alice', password: 'alice-sip-password' });
      const { statuses, reply } = await alice.send(linphoneRequest('confs-request.xml', 'alice'));
      expect(statuses).toEqual([401, 200]);
      checkEnvelope(reply, 'confs', xconId('alice'));
    } finally {
      await file.cleanup();
    }
  });
});

describe('mappings/flexisip-sip-domain.json', () => {
  it('gives one person the same SIP AOR, XCON-USERID, Digest login and conference-server account', () => {
    const file = new URL('../../mappings/flexisip-sip-domain.json', import.meta.url);
    const map = compileMappings(parseMappings(readFileSync(file, 'utf8'), 'flexisip-sip-domain.json'));
    expect(map.domains).toEqual([DOMAIN]);
    // Linphone's From, its confUserID and its Digest username all designate the login marie.
    for (const name of ['sip:marie@sip.example.org', xconId('marie'), 'marie'])
      expect(map.loginFor(name)).toBe('marie');
    expect(map.loginFor('sip:marie@other.example.org')).toBeUndefined();
    const principal = map.principal({
      dn: 'uid=marie,ou=people,dc=sip,dc=example,dc=org',
      attributes: new Map([
        ['uid', ['marie']],
        ['cn', ['Marie Curie']],
      ]),
      groups: [],
    });
    expect(principal).toMatchObject({
      userId: xconId('marie'),
      username: 'marie',
      sipUri: 'sip:marie@sip.example.org',
      displayName: 'Marie Curie',
      accounts: { flexisip: 'sip:marie@sip.example.org' },
    });
    // The XCON-USERID is exactly what Linphone derives from its identity.
    expect(principal?.userId).toBe(principal?.sipUri?.replace(/^sip:/, 'xcon-userid:'));
  });
});

describe('the Flexisip connector on a database shared with a conference server', () => {
  it('imports nothing from rows written by the gateway itself', async () => {
    const db = await newDatabase();
    const connector = flexisipConnector({ database: db.url, focusUri: FOCUS, sipDomain: DOMAIN });
    const ha1 = await temporaryHa1File();
    try {
      const gw = linphoneGateway({ connectors: [connector], ha1File: ha1.path });
      const marie = gw.client('marie');
      const created = await marie.fixture('create-request.xml');
      const listed = await gw.client('pauline').fixture('confs-request.xml');
      expect(listed.xml).toContain(created.confObjID!);
      expect(gw.logger.records.filter((r) => r.event === 'backend_sync.imported')).toEqual([]);
      expect((await db.raw.all('SELECT id FROM conference_info')).length).toBe(1);
    } finally {
      await connector.close?.();
      await db.raw.close();
      await ha1.cleanup();
    }
  });
});
