/** @module The sites file: schema and consistency checks, key loading, and the Node wiring. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { federationFromEnv, relativeTo } from '../../src/federation/from-env.ts';
import {
  checkSites,
  loadSites,
  parseSites,
  SitesError,
  type SitesDocument,
} from '../../src/federation/sites.ts';
import { memoryLogger } from '../../src/log.ts';
import { buildNodeGateway } from '../../src/node-setup.ts';
import { webPlatform } from '../../src/platform.ts';
import { envelope } from '../e2e/_harness.ts';
import { ecKeyPair, rsaKeyPair } from './_sites.ts';

/** A PEM header built at run time: these tests hold no key, only broken key text. */
const PEM_HEADER = (label: string) => ['-----BEGIN', ` ${label}-----`].join('');
const EXAMPLES = new URL('../../mappings/sites/', import.meta.url);

function issuesOf(run: () => unknown): { file: string; path: string; message: string }[] {
  try {
    run();
  } catch (err) {
    if (err instanceof SitesError) return err.issues;
    throw err;
  }
  throw new Error('expected a SitesError');
}

async function asyncIssuesOf(run: () => Promise<unknown>) {
  try {
    await run();
  } catch (err) {
    if (err instanceof SitesError) return err.issues;
    throw err;
  }
  throw new Error('expected a SitesError');
}

const A = ecKeyPair('a-1');
const B = ecKeyPair('b-1');

function validDoc(): SitesDocument {
  return {
    site: 'a.example',
    localDomains: ['a.example'],
    signingKey: { kid: 'a-1', alg: 'ES256', privateKey: { env: 'SITE_KEY' } },
    peers: {
      'b.example': {
        url: 'https://ccmp.b.example/ccmp',
        domains: ['b.example'],
        keys: [{ kid: 'b-1', alg: 'ES256', pem: B.publicPem }],
      },
    },
  };
}

describe('the example sites files', () => {
  it.each(['a.example.json', 'b.example.json'])('mappings/sites/%s is valid', (file) => {
    expect(() => parseSites(readFileSync(new URL(file, EXAMPLES), 'utf8'), file)).not.toThrow();
  });
});

describe('sites file errors', () => {
  it('name the file and the JSON path of every shape problem at once', () => {
    const issues = issuesOf(() =>
      checkSites(
        {
          site: 'a example',
          localDomains: [],
          signingKey: { kid: '', alg: 'HS256', privateKey: { pem: PEM_HEADER('PRIVATE KEY') } },
          peers: { 'b.example': { url: 'ftp://b', domains: ['b.example'], keys: [], extra: 1 } },
          extra: true,
        },
        'mappings/sites.a.json',
      ),
    );
    expect(issues.every((i) => i.file === 'mappings/sites.a.json')).toBe(true);
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        '$.site',
        '$.localDomains',
        '$.signingKey.kid',
        '$.signingKey.alg',
        '$.signingKey.privateKey.pem',
        '$.peers["b.example"].url',
        '$.peers["b.example"].keys',
        '$.peers["b.example"].extra',
        '$.extra',
      ]),
    );
  });

  it('catch what the schema cannot: ranges, overlaps, plain http, duplicate keys, foreign roles', () => {
    const doc = validDoc() as SitesDocument & Record<string, unknown>;
    doc.tokenTtlSeconds = 120;
    doc.maxHops = 0;
    doc.signingKey.privateKey = { env: 'X', file: 'k.pem' };
    doc.peers['b.example']!.url = 'http://ccmp.b.example/ccmp';
    doc.peers['b.example']!.domains = ['b.example', 'a.example'];
    doc.peers['b.example']!.keys.push({ kid: 'b-1', alg: 'ES256', pem: B.publicPem, file: 'b.pem' });
    doc.peers['b.example']!.systemRoles = { 'xcon-userid:root@c.example': ['administrator'] };
    doc.peers['b.example']!.listing = { merge: true, budgetMs: 10 };
    doc.peers['c.example'] = {
      url: 'https://c/ccmp',
      domains: ['b.example'],
      keys: [{ kid: 'c', alg: 'ES256', pem: B.publicPem }],
    };
    const issues = issuesOf(() => checkSites(doc, 'sites.json'));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['$.tokenTtlSeconds']).toMatch(/between 1 and 60/);
    expect(byPath['$.maxHops']).toMatch(/between 1 and 8/);
    expect(byPath['$.signingKey.privateKey']).toMatch(/exactly one of "file" and "env"/);
    expect(byPath['$.peers["b.example"].url']).toMatch(/must use https/);
    expect(byPath['$.peers["b.example"].domains[1]']).toMatch(/local domain/);
    expect(byPath['$.peers["b.example"].keys[1]']).toMatch(/exactly one of/);
    expect(byPath['$.peers["b.example"].keys[1].kid']).toMatch(/listed twice/);
    expect(byPath['$.peers["b.example"].systemRoles["xcon-userid:root@c.example"]']).toMatch(/may assert/);
    expect(byPath['$.peers["b.example"].listing.budgetMs']).toMatch(/between 50/);
    expect(byPath['$.peers["c.example"].domains[0]']).toMatch(/already routed to b\.example/);
  });

  it('allow plain http to loopback, or with allowHttp', () => {
    const doc = validDoc();
    doc.peers['b.example']!.url = 'http://127.0.0.1:8081/ccmp';
    expect(() => checkSites(doc, 'sites.json')).not.toThrow();
    doc.peers['b.example']!.url = 'http://gw-b.internal/ccmp';
    doc.peers['b.example']!.allowHttp = true;
    expect(() => checkSites(doc, 'sites.json')).not.toThrow();
  });

  it('report JSON syntax errors with the file', () => {
    expect(issuesOf(() => parseSites('{', 'mappings/sites.json'))[0]).toMatchObject({
      file: 'mappings/sites.json',
      path: '$',
    });
  });

  it('report keys that cannot be used, with the path of the key', async () => {
    const doc = validDoc();
    doc.peers['b.example']!.keys = [
      { kid: 'b-1', alg: 'ES256', pem: B.privatePem.replace(/PRIVATE KEY/g, 'PUBLIC KEY') },
      { kid: 'b-2', alg: 'RS256', pem: B.publicPem },
      { kid: 'b-3', alg: 'RS256', pem: rsaKeyPair('weak', 1024).publicPem },
      { kid: 'b-4', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' } },
    ];
    const issues = await asyncIssuesOf(() => loadSites(doc, 'sites.json', { env: {} }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['$.signingKey.privateKey']).toMatch(/SITE_KEY is not set/);
    expect(byPath['$.peers["b.example"].keys[0]']).toMatch(/not a usable EC P-256 key/);
    expect(byPath['$.peers["b.example"].keys[1]']).toMatch(/not a usable RSA key/);
    expect(byPath['$.peers["b.example"].keys[2]']).toMatch(/at least 2048/);
    expect(byPath['$.peers["b.example"].keys[3]']).toMatch(/private key/);

    const sec1 = validDoc();
    const sources = {
      env: { SITE_KEY: `${PEM_HEADER('EC PRIVATE KEY')}\nAAAA\n-----END EC PRIVATE KEY-----` },
    };
    const [issue] = await asyncIssuesOf(() => loadSites(sec1, 'sites.json', sources));
    expect(issue?.message).toMatch(/converted to PKCS#8/);
  });

  it('load keys from PEM, JWK, files and environment variables', async () => {
    const doc = validDoc();
    const jwk = await crypto.subtle.exportKey(
      'jwk',
      await crypto.subtle.importKey(
        'spki',
        pemBytes(B.publicPem),
        { name: 'ECDSA', namedCurve: 'P-256' },
        true,
        ['verify'],
      ),
    );
    doc.peers['b.example']!.keys = [
      { kid: 'b-1', alg: 'ES256', pem: B.publicPem },
      { kid: 'b-2', alg: 'ES256', jwk: jwk as Record<string, unknown> },
      { kid: 'b-3', alg: 'ES256', file: 'keys/b.pem' },
    ];
    const config = await loadSites(doc, 'conf/sites.json', {
      env: { SITE_KEY: A.privatePem },
      readFile: (path) => {
        expect(path).toBe('keys/b.pem');
        return B.publicPem;
      },
    });
    expect([...config.peers[0]!.keys.keys()]).toEqual(['b-1', 'b-2', 'b-3']);
    expect(config).toMatchObject({ site: 'a.example', tokenTtlSeconds: 30, maxHops: 1, clockSkewSeconds: 5 });
    expect(config.peers[0]).toMatchObject({ timeoutMs: 10_000, listing: { merge: false, budgetMs: 2_000 } });
  });
});

function pemBytes(pem: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

describe('federation from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccmp-sites-'));
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'b.pub.pem'), B.publicPem);
  const doc = validDoc();
  doc.peers['b.example']!.keys = [{ kid: 'b-1', alg: 'ES256', file: 'keys/b.pub.pem' }];
  writeFileSync(join(dir, 'sites.json'), JSON.stringify(doc));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const deps = {
    domain: 'a.example',
    domains: [],
    backendTimeoutMs: 3_000,
    logger: memoryLogger(),
    platform: webPlatform,
    readFile: (path: string) => readFileSync(path, 'utf8'),
  };

  it('is off without CCMP_SITES_FILE', async () => {
    expect(await federationFromEnv({}, deps)).toBeUndefined();
  });

  it('reads the sites file and its key files relative to it', async () => {
    const federation = await federationFromEnv(
      { CCMP_SITES_FILE: join(dir, 'sites.json'), SITE_KEY: A.privatePem },
      deps,
    );
    expect(federation?.config.site).toBe('a.example');
    expect(federation?.peers.get('b.example')?.site.timeoutMs).toBe(3_000);
    expect(federation?.peerFor('B.example')?.site.site).toBe('b.example');
    expect(federation?.peerFor('a.example')).toBeUndefined();
  });

  it("checks the file against the gateway's own domains", async () => {
    const issues = await asyncIssuesOf(() =>
      federationFromEnv(
        { CCMP_SITES_FILE: join(dir, 'sites.json'), SITE_KEY: A.privatePem },
        { ...deps, domain: 'other.example', domains: ['b.example'] },
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(['$.localDomains', '$.peers["b.example"].domains']);
  });

  it('makes the Node entry fail fast with the file and path of a problem', async () => {
    const env = {
      CCMP_STORE: 'memory',
      CCMP_DOMAIN: 'a.example',
      LOG_LEVEL: 'error',
      CCMP_SITES_FILE: join(dir, 'sites.json'),
      SITE_KEY: A.privatePem,
    };
    const built = await buildNodeGateway(env, { sqlitePath: ':memory:' });
    try {
      await built.app.ready;
      const res = await built.app.request('/ccmp', {
        method: 'POST',
        headers: { 'content-type': 'application/ccmp+xml', 'x-ccmp-site-token': 'not.a.token' },
        body: envelope({ type: 'confs', confUserID: 'xcon-userid:alice@b.example' }),
      });
      // The site-token scheme is in the pipeline.
      expect(res.status).toBe(401);
      expect(await res.text()).toMatch(/site token refused/);
    } finally {
      await built.close();
    }
    const missingKey = buildNodeGateway({ ...env, SITE_KEY: '' }, { sqlitePath: ':memory:' });
    await expect(missingKey).rejects.toThrow(ConfigError);
    await expect(missingKey).rejects.toThrow(
      /sites\.json: \$\.signingKey\.privateKey: the environment variable SITE_KEY/,
    );
  });

  it('resolves key paths relative to the sites file', () => {
    expect(relativeTo('conf/sites.json', 'keys/b.pem')).toBe('conf/keys/b.pem');
    expect(relativeTo('sites.json', 'keys/b.pem')).toBe('keys/b.pem');
    expect(relativeTo('conf/sites.json', '/srv/keys/b.pem')).toBe('/srv/keys/b.pem');
  });
});
