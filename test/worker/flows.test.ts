/**
 * Core CCMP flows through the Worker's default export, inside workerd, on the local D1 database: options,
 * blueprints, conference create/retrieve/update/delete, confs, users, user, sidebars, and the errors.
 * Every CCMP response is validated against the RFC 6503 XSD and the RFC 6501 RELAX NG (`send`).
 */
import { env, exports } from 'cloudflare:workers';
import { afterAll, describe, expect, it } from 'vitest';
import worker from '../../src/worker.ts';
import { d1Store } from '../../src/store/d1.ts';
import {
  basic,
  confCreate,
  confInfo,
  confRetrieve,
  confUpdateSubject,
  expectCode,
  http,
  request,
  send,
  subject,
  targets,
  userCreateThirdParty,
  userId,
  validate,
  validated,
  type Reply,
} from './_ccmp.ts';

const BOB = userId('bob');
const CAROL = userId('carol');

const as = (login: string) => ({ authorization: basic(login) });

async function create(login: string, content?: string): Promise<string> {
  const reply = expectCode(await send(worker, confCreate(login, content), as(login)), 200);
  expect(reply.version).toBe(1);
  if (!reply.confObjID) throw new Error(`no confObjID in\n${reply.xml}`);
  return reply.confObjID;
}

afterAll(() => {
  // Each flow below went through `send`, which validates: make sure that really happened.
  expect(validated.count).toBeGreaterThanOrEqual(30);
});

describe('the schema check of the Workers tests', () => {
  it('refuses a Worker response once it breaks the RFC 6503 schema', async () => {
    const reply = expectCode(await send(worker, request('options', { confUserID: userId('alice') })), 200);
    const before = validated.count;
    const broken = reply.xml.replace(/<response-code>200<\/response-code>/, '');
    expect(broken).not.toBe(reply.xml);
    await expect(validate(broken)).rejects.toThrow(/not valid against the RFC 6503 XSD/);
    expect(validated.count).toBe(before);
  });
});

describe('the Worker entry', () => {
  it('answers /health once the blueprints are seeded in D1', async () => {
    const res = await exports.default.fetch('https://gateway.example.com/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    const row = await env.DB.prepare(
      "SELECT count(*) AS n FROM conference_objects WHERE kind = 'blueprint'",
    ).first<{
      n: number;
    }>();
    expect(row?.n).toBeGreaterThan(0);
  });

  it('answers optionsRequest and blueprintsRequest', async () => {
    const options = expectCode(await send(worker, request('options', { confUserID: userId('alice') })), 200);
    expect(options.messageType).toBe('ccmp-options-response-message-type');
    const blueprints = expectCode(
      await send(worker, request('blueprints', { confUserID: userId('alice') })),
      200,
    );
    const entries = Array.from(
      blueprints.payload('blueprintsInfo')?.getElementsByTagNameNS('*', 'entry') ?? [],
    );
    expect(entries.length).toBeGreaterThan(0);
    const first = entries[0]?.getElementsByTagNameNS('*', 'uri')[0]?.textContent?.trim() ?? '';
    expectCode(
      await send(
        worker,
        request('blueprint', { confUserID: userId('alice'), confObjID: first, operation: 'retrieve' }),
      ),
      200,
    );
  });
});

describe('confRequest on D1', () => {
  it('creates, retrieves, updates, lists and deletes a conference', async () => {
    const uri = await create('bob', subject('Edge planning') + targets([CAROL]));
    // The conference is in D1, not in the isolate: a fresh store on the binding sees it.
    const stored = await d1Store({ db: env.DB }).get(uri);
    expect(stored).toMatchObject({ uri: uri.toLowerCase(), version: 1, kind: 'conference', owner: BOB });

    const read = expectCode(await send(worker, confRetrieve('carol', uri), as('carol')), 200);
    expect(read.version).toBe(1);
    expect(read.subject).toBe('Edge planning');
    expect(read.users).toEqual(expect.arrayContaining([BOB, CAROL]));
    expect(read.headers.get('etag')).toBe('"1"');

    const updated = expectCode(
      await send(worker, confUpdateSubject('bob', uri, 'Edge review'), as('bob')),
      200,
    );
    expect(updated.version).toBe(2);
    const again = expectCode(await send(worker, confRetrieve('bob', uri), as('bob')), 200);
    expect([again.version, again.subject]).toEqual([2, 'Edge review']);

    const confs = expectCode(await send(worker, request('confs', { confUserID: CAROL }), as('carol')), 200);
    expect(confs.xml).toContain(uri);

    const deleted = expectCode(
      await send(
        worker,
        request('conf', { confUserID: BOB, confObjID: uri, operation: 'delete' }),
        as('bob'),
      ),
      200,
    );
    expect(deleted.operation).toBe('delete');
    expectCode(await send(worker, confRetrieve('bob', uri), as('bob')), 404);
    expect(await d1Store({ db: env.DB }).get(uri)).toBeUndefined();
  });

  it('answers 409 with the current version to a stale If-Match, and 404, 401 where due', async () => {
    const uri = await create('bob', targets([CAROL]));
    expectCode(await send(worker, confUpdateSubject('bob', uri, 'second'), as('bob')), 200);
    const stale = await send(worker, confUpdateSubject('bob', uri, 'stale'), {
      ...as('bob'),
      headers: { 'if-match': '"1"' },
    });
    expectCode(stale, 409);
    expect(stale.version).toBe(2);
    expectCode(await send(worker, confRetrieve('bob', 'xcon:nothing@example.com'), as('bob')), 404);
    // carol is a participant: she may read but not change the conference (426, unauthorized role);
    // alice's conference is closed to bob, who has no role in it (401).
    expectCode(await send(worker, confUpdateSubject('carol', uri, 'mine now'), as('carol')), 426);
    const alices = await create('alice');
    expectCode(await send(worker, confRetrieve('bob', alices), as('bob')), 401);
  });
});

describe('usersRequest and userRequest on D1', () => {
  it('retrieves and updates users, adds a third party, reads and removes the user', async () => {
    const uri = await create('bob', targets([CAROL]));
    const users = expectCode(
      await send(
        worker,
        request('users', { confUserID: BOB, confObjID: uri, operation: 'retrieve' }),
        as('bob'),
      ),
      200,
    );
    expect(users.users).toEqual(expect.arrayContaining([BOB, CAROL]));

    const update = expectCode(
      await send(
        worker,
        request(
          'users',
          { confUserID: BOB, confObjID: uri, operation: 'update' },
          '<usersInfo><xcon:allowed-users-list>' +
            `<xcon:target uri="${BOB}" method="dial-in"/><xcon:target uri="${CAROL}" method="dial-in"/>` +
            `<xcon:target uri="${userId('alice')}" method="dial-out"/>` +
            '</xcon:allowed-users-list></usersInfo>',
        ),
        as('bob'),
      ),
      200,
    );
    expect(update.version).toBe(2);

    const added = expectCode(
      await send(worker, userCreateThirdParty('bob', uri, 'sip:dave@example.com'), as('bob')),
      200,
    );
    expect(added.version).toBe(3);
    const dave = added.userInfoEntity ?? '';
    expect(dave).toMatch(/^xcon-userid:/);

    const user = expectCode(
      await send(
        worker,
        request(
          'user',
          { confUserID: BOB, confObjID: uri, operation: 'retrieve' },
          `<userInfo entity="${dave}"/>`,
        ),
        as('bob'),
      ),
      200,
    );
    expect(user.userInfoEntity).toBe(dave);

    const removed = expectCode(
      await send(
        worker,
        request(
          'user',
          { confUserID: BOB, confObjID: uri, operation: 'delete' },
          `<userInfo entity="${dave}"/>`,
        ),
        as('bob'),
      ),
      200,
    );
    expect(removed.version).toBe(4);
    const after = expectCode(await send(worker, confRetrieve('bob', uri), as('bob')), 200);
    expect(after.users).not.toContain(dave);
    expect(after.users).toEqual(expect.arrayContaining([BOB, CAROL, userId('alice')]));
  });
});

describe('sidebars on D1', () => {
  it('creates sidebars by value and by reference, lists, retrieves and deletes them', async () => {
    const parent = await create('bob', targets([CAROL]));
    const byVal = expectCode(
      await send(
        worker,
        request('sidebarByVal', { confUserID: BOB, confObjID: parent, operation: 'create' }),
        as('bob'),
      ),
      200,
    );
    const sidebar = byVal.confObjID ?? '';
    expect(sidebar).not.toBe(parent);
    expect(byVal.version).toBe(1);

    const list = expectCode(
      await send(worker, request('sidebarsByVal', { confUserID: CAROL, confObjID: parent }), as('carol')),
      200,
    );
    expect(list.xml).toContain(sidebar);
    const stored = await d1Store({ db: env.DB }).listChildren(parent);
    expect(stored).toContain(sidebar.toLowerCase());

    expectCode(
      await send(
        worker,
        request('sidebarByVal', { confUserID: CAROL, confObjID: sidebar, operation: 'retrieve' }),
        as('carol'),
      ),
      200,
    );
    const byRef = expectCode(
      await send(
        worker,
        request('sidebarByRef', { confUserID: BOB, confObjID: parent, operation: 'create' }),
        as('bob'),
      ),
      200,
    );
    const refs = expectCode(
      await send(worker, request('sidebarsByRef', { confUserID: BOB, confObjID: parent }), as('bob')),
      200,
    );
    expect(refs.xml).toContain(byRef.confObjID ?? '(none)');

    // A conference with sidebars cannot be deleted (425); without them it can.
    expectCode(
      await send(
        worker,
        request('conf', { confUserID: BOB, confObjID: parent, operation: 'delete' }),
        as('bob'),
      ),
      425,
    );
    for (const [type, uri] of [
      ['sidebarByVal', sidebar],
      ['sidebarByRef', byRef.confObjID ?? ''],
    ] as const) {
      expectCode(
        await send(
          worker,
          request(type, { confUserID: BOB, confObjID: uri, operation: 'delete' }),
          as('bob'),
        ),
        200,
      );
    }
    expectCode(
      await send(
        worker,
        request('conf', { confUserID: BOB, confObjID: parent, operation: 'delete' }),
        as('bob'),
      ),
      200,
    );
  });
});

describe('HTTP binding on the edge', () => {
  it('challenges a request without credentials and refuses a wrong password', async () => {
    const res = await http(worker, confCreate('alice'), { authorization: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer realm=|Basic realm=/);
    const challenges = res.headers.get('www-authenticate') ?? '';
    expect(challenges).toContain('Bearer');
    expect(challenges).toContain('Basic');
    const wrong = await http(worker, confCreate('alice'), { authorization: basic('alice', 'not-alice') });
    expect(wrong.status).toBe(401);
  });

  it('keeps HTTP errors for requests with no CCMP message to answer', async () => {
    expect(
      (await http(worker, confCreate('alice'), { headers: { 'content-type': 'text/plain' } })).status,
    ).toBe(415);
    expect((await http(worker, null, { method: 'GET' })).status).toBe(405);
    expect((await http(worker, '<not-closed', {})).status).toBe(400);
    expect((await http(worker, null, { method: 'GET', path: '/nothing/here' })).status).toBe(404);
  });

  it('answers CCMP-level errors inside HTTP 200', async () => {
    const reply: Reply = await send(worker, updateOfNothing());
    expect(reply.code).toBe(404);
    expect(reply.messageType).toBe('ccmp-conf-response-message-type');
  });
});

/** An update of a conference that does not exist: a CCMP-level error (404), not an HTTP one. */
function updateOfNothing(): string {
  return request(
    'conf',
    { confUserID: userId('alice'), confObjID: 'xcon:nothing@example.com', operation: 'update' },
    confInfo('xcon:nothing@example.com', ''),
  );
}
