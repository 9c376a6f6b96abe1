/** @module The site-token scheme on its own: key rotation and the roles a site grants remote users. */
import { describe, expect, it } from 'vitest';
import type { AuthOutcome } from '../../src/auth/types.ts';
import { createFederation, HOPS_HEADER, SITE_TOKEN_HEADER } from '../../src/federation/federation.ts';
import { loadSites, type SitesDocument } from '../../src/federation/sites.ts';
import { importSiteKey, signSiteToken, type SiteKey } from '../../src/federation/token.ts';
import { memoryLogger } from '../../src/log.ts';
import { ecKeyPair, type KeyPair } from './_sites.ts';

const OLD = ecKeyPair('a-2024');
const NEW = ecKeyPair('a-2025');
const B = ecKeyPair('b-1');

async function siteB(aKeys: KeyPair[], extra: Partial<SitesDocument['peers'][string]> = {}) {
  const doc: SitesDocument = {
    site: 'b.example',
    localDomains: ['b.example'],
    signingKey: { kid: 'b-1', alg: 'ES256', privateKey: { env: 'KEY' } },
    peers: {
      'a.example': {
        url: 'https://ccmp.a.example/ccmp',
        domains: ['a.example'],
        keys: aKeys.map((k) => ({ kid: k.kid, alg: 'ES256' as const, pem: k.publicPem })),
        ...extra,
      },
    },
  };
  const logger = memoryLogger();
  const config = await loadSites(doc, 'sites.b.json', { env: { KEY: B.privatePem } });
  return { federation: createFederation(config, { logger }), logger };
}

async function tokenWith(pair: KeyPair, sub = 'xcon-userid:alice@a.example'): Promise<string> {
  const key: SiteKey = await importSiteKey(pair.kid, 'ES256', { pem: pair.privatePem }, 'sign');
  const now = Math.floor(Date.now() / 1000);
  return signSiteToken(key, {
    iss: 'a.example',
    sub,
    aud: 'b.example',
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 30,
    via: ['a.example'],
  });
}

function authenticate(scheme: { authenticate: (r: never) => Promise<AuthOutcome> }, token?: string) {
  const headers: Record<string, string> = token ? { [SITE_TOKEN_HEADER]: token, [HOPS_HEADER]: '1' } : {};
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return scheme.authenticate({
    method: 'POST',
    url: '/ccmp',
    header: (name: string) => lower[name.toLowerCase()],
    clientAddress: '127.0.0.1',
  } as never);
}

describe('the site-token scheme', () => {
  it('stays out of the way of requests without a site token', async () => {
    const { federation } = await siteB([NEW]);
    expect(await authenticate(federation.scheme)).toEqual({ status: 'absent' });
  });

  it('accepts the old and the new key of a peer during a rotation, and only the new one after', async () => {
    const during = await siteB([OLD, NEW]);
    expect((await authenticate(during.federation.scheme, await tokenWith(OLD))).status).toBe('authenticated');
    expect((await authenticate(during.federation.scheme, await tokenWith(NEW))).status).toBe('authenticated');

    const after = await siteB([NEW]);
    const refused = await authenticate(after.federation.scheme, await tokenWith(OLD));
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: /no key "a-2024" is configured for site a\.example/,
    });
    expect(after.logger.records.at(-1)).toMatchObject({
      event: 'federation.token_rejected',
      fields: { peer: 'a.example', kid: 'a-2024' },
    });
  });

  it('gives remote users no system roles, unless the sites file grants them', async () => {
    const { federation } = await siteB([NEW], {
      systemRoles: { 'xcon-userid:noc@a.example': ['administrator'] },
    });
    const alice = await authenticate(federation.scheme, await tokenWith(NEW));
    expect(alice).toMatchObject({
      status: 'authenticated',
      scheme: 'site-token',
      principal: {
        userId: 'xcon-userid:alice@a.example',
        username: 'alice@a.example',
        sipUri: 'sip:alice@a.example',
        systemRoles: [],
      },
    });
    const noc = await authenticate(federation.scheme, await tokenWith(NEW, 'xcon-userid:NOC@a.example'));
    expect(noc).toMatchObject({
      principal: { userId: 'xcon-userid:noc@a.example', systemRoles: ['administrator'] },
    });
  });

  it('lets a peer assert users of the domains it is given, never of local ones', async () => {
    const { federation } = await siteB([NEW], { userDomains: ['a.example', 'partner.example'] });
    expect(
      (await authenticate(federation.scheme, await tokenWith(NEW, 'xcon-userid:zoe@partner.example'))).status,
    ).toBe('authenticated');
    expect(
      await authenticate(federation.scheme, await tokenWith(NEW, 'xcon-userid:bob@b.example')),
    ).toMatchObject({
      status: 'rejected',
      reason: /may not assert users of b\.example/,
    });
    expect(await authenticate(federation.scheme, await tokenWith(NEW, 'bob'))).toMatchObject({
      status: 'rejected',
      reason: /not an XCON-USERID/,
    });
  });
});
