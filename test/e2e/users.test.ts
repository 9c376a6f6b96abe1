/** @module usersRequest end to end: retrieve and update of `<users>`; create and delete are 403. */
import { describe, expect, it } from 'vitest';
import { BOB, CAROL, all, attr, confInfo, expectCode, targets, testGateway, text } from './_harness.ts';

async function setUp() {
  const gw = testGateway();
  const uri = await gw.createConference('bob', { confInfo: confInfo(targets([[CAROL]])) });
  return { gw, uri };
}

describe('usersRequest', () => {
  it('retrieves the whole <users> element with the conference version', async () => {
    const { gw, uri } = await setUp();
    for (const who of ['bob', 'carol']) {
      const reply = expectCode(
        await gw.ccmp(who, { type: 'users', operation: 'retrieve', confObjID: uri }),
        200,
      );
      expect(reply.xsiType).toBe('ccmp-users-response-message-type');
      expect(reply.operation).toBe('retrieve');
      expect(reply.confObjID).toBe(uri);
      expect(reply.version).toBe(1);
      const users = reply.payload('usersInfo');
      expect(all(users, 'info:user').map((u) => attr(u, 'entity'))).toEqual(
        expect.arrayContaining([BOB, CAROL]),
      );
      expect(all(users, 'xcon:allowed-users-list/xcon:target').map((t) => attr(t, 'uri'))).toEqual(
        expect.arrayContaining([BOB, CAROL]),
      );
    }
  });

  it('answers 401 to a non-member and 404 for an unknown conference', async () => {
    const { gw } = await setUp();
    const other = await gw.createConference('bob');
    expectCode(await gw.ccmp('carol', { type: 'users', operation: 'retrieve', confObjID: other }), 401);
    expectCode(
      await gw.ccmp('carol', { type: 'users', operation: 'retrieve', confObjID: 'xcon:nothing@example.com' }),
      404,
    );
  });

  it('updates the allowed-users-list: new targets become users, the version goes up', async () => {
    const { gw, uri } = await setUp();
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'users',
        operation: 'update',
        confObjID: uri,
        body:
          '<usersInfo><xcon:join-handling>confirm</xcon:join-handling><xcon:allowed-users-list>' +
          '<xcon:target uri="xcon-userid:bob@example.com" method="dial-in"/>' +
          '<xcon:target uri="xcon-userid:carol@example.com" method="dial-in"/>' +
          '<xcon:target uri="xcon-userid:alice@example.com" method="dial-out"/>' +
          '<xcon:target uri="sip:dave@example.com" method="dial out"/>' +
          '</xcon:allowed-users-list></usersInfo>',
      }),
      200,
    );
    expect(reply.version).toBe(2);
    expect(reply.operation).toBe('update');
    const read = expectCode(
      await gw.ccmp('bob', { type: 'users', operation: 'retrieve', confObjID: uri }),
      200,
    );
    const users = read.payload('usersInfo');
    expect(read.version).toBe(2);
    expect(text(users, 'xcon:join-handling')).toBe('confirm');
    const entities = all(users, 'info:user').map((u) => attr(u, 'entity'));
    expect(entities).toEqual(
      expect.arrayContaining([BOB, CAROL, 'xcon-userid:alice@example.com', 'xcon-userid:dave@example.com']),
    );
    const dave = all(users, 'info:user').find((u) => attr(u, 'entity') === 'xcon-userid:dave@example.com');
    expect(text(dave, 'info:associated-aors/info:entry/info:uri')).toBe('sip:dave@example.com');
    // Every target is the entity of a user; methods are normalised to the schema's values.
    const list = all(users, 'xcon:allowed-users-list/xcon:target');
    for (const t of list) expect(entities).toContain(attr(t, 'uri'));
    expect(list.find((t) => attr(t, 'uri') === 'xcon-userid:dave@example.com')?.getAttribute('method')).toBe(
      'dial-out',
    );
  });

  it('gives a user added to the allowed-users-list access to the conference', async () => {
    const { gw } = await setUp();
    const uri = await gw.createConference('bob');
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }), 401);
    expectCode(
      await gw.ccmp('bob', {
        type: 'users',
        operation: 'update',
        confObjID: uri,
        body: `<usersInfo>${targets([[BOB], [CAROL]]).replace(/<\/?info:users>/g, '')}</usersInfo>`,
      }),
      200,
    );
    const read = expectCode(
      await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(read.version).toBe(2);
    const list = expectCode(await gw.ccmp('carol', { type: 'confs' }), 200);
    expect(all(list.payload('confsInfo'), 'info:entry/info:uri').map((u) => text(u))).toContain(uri);
  });

  it('refuses create and delete with 403', async () => {
    const { gw, uri } = await setUp();
    for (const operation of ['create', 'delete'] as const) {
      const reply = await gw.ccmp('bob', {
        type: 'users',
        operation,
        confObjID: uri,
        body: '<usersInfo/>',
      });
      expectCode(reply, 403);
      expect(reply.operation).toBe(operation);
      expect(reply.xsiType).toBe('ccmp-users-response-message-type');
    }
  });

  it('answers 426 to a participant who tries to change the users', async () => {
    const { gw, uri } = await setUp();
    const reply = await gw.ccmp('carol', {
      type: 'users',
      operation: 'update',
      confObjID: uri,
      body: '<usersInfo><xcon:join-handling>allow</xcon:join-handling></usersInfo>',
    });
    expectCode(reply, 426);
    const read = expectCode(
      await gw.ccmp('bob', { type: 'users', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(read.version).toBe(1);
  });

  it('answers 400 for an update without usersInfo', async () => {
    const { gw, uri } = await setUp();
    expectCode(await gw.ccmp('bob', { type: 'users', operation: 'update', confObjID: uri }), 400);
  });
});
