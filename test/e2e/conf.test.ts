/** @module confRequest end to end: the four creation modes, retrieve, delta updates, delete. */
import { describe, expect, it } from 'vitest';
import {
  ALICE,
  BOB,
  CAROL,
  all,
  attr,
  confInfo,
  description,
  descendants,
  expectCode,
  one,
  targets,
  testGateway,
  text,
  type Reply,
} from './_harness.ts';

function users(reply: Reply, name = 'confInfo') {
  return all(reply.payload(name), 'info:users/info:user');
}

function rolesOf(reply: Reply, userId: string): string[] {
  const user = users(reply).find((u) => attr(u, 'entity')?.toLowerCase() === userId);
  return all(user, 'info:roles/info:entry').map((e) => text(e) ?? '');
}

describe('confRequest/create', () => {
  it('clones the system default blueprint when neither confObjID nor confInfo is sent', async () => {
    const gw = testGateway();
    const reply = expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'create' }), 200);
    expect(reply.xsiType).toBe('ccmp-conf-response-message-type');
    expect(reply.operation).toBe('create');
    expect(reply.confUserID).toBe(BOB);
    expect(reply.confObjID).toMatch(/^xcon:[a-z2-7]{16}@example\.com$/);
    expect(reply.version).toBe(1);
    expect(reply.headers.get('etag')).toBe('"1"');
    const info = reply.payload('confInfo');
    expect(attr(info, 'entity')).toBe(reply.confObjID);
    // The default blueprint's media, and exactly one conf-uris entry (the join URI).
    expect(all(info, 'info:conference-description/info:available-media/info:entry')).toHaveLength(3);
    expect(all(info, 'info:conference-description/info:conf-uris/info:entry')).toHaveLength(1);
    expect(text(info, 'info:conference-description/info:conf-uris/info:entry/info:uri')).toMatch(/^sip:/);
    expect(rolesOf(reply, BOB)).toContain('organizer');
  });

  it('clones a blueprint named by confObjID', async () => {
    const gw = testGateway();
    const reply = expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'create', confObjID: 'xcon:AudioRoom@example.com' }),
      200,
    );
    expect(reply.confObjID).not.toBe('xcon:AudioRoom@example.com');
    expect(reply.version).toBe(1);
    const info = reply.payload('confInfo');
    expect(attr(info, 'entity')).toBe(reply.confObjID);
    expect(text(info, 'info:conference-description/xcon:cloning-parent')).toBe('xcon:AudioRoom@example.com');
    expect(text(info, 'info:conference-description/info:display-text')).toBe('AudioRoom');
    expect(all(info, 'info:conference-description/info:available-media/info:entry')).toHaveLength(1);
  });

  it('clones an existing conference with xcon:cloning-parent', async () => {
    const gw = testGateway();
    const parent = await gw.createConference('bob', {
      confInfo: confInfo(description('<info:subject>Weekly</info:subject>') + targets([[CAROL]])),
    });
    const reply = expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'create', confObjID: parent }),
      200,
    );
    expect(reply.confObjID).not.toBe(parent);
    expect(reply.version).toBe(1);
    const info = reply.payload('confInfo');
    expect(text(info, 'info:conference-description/xcon:cloning-parent')).toBe(parent);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Weekly');
    // The clone has its own join URI, not the parent's.
    const parentDoc = await gw.stored(parent);
    expect(text(info, 'info:conference-description/info:conf-uris/info:entry/info:uri')).not.toBe(
      parentDoc.joinUri,
    );
    // Somebody who may not read the conference may not clone it either.
    const carolClone = await gw.ccmp('carol', { type: 'conf', operation: 'create', confObjID: parent });
    expectCode(carolClone, 200);
    const stranger = await gw.createConference('alice');
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'create', confObjID: stranger }), 401);
  });

  it('answers 404 when the clone source does not exist', async () => {
    const gw = testGateway();
    expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'create', confObjID: 'xcon:nothing@example.com' }),
      404,
    );
  });

  it('builds a conference from user-provided confInfo, replacing AUTO_GENERATE_X placeholders', async () => {
    const gw = testGateway();
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'create',
        body: confInfo(
          description(
            '<info:subject>Planning</info:subject>' +
              '<info:available-media>' +
              '<info:entry label="AUTO_GENERATE_2"><info:type>audio</info:type><info:status>sendrecv</info:status></info:entry>' +
              '<info:entry label="AUTO_GENERATE_3"><info:type>video</info:type><info:status>sendrecv</info:status></info:entry>' +
              '</info:available-media>',
          ) +
            targets([[CAROL]]) +
            '<xcon:floor-information><xcon:conference-floor-policy><xcon:floor id="AUTO_GENERATE_4">' +
            '<xcon:media-label>AUTO_GENERATE_2</xcon:media-label></xcon:floor></xcon:conference-floor-policy>' +
            '</xcon:floor-information>',
        ),
      }),
      200,
    );
    expect(reply.version).toBe(1);
    expect(reply.confObjID).toMatch(/^xcon:[a-z2-7]+@example\.com$/);
    expect(reply.xml).not.toContain('AUTO_GENERATE');
    const info = reply.payload('confInfo');
    expect(attr(info, 'entity')).toBe(reply.confObjID);
    const labels = all(info, 'info:conference-description/info:available-media/info:entry').map((e) =>
      attr(e, 'label'),
    );
    expect(labels).toHaveLength(2);
    for (const label of labels) expect(label).toMatch(/^[0-9]+$/);
    expect(new Set(labels).size).toBe(2);
    // The same placeholder got the same value everywhere in the document.
    const floorLabel = text(
      info,
      'xcon:floor-information/xcon:conference-floor-policy/xcon:floor/xcon:media-label',
    );
    expect(floorLabel).toBe(labels[0]);
    const floorId = attr(one(info, 'xcon:floor-information/xcon:conference-floor-policy/xcon:floor'), 'id');
    expect(floorId).toMatch(/^[0-9]+$/);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Planning');
    expect(users(reply).map((u) => attr(u, 'entity'))).toEqual(expect.arrayContaining([BOB, CAROL]));
  });

  it('answers 427 for a placeholder in a domain the server does not serve', async () => {
    const gw = testGateway();
    const reply = await gw.ccmp('bob', {
      type: 'conf',
      operation: 'create',
      body: confInfo(description('<info:subject>Elsewhere</info:subject>'), 'xcon:AUTO_GENERATE_1@other.org'),
    });
    expectCode(reply, 427);
    expect(reply.operation).toBe('create');
    expect(reply.confObjID).toBeUndefined();
  });

  it('keeps an entity the client chose in its domain; 409 when it exists, 427 in a foreign domain', async () => {
    const gw = testGateway();
    const create = (entity: string) =>
      gw.ccmp('bob', {
        type: 'conf',
        operation: 'create',
        body: confInfo(description('<info:subject>Named</info:subject>'), entity),
      });
    const named = expectCode(await create('xcon:TeamRoom@example.com'), 200);
    expect(named.confObjID).toBe('xcon:TeamRoom@example.com');
    expectCode(await create('xcon:teamroom@example.com'), 409);
    expectCode(await create('xcon:TeamRoom@other.org'), 427);
  });

  it('answers 400 for confInfo together with confObjID, and for a placeholder outside a value', async () => {
    const gw = testGateway();
    const both = await gw.ccmp('bob', {
      type: 'conf',
      operation: 'create',
      confObjID: 'xcon:AudioRoom@example.com',
      body: confInfo(description('<info:subject>Both</info:subject>')),
    });
    expectCode(both, 400);
    const misplaced = await gw.ccmp('bob', {
      type: 'conf',
      operation: 'create',
      body: confInfo(description('<info:AUTO_GENERATE_5>x</info:AUTO_GENERATE_5>')),
    });
    expectCode(misplaced, 400);
  });

  it('answers 400 without an operation', async () => {
    const gw = testGateway();
    expectCode(await gw.ccmp('bob', { type: 'conf' }), 400);
  });
});

describe('confRequest/retrieve', () => {
  it('returns the whole document with its version and ETag', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob', {
      confInfo: confInfo(description('<info:subject>Retro</info:subject>') + targets([[CAROL]])),
    });
    for (const who of ['bob', 'carol', 'alice']) {
      const reply = expectCode(
        await gw.ccmp(who, { type: 'conf', operation: 'retrieve', confObjID: uri }),
        200,
      );
      expect(reply.operation).toBe('retrieve');
      expect(reply.confObjID).toBe(uri);
      expect(reply.version).toBe(1);
      expect(reply.headers.get('etag')).toBe('"1"');
      expect(attr(reply.payload('confInfo'), 'entity')).toBe(uri);
      expect(text(reply.payload('confInfo'), 'info:conference-description/info:subject')).toBe('Retro');
    }
  });

  it('answers 401 to a user who is not a member', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob');
    const reply = await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri });
    expectCode(reply, 401);
    expect(reply.specialized).toBeDefined();
    expect(reply.payload('confInfo')).toBeUndefined();
  });

  it('answers 404 for unknown, blueprint and sidebar URIs (retrieve, update, delete)', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob');
    const sidebar = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'create', confObjID: uri }),
      200,
    ).confObjID!;
    for (const target of ['xcon:nothing@example.com', 'xcon:AudioRoom@example.com', sidebar]) {
      expectCode(await gw.ccmp('alice', { type: 'conf', operation: 'retrieve', confObjID: target }), 404);
      expectCode(
        await gw.ccmp('alice', {
          type: 'conf',
          operation: 'update',
          confObjID: target,
          body: confInfo(description('<info:subject>x</info:subject>'), target),
        }),
        404,
      );
      const del = await gw.ccmp('alice', { type: 'conf', operation: 'delete', confObjID: target });
      expectCode(del, 404);
      expect(del.confObjID).toBe(target);
    }
  });

  it('answers 400 without confObjID', async () => {
    const gw = testGateway();
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'retrieve' }), 400);
  });
});

describe('confRequest/update', () => {
  async function setUp() {
    const gw = testGateway();
    const uri = await gw.createConference('bob', {
      confInfo: confInfo(
        description('<info:display-text>Team</info:display-text><info:subject>First</info:subject>') +
          targets([[CAROL]]),
      ),
    });
    const update = (who: string, content: string, entity = uri, headers?: Record<string, string>) =>
      gw.ccmp(
        who,
        { type: 'conf', operation: 'update', confObjID: uri, body: confInfo(content, entity) },
        headers,
      );
    const retrieve = async () =>
      expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: uri }), 200);
    return { gw, uri, update, retrieve };
  }

  it('applies a delta, bumping the version by one each time', async () => {
    const { update, retrieve } = await setUp();
    const first = expectCode(await update('bob', description('<info:subject>Second</info:subject>')), 200);
    expect(first.version).toBe(2);
    expect(first.operation).toBe('update');
    expect(first.headers.get('etag')).toBe('"2"');
    let doc = await retrieve();
    expect(text(doc.payload('confInfo'), 'info:conference-description/info:subject')).toBe('Second');
    // Untouched elements stay.
    expect(text(doc.payload('confInfo'), 'info:conference-description/info:display-text')).toBe('Team');
    expect(doc.version).toBe(2);

    const second = expectCode(await update('bob', description('<info:subject>Third</info:subject>')), 200);
    expect(second.version).toBe(3);

    // An empty element removes the stored one.
    const third = expectCode(await update('bob', description('<info:display-text/>')), 200);
    expect(third.version).toBe(4);
    doc = await retrieve();
    expect(one(doc.payload('confInfo'), 'info:conference-description/info:display-text')).toBeUndefined();
    expect(text(doc.payload('confInfo'), 'info:conference-description/info:subject')).toBe('Third');
  });

  it('adds a medium named by a placeholder label, and keeps the others', async () => {
    const { update, retrieve } = await setUp();
    const reply = expectCode(
      await update(
        'bob',
        description(
          '<info:available-media><info:entry label="AUTO_GENERATE_1"><info:display-text>second audio</info:display-text>' +
            '<info:type>audio</info:type><info:status>sendrecv</info:status></info:entry></info:available-media>',
        ),
      ),
      200,
    );
    expect(reply.xml).not.toContain('AUTO_GENERATE');
    const media = all(
      (await retrieve()).payload('confInfo'),
      'info:conference-description/info:available-media/info:entry',
    );
    expect(media.map((m) => text(m, 'info:type'))).toEqual(['audio', 'video', 'text', 'audio']);
    expect(new Set(media.map((m) => attr(m, 'label'))).size).toBe(4);
  });

  it('answers 400 when the delta names another entity, and changes nothing', async () => {
    const { update, retrieve } = await setUp();
    const reply = await update(
      'bob',
      description('<info:subject>Other</info:subject>'),
      'xcon:other@example.com',
    );
    expectCode(reply, 400);
    const doc = await retrieve();
    expect(doc.version).toBe(1);
    expect(text(doc.payload('confInfo'), 'info:conference-description/info:subject')).toBe('First');
  });

  it('answers 426 when the delta changes xcon:cloning-parent', async () => {
    const { update, retrieve } = await setUp();
    const reply = await update(
      'bob',
      description('<xcon:cloning-parent>xcon:AudioRoom@example.com</xcon:cloning-parent>'),
    );
    expectCode(reply, 426);
    expect((await retrieve()).version).toBe(1);
  });

  it('answers 426 to a participant', async () => {
    const { update, retrieve } = await setUp();
    expectCode(await update('carol', description('<info:subject>Mine now</info:subject>')), 426);
    expect((await retrieve()).version).toBe(1);
  });

  it('answers 401 to a non-member', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob');
    const reply = await gw.ccmp('carol', {
      type: 'conf',
      operation: 'update',
      confObjID: uri,
      body: confInfo(description('<info:subject>x</info:subject>'), uri),
    });
    expectCode(reply, 401);
  });

  it('answers 409 with the current version when If-Match names another version', async () => {
    const { update } = await setUp();
    expectCode(await update('bob', description('<info:subject>Second</info:subject>')), 200);
    const stale = await update('bob', description('<info:subject>Stale</info:subject>'), undefined, {
      'if-match': '"1"',
    });
    expectCode(stale, 409);
    expect(stale.version).toBe(2);
    expect(stale.headers.get('etag')).toBe('"2"');
    const fresh = expectCode(
      await update('bob', description('<info:subject>Fresh</info:subject>'), undefined, {
        'if-match': '"2"',
      }),
      200,
    );
    expect(fresh.version).toBe(3);
  });

  it('answers 400 without confInfo', async () => {
    const { gw, uri } = await setUp();
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'update', confObjID: uri }), 400);
  });

  it('answers 400 for values the data model does not allow, and changes nothing', async () => {
    const { update, retrieve } = await setUp();
    const reply = await update(
      'bob',
      description('<info:subject>Half</info:subject><info:maximum-user-count>many</info:maximum-user-count>'),
    );
    expectCode(reply, 400);
    const doc = await retrieve();
    expect(doc.version).toBe(1);
    expect(text(doc.payload('confInfo'), 'info:conference-description/info:subject')).toBe('First');
  });
});

describe('confRequest/delete', () => {
  it('deletes: confObjID echoed, no version, no confInfo, then 404', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob');
    const backendId = (await gw.stored(uri)).backendId!;
    expect(gw.mock.conferences.has(backendId)).toBe(true);
    const reply = expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri }),
      200,
    );
    expect(reply.operation).toBe('delete');
    expect(reply.confObjID).toBe(uri);
    expect(reply.version).toBeUndefined();
    expect(reply.headers.get('etag')).toBeNull();
    expect(reply.specialized).toBeDefined();
    expect(reply.payload('confInfo')).toBeUndefined();
    expect(gw.mock.conferences.has(backendId)).toBe(false);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: uri }), 404);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri }), 404);
  });

  it('answers 425 while the conference has a sidebar', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob');
    const sidebar = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'create', confObjID: uri }),
      200,
    ).confObjID!;
    const refused = await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri });
    expectCode(refused, 425);
    expect(refused.confObjID).toBe(uri);
    expectCode(await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'delete', confObjID: sidebar }), 200);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri }), 200);
  });

  it('answers 401 to a participant and to a non-member; the administrator may delete', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob', { confInfo: confInfo(targets([[CAROL]])) });
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'delete', confObjID: uri }), 401);
    const other = await gw.createConference('bob');
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'delete', confObjID: other }), 401);
    const byAdmin = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'delete', confObjID: uri }),
      200,
    );
    expect(byAdmin.confUserID).toBe(ALICE);
  });

  it('drops a deleted conference from the lists of its invitees', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob', { confInfo: confInfo(targets([[CAROL]])) });
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri }), 200);
    const list = expectCode(await gw.ccmp('carol', { type: 'confs' }), 200);
    expect(descendants(list.payload('confsInfo'), 'info:uri').map((u) => text(u))).not.toContain(uri);
  });
});
