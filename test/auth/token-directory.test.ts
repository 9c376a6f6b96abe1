import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import mockConnector from '../../connectors/mock.ts';
import { identityFromEnv } from '../../src/auth/from-env.ts';
import { tokenDirectory } from '../../src/auth/token-directory.ts';
import { createGateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import { memoryStore } from '../../src/store/memory.ts';
import { validateCcmpResponse } from '../helpers/validate.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const env = {
  CCMP_DIRECTORY: 'jwt',
  JWT_SECRET: SECRET,
  JWT_ISSUER: 'https://idp.example.com',
  JWT_AUDIENCE: 'ccmp',
};
const deps = {
  domain: 'example.com',
  domains: ['conf.example.com'],
  platform: webPlatform,
  logger: silentLogger,
};

describe('tokenDirectory', () => {
  const dir = tokenDirectory(['example.com']);

  it('knows every XCON-USERID of a served domain, and no password', async () => {
    expect((await dir.findUser('xcon-userid:Zoe@Example.com'))?.userId).toBe('xcon-userid:zoe@example.com');
    expect(await dir.findUser('xcon-userid:zoe@other.org')).toBeUndefined();
    expect((await dir.findByUri('sip:zoe@example.com'))?.userId).toBe('xcon-userid:zoe@example.com');
    expect(await dir.verifyPassword('zoe', 'anything')).toBeUndefined();
  });
});

describe('CCMP_DIRECTORY=jwt', () => {
  it('needs a JWT key and enables only bearer by default', () => {
    expect(() => identityFromEnv({ CCMP_DIRECTORY: 'jwt' }, deps)).toThrow(/JWT_SECRET/);
    const identity = identityFromEnv(env, deps);
    expect(identity.schemes.map((s) => s.name)).toEqual(['bearer']);
    expect(identity.demo).toBe(false);
  });

  it('serves CCMP requests authenticated by a token alone', async () => {
    const identity = identityFromEnv(env, deps);
    const app = createGateway({
      store: memoryStore(),
      directory: identity.directory,
      schemes: identity.schemes,
      connectors: [mockConnector()],
      logger: silentLogger,
    });
    const token = jwt.sign({}, SECRET, {
      algorithm: 'HS256',
      subject: 'xcon-userid:zoe@example.com',
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      expiresIn: 60,
    });
    const body =
      '<ccmp:ccmpRequest xmlns:ccmp="urn:ietf:params:xml:ns:xcon-ccmp" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      '<ccmpRequest xsi:type="ccmp:ccmp-conf-request-message-type"><confUserID>xcon-userid:zoe@example.com</confUserID>' +
      '<operation>create</operation><ccmp:confRequest/></ccmpRequest></ccmp:ccmpRequest>';
    const res = await app.request('/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/ccmp+xml', authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const xml = await res.text();
    validateCcmpResponse(xml);
    expect(xml).toContain('<response-code>200</response-code>');
    const anonymous = await app.request('/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/ccmp+xml' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});
