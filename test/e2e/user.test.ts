/** @module userRequest end to end: the four create cases, retrieve, update (mute), delete. */
import { describe, expect, it } from 'vitest';
import {
  BOB,
  CAROL,
  all,
  attr,
  confInfo,
  expectCode,
  targets,
  testGateway,
  text,
  type Reply,
  type TestGateway,
} from './_harness.ts';

async function setUp(invite: string[] = [CAROL], policy?: string) {
  const gw = testGateway();
  const users =
    policy === undefined
      ? targets(invite.map((u) => [u]))
      : targets(invite.map((u) => [u])).replace(
          '<info:users>',
          `<info:users><xcon:user-admission-policy>${policy}</xcon:user-admission-policy>`,
        );
  const uri = await gw.createConference('bob', { confInfo: confInfo(users) });
  return { gw, uri };
}

async function usersOf(gw: TestGateway, uri: string): Promise<{ reply: Reply; entities: string[] }> {
  const reply = expectCode(
    await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: uri }),
    200,
  );
  return {
    reply,
    entities: all(reply.payload('confInfo'), 'info:users/info:user').map((u) => attr(u, 'entity') ?? ''),
  };
}

const userInfo = (entity: string, content = '') => `<userInfo entity="${entity}">${content}</userInfo>`;

describe('userRequest/create', () => {
  it('case 1: an invited user adds itself (no userInfo)', async () => {
    const { gw, uri } = await setUp();
    const reply = expectCode(
      await gw.ccmp('carol', { type: 'user', operation: 'create', confObjID: uri }),
      200,
    );
    expect(reply.xsiType).toBe('ccmp-user-response-message-type');
    expect(reply.confUserID).toBe(CAROL);
    expect(reply.confObjID).toBe(uri);
    expect(reply.operation).toBe('create');
    expect(reply.version).toBe(2);
    expect(attr(reply.payload('userInfo'), 'entity')).toBe(CAROL);
  });

  it('case 1: a user not on the list may join only when the admission policy is open', async () => {
    const closed = await setUp([]);
    expectCode(
      await closed.gw.ccmp('carol', { type: 'user', operation: 'create', confObjID: closed.uri }),
      401,
    );
    const open = await setUp([], 'openAuthenticated');
    const reply = expectCode(
      await open.gw.ccmp('carol', {
        type: 'user',
        operation: 'create',
        confObjID: open.uri,
        body: userInfo(CAROL, '<info:endpoint entity="sip:carol@example.com"/>'),
      }),
      200,
    );
    expect(attr(reply.payload('userInfo'), 'entity')).toBe(CAROL);
    expect((await usersOf(open.gw, open.uri)).entities).toContain(CAROL);
  });

  it('case 2: a moderator adds another known user', async () => {
    const { gw, uri } = await setUp([]);
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }), 401);
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'create',
        confObjID: uri,
        body: userInfo(CAROL),
      }),
      200,
    );
    expect(reply.confUserID).toBe(BOB);
    expect(attr(reply.payload('userInfo'), 'entity')).toBe(CAROL);
    expect(text(reply.payload('userInfo'), 'info:associated-aors/info:entry/info:uri')).toBe(
      'sip:carol@example.com',
    );
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }), 200);
  });

  it('case 2: a participant may not add somebody else (401)', async () => {
    const { gw, uri } = await setUp();
    const reply = await gw.ccmp('carol', {
      type: 'user',
      operation: 'create',
      confObjID: uri,
      body: userInfo('xcon-userid:alice@example.com'),
    });
    expectCode(reply, 401);
  });

  it('case 3: no confUserID; the answer carries the XCON-USERID of the joining user', async () => {
    const { gw, uri } = await setUp();
    const reply = expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'create',
        confUserID: null,
        confObjID: uri,
        body: userInfo(
          'xcon-userid:AUTO_GENERATE_1@example.com',
          '<info:endpoint entity="sip:carol@example.com"/>',
        ),
      }),
      200,
    );
    expect(reply.confUserID).toBe(CAROL);
    expect(reply.confObjID).toBe(uri);
    expect(attr(reply.payload('userInfo'), 'entity')).toBe(CAROL);
    expect(reply.xml).not.toContain('AUTO_GENERATE');
  });

  it('case 3: answers 427 for a placeholder in a domain the server does not serve', async () => {
    const { gw, uri } = await setUp();
    const reply = await gw.ccmp('carol', {
      type: 'user',
      operation: 'create',
      confUserID: null,
      confObjID: uri,
      body: userInfo(
        'xcon-userid:AUTO_GENERATE_1@other.org',
        '<info:endpoint entity="sip:carol@example.com"/>',
      ),
    });
    expectCode(reply, 427);
    // Nothing was allocated: the confUserID is echoed empty.
    expect(reply.confUserID).toBe('');
    expect((await usersOf(gw, uri)).reply.version).toBe(1);
  });

  it('case 4: an unknown third party gets an allocated XCON-USERID, reused for the same SIP URI', async () => {
    const { gw, uri } = await setUp();
    const add = (conf: string) =>
      gw.ccmp('bob', {
        type: 'user',
        operation: 'create',
        confObjID: conf,
        body: userInfo(
          'xcon-userid:AUTO_GENERATE_1@example.com',
          '<info:display-text>X</info:display-text><info:endpoint entity="sip:x@example.com"/>',
        ),
      });
    const reply = expectCode(await add(uri), 200);
    expect(reply.confUserID).toBe(BOB);
    const allocated = attr(reply.payload('userInfo'), 'entity') ?? '';
    expect(allocated).toMatch(/^xcon-userid:[^@]+@example\.com$/);
    expect(allocated).not.toContain('AUTO_GENERATE');
    expect((await usersOf(gw, uri)).entities).toContain(allocated);

    // The same person added again: the same identity (in the same conference that is a conflict).
    const again = await add(uri);
    expectCode(again, 409);
    const other = await gw.createConference('bob');
    const elsewhere = expectCode(await add(other), 200);
    expect(attr(elsewhere.payload('userInfo'), 'entity')).toBe(allocated);
  });

  it('case 4: a known user named by SIP URI keeps their directory identity', async () => {
    const { gw, uri } = await setUp([]);
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'create',
        confObjID: uri,
        body: userInfo(
          'xcon-userid:AUTO_GENERATE_1@example.com',
          '<info:endpoint entity="sip:carol@example.com"/>',
        ),
      }),
      200,
    );
    expect(attr(reply.payload('userInfo'), 'entity')).toBe(CAROL);
  });

  it('answers 420 for a third party that looks like an XCON-USERID but is unknown', async () => {
    const { gw, uri } = await setUp();
    const reply = await gw.ccmp('bob', {
      type: 'user',
      operation: 'create',
      confObjID: uri,
      body: userInfo('xcon-userid:nobody@example.com'),
    });
    expectCode(reply, 420);
    expect(reply.confObjID).toBe(uri);
    expect(reply.operation).toBe('create');
    expect((await usersOf(gw, uri)).reply.version).toBe(1);
  });

  it('answers 427 for a placeholder in a foreign domain, 404 for an unknown conference', async () => {
    const { gw, uri } = await setUp();
    expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'create',
        confObjID: uri,
        body: userInfo('xcon-userid:AUTO_GENERATE_1@other.org', '<info:endpoint entity="sip:y@other.org"/>'),
      }),
      427,
    );
    expectCode(
      await gw.ccmp('bob', { type: 'user', operation: 'create', confObjID: 'xcon:nothing@example.com' }),
      404,
    );
  });
});

describe('userRequest/retrieve', () => {
  it('returns the requester without userInfo, and another user named by userInfo', async () => {
    const { gw, uri } = await setUp();
    const own = expectCode(
      await gw.ccmp('carol', { type: 'user', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(own.version).toBe(1);
    expect(attr(own.payload('userInfo'), 'entity')).toBe(CAROL);
    const other = expectCode(
      await gw.ccmp('carol', { type: 'user', operation: 'retrieve', confObjID: uri, body: userInfo(BOB) }),
      200,
    );
    expect(attr(other.payload('userInfo'), 'entity')).toBe(BOB);
    expect(all(other.payload('userInfo'), 'info:roles/info:entry').map((e) => text(e))).toContain(
      'organizer',
    );
  });

  it('answers 420 for a user who is not in the conference, 401 for a non-member', async () => {
    const { gw, uri } = await setUp();
    expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'retrieve',
        confObjID: uri,
        body: userInfo('xcon-userid:alice@example.com'),
      }),
      420,
    );
    const other = await gw.createConference('bob');
    expectCode(await gw.ccmp('carol', { type: 'user', operation: 'retrieve', confObjID: other }), 401);
  });
});

describe('userRequest/update', () => {
  it('mutes a participant (RFC 6504 §6.2): media status recvonly reaches the backend', async () => {
    const { gw, uri } = await setUp();
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: userInfo(
          CAROL,
          '<info:endpoint entity="sip:carol@example.com"><info:media id="1">' +
            '<info:type>audio</info:type><info:label>1</info:label><info:status>recvonly</info:status>' +
            '</info:media></info:endpoint>',
        ),
      }),
      200,
    );
    expect(reply.operation).toBe('update');
    expect(reply.version).toBe(2);
    const backendId = (await gw.stored(uri)).backendId!;
    expect(gw.mock.conferences.get(backendId)?.media.get(CAROL)).toEqual([
      { id: '1', type: 'audio', label: '1', status: 'recvonly' },
    ]);
    const read = expectCode(
      await gw.ccmp('bob', { type: 'user', operation: 'retrieve', confObjID: uri, body: userInfo(CAROL) }),
      200,
    );
    expect(text(read.payload('userInfo'), 'info:endpoint/info:media/info:status')).toBe('recvonly');
  });

  it('lets a participant change itself, but not others or its roles (426)', async () => {
    const { gw, uri } = await setUp();
    expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: userInfo(CAROL, '<info:display-text>Carol C.</info:display-text>'),
      }),
      200,
    );
    expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: userInfo(BOB, '<info:display-text>Bobby</info:display-text>'),
      }),
      426,
    );
    expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: userInfo(CAROL, '<info:roles><info:entry>moderator</info:entry></info:roles>'),
      }),
      426,
    );
    const { reply } = await usersOf(gw, uri);
    expect(reply.version).toBe(2);
  });

  it('answers 420 for a user who is not in the conference', async () => {
    const { gw, uri } = await setUp();
    expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: userInfo('xcon-userid:alice@example.com', '<info:display-text>A</info:display-text>'),
      }),
      420,
    );
  });
});

describe('userRequest/delete', () => {
  it('lets a user leave (no userInfo): confObjID echoed, no userInfo in the answer', async () => {
    const { gw, uri } = await setUp();
    const reply = expectCode(
      await gw.ccmp('carol', { type: 'user', operation: 'delete', confObjID: uri }),
      200,
    );
    expect(reply.operation).toBe('delete');
    expect(reply.confObjID).toBe(uri);
    expect(reply.version).toBe(2);
    expect(reply.payload('userInfo')).toBeUndefined();
    expect((await usersOf(gw, uri)).entities).not.toContain(CAROL);
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }), 401);
  });

  it('lets a moderator remove another user', async () => {
    const { gw, uri } = await setUp();
    const reply = expectCode(
      await gw.ccmp('bob', { type: 'user', operation: 'delete', confObjID: uri, body: userInfo(CAROL) }),
      200,
    );
    expect(reply.version).toBe(2);
    const { reply: doc, entities } = await usersOf(gw, uri);
    expect(entities).not.toContain(CAROL);
    expect(
      all(doc.payload('confInfo'), 'info:users/xcon:allowed-users-list/xcon:target').map((t) =>
        attr(t, 'uri'),
      ),
    ).not.toContain(CAROL);
  });

  it('answers 401 to a participant removing somebody else, 420 for an unknown user', async () => {
    const { gw, uri } = await setUp();
    expectCode(
      await gw.ccmp('carol', { type: 'user', operation: 'delete', confObjID: uri, body: userInfo(BOB) }),
      401,
    );
    expectCode(
      await gw.ccmp('bob', {
        type: 'user',
        operation: 'delete',
        confObjID: uri,
        body: userInfo('xcon-userid:nobody@example.com'),
      }),
      420,
    );
    expect((await usersOf(gw, uri)).entities).toEqual(expect.arrayContaining([BOB, CAROL]));
  });
});
