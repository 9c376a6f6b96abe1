/**
 * @module Federation end to end: three gateways on loopback (a.example, b.example, c.example), each
 * with its own store and sites configuration, talking CCMP over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NS as XML_NS } from '../../src/xml/namespaces.ts';
import { signSiteToken, type SiteClaims } from '../../src/federation/token.ts';
import { importSiteKey } from '../../src/federation/token.ts';
import {
  all,
  attr,
  childElements,
  confInfo,
  description,
  envelope,
  expectCode,
  readReply,
  targets,
  text,
  type Reply,
} from '../e2e/_harness.ts';
import { ccmp, ecKeyPair, post, startSites, userOf, type Federated, type Site } from './_sites.ts';

const subject = (s: string) => description(`<info:subject>${s}</info:subject>`);

function listed(reply: Reply): string[] {
  return all(reply.payload('confsInfo'), 'info:entry')
    .map((e) => text(e, 'info:uri') ?? '')
    .sort();
}

function federationReport(reply: Reply): Record<string, Record<string, string>> {
  const report = childElements(reply.specialized!).find(
    (e) => e.namespaceURI === XML_NS.gateway && e.localName === 'federation',
  );
  if (!report) return {};
  return Object.fromEntries(
    childElements(report).map((s) => [
      attr(s, 'name') ?? '',
      Object.fromEntries(
        ['status', 'entries', 'code'].flatMap((n) => (attr(s, n) ? [[n, attr(s, n)!]] : [])),
      ),
    ]),
  );
}

let fed: Federated;
let A: Site;
let B: Site;
let C: Site;

beforeAll(async () => {
  fed = await startSites((site, base) => {
    const peers = base.peers;
    if (site === 'a.example') {
      // loop.example and relay.example are deliberate misconfigurations (see the loop tests).
      peers['b.example']!.domains = ['b.example', 'loop.example', 'relay.example'];
      peers['b.example']!.listing = { merge: true, budgetMs: 1_000 };
      peers['c.example']!.listing = { merge: true, budgetMs: 300 };
      peers['c.example']!.timeoutMs = 800;
    }
    if (site === 'b.example') {
      peers['a.example']!.domains = ['a.example', 'loop.example'];
      peers['c.example']!.domains = ['c.example', 'relay.example'];
    }
    return base;
  });
  ({ 'a.example': A, 'b.example': B, 'c.example': C } = fed.sites);
});

afterAll(async () => {
  await fed.close();
});

describe('forwarding to the site that owns the conference', () => {
  it('lets a user of A create, retrieve, update and delete a conference on B through A', async () => {
    const aliceA = userOf('alice', 'a.example');
    const created = expectCode(
      await ccmp(A, 'alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('planning across sites'), 'xcon:AUTO_GENERATE_1@b.example'),
      }),
      200,
    );
    const uri = created.confObjID!;
    expect(uri).toMatch(/^xcon:[a-z2-7]+@b\.example$/);
    expect(created.confUserID).toBe(aliceA);
    expect(created.version).toBe(1);
    // B is the authority: the conference lives in B's store only.
    expect(await B.store.get(uri)).toBeDefined();
    expect(await A.store.get(uri)).toBeUndefined();
    expect((await B.store.get(uri))!.owner).toBe(aliceA);

    const retrieved = expectCode(
      await ccmp(A, 'alice', { type: 'conf', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(retrieved.version).toBe(1);
    expect(retrieved.headers.get('etag')).toBe('"1"');
    expect(text(retrieved.payload('confInfo'), 'info:conference-description/info:subject')).toBe(
      'planning across sites',
    );
    expect(attr(retrieved.payload('confInfo'), 'entity')).toBe(uri);

    const updated = expectCode(
      await ccmp(A, 'alice', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(subject('planning, renamed'), uri),
      }),
      200,
    );
    expect(updated.version).toBe(2);
    const again = expectCode(
      await ccmp(A, 'alice', { type: 'conf', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(text(again.payload('confInfo'), 'info:conference-description/info:subject')).toBe(
      'planning, renamed',
    );
    expect(again.version).toBe(2);

    const deleted = expectCode(
      await ccmp(A, 'alice', { type: 'conf', operation: 'delete', confObjID: uri }),
      200,
    );
    expect(deleted.confObjID).toBe(uri);
    expect(deleted.version).toBeUndefined();
    expect(await B.store.get(uri)).toBeUndefined();
    expectCode(await ccmp(A, 'alice', { type: 'conf', operation: 'retrieve', confObjID: uri }), 404);
  });

  it('creates on B by cloning a blueprint of B named in confObjID, and reads B blueprints', async () => {
    const blueprint = expectCode(
      await ccmp(A, 'bob', { type: 'blueprint', operation: 'retrieve', confObjID: 'xcon:default@b.example' }),
      200,
    );
    expect(attr(blueprint.payload('blueprintInfo'), 'entity')).toBe('xcon:default@b.example');
    const created = expectCode(
      await ccmp(A, 'bob', { type: 'conf', operation: 'create', confObjID: 'xcon:default@b.example' }),
      200,
    );
    expect(created.confObjID).toMatch(/@b\.example$/);
    expect((await B.store.get(created.confObjID!))!.owner).toBe(userOf('bob', 'a.example'));
  });

  it('relays user operations on B conferences, keeping B IDs, versions and codes', async () => {
    const uri = expectCode(
      await ccmp(A, 'alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(
          subject('users') + targets([[userOf('bob', 'a.example')]]),
          'xcon:AUTO_GENERATE_1@b.example',
        ),
      }),
      200,
    ).confObjID!;
    // B's admission policy decides: the default blueprint admits only the users the conference lists.
    expectCode(await ccmp(A, 'carol', { type: 'user', operation: 'create', confObjID: uri }), 401);
    const joined = expectCode(
      await ccmp(A, 'bob', { type: 'user', operation: 'create', confObjID: uri }),
      200,
    );
    expect(joined.confObjID).toBe(uri);
    expect(joined.version).toBe(2);
    const users = expectCode(
      await ccmp(A, 'alice', { type: 'users', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(users.version).toBe(2);
    const entities = all(users.payload('usersInfo'), 'info:user').map((u) => attr(u, 'entity'));
    expect(entities).toEqual(
      expect.arrayContaining([userOf('alice', 'a.example'), userOf('bob', 'a.example')]),
    );
    // Third-party users are B's business too: one B does not know is 420.
    const missing = await ccmp(A, 'alice', {
      type: 'user',
      operation: 'retrieve',
      confObjID: uri,
      body: `<userInfo entity="xcon-userid:nobody@b.example"/>`,
    });
    expect(missing.code).toBe(420);
  });

  it("applies B's policy to A's users: their own role, no system roles of A", async () => {
    const uri = expectCode(
      await ccmp(A, 'alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('alice only'), 'xcon:AUTO_GENERATE_1@b.example'),
      }),
      200,
    ).confObjID!;
    // bob@a.example is nobody in alice's conference.
    expectCode(await ccmp(A, 'bob', { type: 'conf', operation: 'delete', confObjID: uri }), 401);
    // alice is an administrator at a.example (demo directory), but not at b.example.
    const carolsB = expectCode(
      await ccmp(B, 'carol', {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('carol of B'), 'xcon:AUTO_GENERATE_1@b.example'),
      }),
      200,
    ).confObjID!;
    expectCode(await ccmp(A, 'alice', { type: 'conf', operation: 'retrieve', confObjID: carolsB }), 401);
    expectCode(await ccmp(A, 'alice', { type: 'conf', operation: 'delete', confObjID: carolsB }), 401);
    expect(await B.store.get(carolsB)).toBeDefined();
    // ... while B's own administrator may.
    expectCode(await ccmp(B, 'alice', { type: 'conf', operation: 'retrieve', confObjID: carolsB }), 200);
  });

  it('never forwards local conferences, and answers unknown domains locally as before', async () => {
    const local = await ccmp(A, 'carol', {
      type: 'conf',
      operation: 'create',
      body: confInfo(subject('at home'), 'xcon:AUTO_GENERATE_1@a.example'),
    });
    expectCode(local, 200);
    expect(local.confObjID).toMatch(/@a\.example$/);
    expect(await A.store.get(local.confObjID!)).toBeDefined();
    expect(
      A.logger.records.some(
        (r) => r.event === 'federation.forward' && r.fields.requestId === local.headers.get('x-request-id'),
      ),
    ).toBe(false);

    const foreign = await ccmp(A, 'carol', {
      type: 'conf',
      operation: 'create',
      body: confInfo(subject('nowhere'), 'xcon:AUTO_GENERATE_1@z.example'),
    });
    expectCode(foreign, 427);
    expectCode(
      await ccmp(A, 'carol', { type: 'conf', operation: 'retrieve', confObjID: 'xcon:x@z.example' }),
      404,
    );
  });

  it('logs every forward on both sides with the peer, outcome and time, under one request ID', async () => {
    const requestId = `fed-log-${Date.now()}`;
    const reply = await ccmp(
      A,
      'alice',
      {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('logged'), 'xcon:AUTO_GENERATE_1@b.example'),
      },
      { 'X-Request-ID': requestId },
    );
    expectCode(reply, 200);
    expect(reply.headers.get('x-request-id')).toBe(requestId);
    const sent = A.logger.records.find(
      (r) => r.event === 'federation.forward' && r.fields.requestId === requestId,
    );
    expect(sent?.fields).toMatchObject({
      peer: 'b.example',
      outcome: 200,
      user: userOf('alice', 'a.example'),
    });
    expect(typeof sent?.fields.ms).toBe('number');
    const received = B.logger.records.find(
      (r) => r.event === 'federation.inbound' && r.fields.requestId === requestId,
    );
    expect(received?.fields).toMatchObject({
      peer: 'a.example',
      outcome: 200,
      user: userOf('alice', 'a.example'),
    });
    expect(typeof received?.fields.ms).toBe('number');
  });

  it('never sends the client credentials to the peer', async () => {
    const seen: string[] = [];
    const original = B.app.fetch;
    // Look at what reaches B (the server calls the handler through app.fetch).
    B.app.fetch = async (req: Request, ...rest: unknown[]) => {
      seen.push(await req.clone().text());
      seen.push(req.headers.get('authorization') ?? '');
      return (original as (req: Request, ...rest: unknown[]) => Promise<Response>)(req, ...rest);
    };
    try {
      expectCode(
        await ccmp(A, 'alice', {
          type: 'conf',
          operation: 'create',
          subject: { username: 'alice', password: 'alice' },
          body: confInfo(subject('no secrets'), 'xcon:AUTO_GENERATE_1@b.example'),
        }),
        200,
      );
    } finally {
      B.app.fetch = original;
    }
    expect(seen.join('\n')).not.toMatch(/<subject>|<password>|Basic /);
  });
});

// ---------------------------------------------------------------------------------------------

async function tokenFrom(site: Site, overrides: Partial<SiteClaims> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signSiteToken(site.signingKey, {
    iss: site.name,
    sub: `xcon-userid:alice@${site.name}`,
    aud: 'b.example',
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    iat: now,
    exp: now + 30,
    via: [site.name],
    ...overrides,
  });
}

/** A confsRequest to B carrying a site token, as A would send it. */
function toB(token: string, confUserID: string) {
  return post(B, envelope({ type: 'confs', confUserID }), { 'X-CCMP-Site-Token': token, 'X-CCMP-Hops': '1' });
}

function rejection(reason: RegExp) {
  return B.logger.records.some(
    (r) => r.event === 'federation.token_rejected' && reason.test(String(r.fields.reason)),
  );
}

describe('site-to-site trust at the receiving gateway', () => {
  it('accepts a fresh token of A for a user of A', async () => {
    const res = await toB(await tokenFrom(A), userOf('alice', 'a.example'));
    expect(res.status).toBe(200);
    expectCode(readReply(res.body, res.headers), 200);
  });

  it("refuses a token signed with A's key for a user of c.example, or of b.example", async () => {
    const forC = await toB(
      await tokenFrom(A, { sub: userOf('alice', 'c.example') }),
      userOf('alice', 'c.example'),
    );
    expect(forC.status).toBe(401);
    expect(forC.body).toMatch(/a\.example may not assert users of c\.example/);
    const forB = await toB(
      await tokenFrom(A, { sub: userOf('alice', 'b.example') }),
      userOf('alice', 'b.example'),
    );
    expect(forB.status).toBe(401);
    expect(forB.body).toMatch(/may not assert users of b\.example/);
    expect(rejection(/may not assert users of c\.example/)).toBe(true);
  });

  it('refuses forged tokens: another key under A key ID, alg none, another audience, a bad subject', async () => {
    const impostor = ecKeyPair(A.key.kid);
    const forgedKey = await importSiteKey(A.key.kid, 'ES256', { pem: impostor.privatePem }, 'sign');
    const now = Math.floor(Date.now() / 1000);
    const forged = await signSiteToken(forgedKey, {
      iss: 'a.example',
      sub: userOf('alice', 'a.example'),
      aud: 'b.example',
      jti: 'forged-1',
      iat: now,
      exp: now + 30,
      via: ['a.example'],
    });
    const res = await toB(forged, userOf('alice', 'a.example'));
    expect(res.status).toBe(401);
    expect(res.body).toMatch(/bad signature/);

    const valid = await tokenFrom(A);
    const [, payload] = valid.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: A.key.kid })).toString('base64url')}.${payload}.`;
    expect((await toB(none, userOf('alice', 'a.example'))).status).toBe(401);
    const swapped = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: A.key.kid })).toString('base64url')}.${valid.split('.').slice(1).join('.')}`;
    const swappedRes = await toB(swapped, userOf('alice', 'a.example'));
    expect(swappedRes.status).toBe(401);
    expect(swappedRes.body).toMatch(/signs with ES256, not RS256/);

    const unknownKid = await signSiteToken(
      { ...A.signingKey, kid: 'a-unknown' },
      {
        iss: 'a.example',
        sub: userOf('alice', 'a.example'),
        aud: 'b.example',
        jti: 'kid-1',
        iat: now,
        exp: now + 30,
        via: ['a.example'],
      },
    );
    expect((await toB(unknownKid, userOf('alice', 'a.example'))).body).toMatch(/no key "a-unknown"/);

    const forC = await toB(await tokenFrom(A, { aud: 'c.example' }), userOf('alice', 'a.example'));
    expect(forC.status).toBe(401);
    expect(forC.body).toMatch(/not meant for b\.example/);

    // The token's user must also be the request's confUserID (B's normal identity check; a user B
    // has never seen is 421).
    const other = await toB(await tokenFrom(A), 'xcon-userid:someone@a.example');
    expect(other.status).toBe(200);
    expectCode(readReply(other.body, other.headers), 421);
  });

  it('refuses expired tokens and tokens that live longer than 60 s', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await toB(
      await tokenFrom(A, { iat: now - 100, exp: now - 40 }),
      userOf('alice', 'a.example'),
    );
    expect(expired.status).toBe(401);
    expect(expired.body).toMatch(/expired/);
    const long = await toB(await tokenFrom(A, { iat: now, exp: now + 3600 }), userOf('alice', 'a.example'));
    expect(long.status).toBe(401);
    expect(long.body).toMatch(/longer than 60 s/);
    const future = await toB(
      await tokenFrom(A, { iat: now + 600, exp: now + 630 }),
      userOf('alice', 'a.example'),
    );
    expect(future.status).toBe(401);
  });

  it('refuses a replayed token', async () => {
    const token = await tokenFrom(A);
    const first = await toB(token, userOf('alice', 'a.example'));
    expect(first.status).toBe(200);
    const replayed = await toB(token, userOf('alice', 'a.example'));
    expect(replayed.status).toBe(401);
    expect(replayed.body).toMatch(/already used \(replay\)/);
    expect(rejection(/replay/)).toBe(true);
  });

  it('refuses a hop header that does not match the token', async () => {
    const res = await post(B, envelope({ type: 'confs', confUserID: userOf('alice', 'a.example') }), {
      'X-CCMP-Site-Token': await tokenFrom(A),
      'X-CCMP-Hops': '0',
    });
    expect(res.status).toBe(401);
  });
});

describe('safety', () => {
  it('cuts a forwarding loop (A routes loop.example to B, B routes it back to A)', async () => {
    const reply = await ccmp(A, 'alice', {
      type: 'conf',
      operation: 'retrieve',
      confObjID: 'xcon:x@loop.example',
    });
    expectCode(reply, 500);
    expect(reply.responseString).toMatch(/^forwarding loop: .*a\.example/);
    expect(reply.confObjID).toBe('xcon:x@loop.example');
    // A token that says it already went through B is refused by B itself too.
    const looped = await post(B, envelope({ type: 'confs', confUserID: userOf('alice', 'a.example') }), {
      'X-CCMP-Site-Token': await tokenFrom(A, { via: ['b.example', 'a.example'] }),
    });
    expect(looped.status).toBe(200);
    expect(readReply(looped.body).responseString).toMatch(/^forwarding loop/);
  });

  it('cuts a chain longer than the configured maximum (A > B > C with maxHops 1)', async () => {
    const reply = await ccmp(A, 'alice', {
      type: 'conf',
      operation: 'retrieve',
      confObjID: 'xcon:x@relay.example',
    });
    expectCode(reply, 500);
    expect(reply.responseString).toMatch(/^forwarding chain too long/);
  });

  it('answers 510 when the peer does not answer in time', async () => {
    const uri = expectCode(
      await ccmp(A, 'alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('at C'), 'xcon:AUTO_GENERATE_1@c.example'),
      }),
      200,
    ).confObjID!;
    C.delayMs = 1_500;
    try {
      const reply = await ccmp(A, 'alice', { type: 'conf', operation: 'retrieve', confObjID: uri });
      expectCode(reply, 510);
      expect(reply.responseString).toMatch(/c\.example/);
      expect(reply.ms).toBeLessThan(1_400);
    } finally {
      C.delayMs = 0;
    }
  });
});

describe('merged conference listing', () => {
  it("adds the user's conferences on peer sites and says which peers did not answer", async () => {
    const create = async (domain: string, title: string) =>
      expectCode(
        await ccmp(A, 'carol', {
          type: 'conf',
          operation: 'create',
          body: confInfo(subject(title), `xcon:AUTO_GENERATE_1@${domain}`),
        }),
        200,
      ).confObjID!;
    const atA = await create('a.example', 'carol at A');
    const atB = await create('b.example', 'carol at B');
    const atC = await create('c.example', 'carol at C');
    const previous = listed(expectCode(await ccmp(A, 'carol', { type: 'confs' }), 200)).filter(
      (u) => ![atA, atB, atC].includes(u),
    );

    const full = expectCode(await ccmp(A, 'carol', { type: 'confs' }), 200);
    expect(listed(full)).toEqual([...previous, atA, atB, atC].sort());
    expect(federationReport(full)).toEqual({
      'b.example': { status: 'answered', entries: '1' },
      'c.example': { status: 'answered', entries: '1' },
    });
    expect(full.responseString).toBe('success');

    // B's own listing of carol@a.example is not merged again (no fan-out from forwarded requests).
    const seen = B.logger.records.filter((r) => r.event === 'federation.forward').length;

    C.delayMs = 1_500;
    try {
      const partial = await ccmp(A, 'carol', { type: 'confs' });
      expectCode(partial, 200);
      expect(partial.ms).toBeLessThan(1_200);
      expect(listed(partial)).toEqual([...previous, atA, atB].sort());
      expect(federationReport(partial)).toEqual({
        'b.example': { status: 'answered', entries: '1' },
        'c.example': { status: 'timeout' },
      });
      expect(partial.responseString).toMatch(/without the conferences of c\.example \(timeout\)/);
    } finally {
      C.delayMs = 0;
    }
    expect(B.logger.records.filter((r) => r.event === 'federation.forward').length).toBe(seen);

    // Merging is a per-site option: B does not merge (its sites file has no listing settings).
    const atBOnly = expectCode(await ccmp(B, 'carol', { type: 'confs' }), 200);
    expect(federationReport(atBOnly)).toEqual({});
  });
});

describe('peer down', () => {
  it('answers 500 quickly naming the peer, changes nothing locally, and stays healthy', async () => {
    const uri = expectCode(
      await ccmp(A, 'bob', {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('before the outage'), 'xcon:AUTO_GENERATE_1@b.example'),
      }),
      200,
    ).confObjID!;
    const before = await A.store.count(['conference', 'sidebar-by-val', 'sidebar-by-ref']);
    await B.stop();

    const retrieve = await ccmp(A, 'bob', { type: 'conf', operation: 'retrieve', confObjID: uri });
    expectCode(retrieve, 500);
    expect(retrieve.responseString).toMatch(/b\.example/);
    expect(retrieve.responseString).toMatch(/unreachable/);
    expect(retrieve.ms).toBeLessThan(1_000);

    const create = await ccmp(A, 'bob', {
      type: 'conf',
      operation: 'create',
      body: confInfo(subject('during the outage'), 'xcon:AUTO_GENERATE_1@b.example'),
    });
    expectCode(create, 500);
    expect(create.ms).toBeLessThan(1_000);
    expect(await A.store.count(['conference', 'sidebar-by-val', 'sidebar-by-ref'])).toBe(before);
    const outcome = A.logger.records.findLast((r) => r.event === 'federation.forward');
    expect(outcome?.fields).toMatchObject({ peer: 'b.example', outcome: 'unavailable' });

    const health = await fetch(A.url.replace(/\/ccmp$/, '/health'));
    expect(health.status).toBe(200);
    expectCode(
      await ccmp(A, 'bob', {
        type: 'conf',
        operation: 'create',
        body: confInfo(subject('local still works'), 'xcon:AUTO_GENERATE_1@a.example'),
      }),
      200,
    );
    const listing = expectCode(await ccmp(A, 'bob', { type: 'confs' }), 200);
    expect(federationReport(listing)['b.example']).toEqual({ status: 'unavailable' });
  });
});
