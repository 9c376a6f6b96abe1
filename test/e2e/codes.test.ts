/** @module Every CCMP response code where it applies, and the HTTP binding around them. */
import { describe, expect, it } from 'vitest';
import mockConnector from '../../connectors/mock.ts';
import type { Connector, ConnectorErrorKind } from '../../connectors/types.ts';
import { subjectScheme } from '../../src/auth/basic.ts';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import { webPlatform } from '../../src/platform.ts';
import {
  ALICE,
  BOB,
  CAROL,
  basic,
  confInfo,
  description,
  envelope,
  expectCode,
  targets,
  testGateway,
  withoutSidebars,
} from './_harness.ts';

describe('400 Bad Request', () => {
  it('answers 400 for a missing confUserID, operation, or specialized element', async () => {
    const gw = testGateway();
    const noUser = await gw.ccmp('bob', { type: 'conf', operation: 'create', confUserID: null });
    expectCode(noUser, 400);
    expect(noUser.confUserID).toBe('');
    expect(noUser.xsiType).toBe('ccmp-conf-response-message-type');
    expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'retrieve',
        confObjID: 'xcon:x@example.com',
        confUserID: null,
      }),
      400,
    );
    expectCode(await gw.ccmp('bob', { type: 'users', confObjID: 'xcon:x@example.com' }), 400);
    const noBody = await gw.ccmp('bob', { type: 'conf', operation: 'create', noSpecialized: true });
    expectCode(noBody, 400);
    expect(noBody.operation).toBe('create');
  });

  it('answers 400 for a missing or unknown xsi:type and for an unknown operation', async () => {
    const gw = testGateway();
    const body = envelope({ type: 'conf', confUserID: BOB, operation: 'create' });
    const noType = await gw.send('bob', body.replace(/ xsi:type="[^"]*"/, ''));
    expectCode(noType, 400);
    expect(noType.xsiType).toBe('ccmp-conf-response-message-type');
    expectCode(
      await gw.send('bob', body.replace('ccmp-conf-request-message-type', 'ccmp-party-request-message-type')),
      400,
    );
    expectCode(
      await gw.send('bob', body.replace('<operation>create</operation>', '<operation>launch</operation>')),
      400,
    );
    // xsi:type and the specialized element disagree.
    expectCode(await gw.send('bob', body.replace(/ccmp:confRequest/g, 'ccmp:userRequest')), 400);
  });
});

describe('authorization codes', () => {
  it('401: the confUserID is another user than the authenticated one', async () => {
    const gw = testGateway();
    const reply = await gw.ccmp('bob', { type: 'confs', confUserID: CAROL });
    expectCode(reply, 401);
    expect(reply.confUserID).toBe(CAROL);
  });

  it('421: the confUserID is not a user of this server', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob');
    for (const type of ['confs', 'blueprints', 'options'] as const) {
      const reply = await gw.ccmp('bob', { type, confUserID: 'xcon-userid:nobody@example.com' });
      expectCode(reply, 421);
      expect(reply.xsiType).toBe(`ccmp-${type}-response-message-type`);
    }
    expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'retrieve',
        confObjID: uri,
        confUserID: 'xcon-userid:nobody@example.com',
      }),
      421,
    );
  });

  it('403, 404, 409, 420, 425, 426, 427 in one conference life', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob', { confInfo: confInfo(targets([[CAROL]])) });
    expectCode(await gw.ccmp('bob', { type: 'users', operation: 'delete', confObjID: uri }), 403);
    expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: 'xcon:gone@example.com' }),
      404,
    );
    const conflict = await gw.ccmp(
      'bob',
      {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(description('<info:subject>x</info:subject>'), uri),
      },
      { 'if-match': '"7"' },
    );
    expectCode(conflict, 409);
    expect(conflict.version).toBe(1);
    expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'create',
        confObjID: uri,
        body: '<userInfo entity="xcon-userid:ghost@example.com"/>',
      }),
      420,
    );
    expectCode(await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'create', confObjID: uri }), 200);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri }), 425);
    expectCode(
      await gw.ccmp('carol', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(description('<info:subject>x</info:subject>'), uri),
      }),
      426,
    );
    expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(
          description(
            '<info:available-media><info:entry label="AUTO_GENERATE_1"><info:type>audio</info:type></info:entry></info:available-media>',
          ) + '<info:users><info:user entity="xcon-userid:AUTO_GENERATE_2@other.org"/></info:users>',
          uri,
        ),
      }),
      427,
    );
  });

  it('424: a gateway that authenticates with <subject> only, and a request without it', async () => {
    const gw = testGateway({ schemes: [subjectScheme(demoDirectory())] });
    const missing = await gw.ccmp(null, { type: 'confs', confUserID: BOB });
    expectCode(missing, 424);
    expect(missing.confUserID).toBe(BOB);
    const wrong = await gw.ccmp(null, {
      type: 'confs',
      confUserID: BOB,
      subject: { username: 'bob', password: 'nope' },
    });
    expectCode(wrong, 424);
    const right = await gw.ccmp(null, {
      type: 'confs',
      confUserID: BOB,
      subject: { username: 'bob', password: 'bob' },
    });
    expectCode(right, 200);
    // With only <subject>, there is no HTTP challenge: the answer is a CCMP message.
    const res = await gw.http(envelope({ type: 'options', confUserID: ALICE }));
    expect(res.status).toBe(200);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });
});

describe('backend failures', () => {
  it('500: an unavailable backend is named, its internals are not', async () => {
    const gw = testGateway();
    gw.mock.failNext('unavailable');
    const reply = await gw.ccmp('bob', { type: 'conf', operation: 'create' });
    expectCode(reply, 500);
    expect(reply.responseString).toContain('"mock"');
    expect(reply.responseString).not.toMatch(/Error|\bat \S+:\d+|stack/);
    expect(reply.confObjID).toBeUndefined();
    // Nothing was stored: the next attempt works and bob owns exactly one conference.
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'create' }), 200);
    expect(gw.mock.conferences.size).toBe(1);
  });

  it('500: an unexpected exception inside a connector gets a generic text, the details go to the log', async () => {
    const secret = 'mysql://root:hunter2@db.internal:3306';
    const broken: Connector = {
      ...mockConnector(),
      name: 'broken',
      createConference: () =>
        Promise.reject(new TypeError(`cannot read properties of undefined (${secret})`)),
    };
    const gw = testGateway({ connectors: [broken] });
    const reply = await gw.ccmp('bob', { type: 'conf', operation: 'create' });
    expectCode(reply, 500);
    expect(reply.responseString).toBe('Server Internal Error');
    expect(reply.xml).not.toContain('hunter2');
    expect(reply.xml).not.toContain('TypeError');
    const logged = gw.logger.records.find((r) => r.event === 'ccmp.internal_error');
    expect(String(logged?.fields.error)).toContain('hunter2');
  });

  it('maps every connector failure kind to its code', async () => {
    const expected: Record<ConnectorErrorKind, number> = {
      not_found: 404,
      conflict: 409,
      invalid: 400,
      unsupported: 501,
      unavailable: 500,
      timeout: 510,
      limit: 511,
      forbidden: 401,
    };
    const gw = testGateway();
    for (const [kind, code] of Object.entries(expected) as [ConnectorErrorKind, number][]) {
      gw.mock.failNext(kind);
      const reply = await gw.ccmp('bob', { type: 'conf', operation: 'create' });
      expectCode(reply, code);
      expect(reply.responseString).toContain('conferencing backend "mock"');
    }
  });

  it('501: sidebars on a backend without createSidebar, and an unknown extension', async () => {
    const gw = testGateway({ connectors: [withoutSidebars(mockConnector())] });
    const uri = await gw.createConference('bob');
    for (const type of ['sidebarByVal', 'sidebarByRef'] as const) {
      const reply = await gw.ccmp('bob', { type, operation: 'create', confObjID: uri });
      expectCode(reply, 501);
      expect(reply.xsiType).toBe(`ccmp-${type}-response-message-type`);
      expect(reply.responseString).toContain('sidebars');
    }
    expectCode(
      await gw.ccmp('bob', {
        type: 'extended',
        operation: 'retrieve',
        body: '<extensionName>unknown</extensionName>',
      }),
      501,
    );
  });

  it('501: muting on a backend without setParticipantMedia', async () => {
    const noMedia: Connector = { ...mockConnector(), capabilities: { ...mockConnector().capabilities } };
    delete noMedia.setParticipantMedia;
    const gw = testGateway({ connectors: [noMedia] });
    const uri = await gw.createConference('bob', { confInfo: confInfo(targets([[CAROL]])) });
    const reply = await gw.ccmp('bob', {
      type: 'user',
      operation: 'update',
      confObjID: uri,
      body:
        `<userInfo entity="${CAROL}"><info:endpoint entity="sip:carol@example.com"><info:media id="1">` +
        '<info:status>recvonly</info:status></info:media></info:endpoint></userInfo>',
    });
    expectCode(reply, 501);
    const read = expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(read.version).toBe(1);
  });

  it('510: the backend takes longer than backendTimeoutMs', async () => {
    const gw = testGateway({ config: { backendTimeoutMs: 30 } });
    gw.mock.delayMs = 150;
    const reply = await gw.ccmp('bob', { type: 'conf', operation: 'create' });
    expectCode(reply, 510);
    expect(reply.responseString).toContain('"mock"');
    gw.mock.delayMs = 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The backend finished late: the conference it made anyway is deleted, so nothing is left over.
    expect(gw.mock.conferences.size).toBe(0);
    expect(await gw.store.count(['conference'])).toBe(0);
  });

  it('510 on update: a change the backend applies too late is replaced by what is stored', async () => {
    const gw = testGateway({ config: { backendTimeoutMs: 30 } });
    const uri = await gw.createConference('bob');
    const { backendId } = await gw.stored(uri);
    const subjectOnBackend = () => gw.mock.conferences.get(backendId ?? '')?.spec.subject;
    const update = (subject: string) =>
      gw.ccmp('bob', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(description(`<info:subject>${subject}</info:subject>`), uri),
      });
    expectCode(await update('kept'), 200);
    gw.mock.delayMs = 150;
    expectCode(await update('too late'), 510);
    gw.mock.delayMs = 0;
    await new Promise((resolve) => setTimeout(resolve, 250));
    // The backend finished "too late" after the 510; the store never took it, so neither does the backend.
    expect(subjectOnBackend()).toBe('kept');
    const stored = await gw.stored(uri);
    expect(stored.version).toBe(2);
    expect(stored.document).toContain('kept');
  });

  it('511: a resource limit is reached', async () => {
    const gw = testGateway({ config: { limits: { maxConferencesPerUser: 1, maxUsersPerConference: 3 } } });
    await gw.createConference('bob');
    const reply = await gw.ccmp('bob', { type: 'conf', operation: 'create' });
    expectCode(reply, 511);
    expect(reply.operation).toBe('create');
    const uri = await gw.createConference('carol', { confInfo: confInfo(targets([[BOB], [ALICE]])) });
    const crowded = await gw.ccmp('carol', {
      type: 'user',
      operation: 'create',
      confObjID: uri,
      body: '<userInfo entity="xcon-userid:AUTO_GENERATE_1@example.com"><info:endpoint entity="sip:dave@example.com"/></userInfo>',
    });
    expectCode(crowded, 511);
  });

  it('511: the per-user limit counts the conferences a user owns, not those they are invited to', async () => {
    // Counts are cached for a few seconds: a clock of our own lets the test expire that cache.
    let clock = Date.now();
    const gw = testGateway({
      config: { limits: { maxConferencesPerUser: 2 } },
      platform: { ...webPlatform, now: () => clock },
    });
    for (const inviter of ['alice', 'alice', 'carol', 'carol']) {
      await gw.createConference(inviter, { confInfo: confInfo(targets([[BOB]])) });
    }
    // Bob takes part in twice as many conferences as he may own, and still creates up to his limit.
    expect(await gw.store.listByMember(BOB, { kinds: ['conference'] })).toHaveLength(4);
    const bobs = [await gw.createConference('bob'), await gw.createConference('bob')];
    const refused = await gw.ccmp('bob', { type: 'conf', operation: 'create' });
    expectCode(refused, 511);
    expect(refused.responseString).toContain('own at most 2 conferences');
    // The inviters are at their limit too.
    expectCode(await gw.ccmp('alice', { type: 'conf', operation: 'create' }), 511);

    // Past the cache, the count comes from the store again: still two owned, still refused.
    clock += 6_000;
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'create' }), 511);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: bobs[0] }), 200);
    clock += 6_000;
    await gw.createConference('bob');
    expect(await gw.store.countOwned(BOB, ['conference'])).toBe(2);
    expect(await gw.store.listByMember(BOB, { kinds: ['conference'] })).toHaveLength(6);
  });
});

describe('HTTP binding', () => {
  it('answers every CCMP result with HTTP 200, errors included', async () => {
    const gw = testGateway();
    const res = await gw.http(
      envelope({ type: 'conf', confUserID: BOB, operation: 'retrieve', confObjID: 'xcon:x@example.com' }),
      {
        as: 'bob',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps HTTP errors for requests with no CCMP message to answer', async () => {
    const gw = testGateway();
    const noCredentials = await gw.http(envelope({ type: 'options', confUserID: BOB }));
    expect(noCredentials.status).toBe(401);
    expect(noCredentials.headers.get('www-authenticate')).toMatch(/^Basic /);
    const badPassword = await gw.app.request('/ccmp', {
      method: 'POST',
      body: envelope({ type: 'options', confUserID: BOB }),
      headers: { 'content-type': 'application/ccmp+xml', authorization: basic('bob', 'wrong') },
    });
    expect(badPassword.status).toBe(401);
    expect((await gw.http('not xml at all', { as: 'bob' })).status).toBe(400);
    expect((await gw.http('<a/>', { as: 'bob', headers: { 'content-type': 'text/plain' } })).status).toBe(
      415,
    );
    expect((await gw.app.request('/ccmp', { method: 'GET' })).status).toBe(405);
  });
});
