/**
 * @module The RFC 6503 §6 and RFC 6504 example requests replayed against the gateway, with the
 * conference IDs the server allocates put in place of the RFC's, plus namespace prefix variants.
 */
import { describe, expect, it } from 'vitest';
import {
  ALICE,
  BOB,
  CAROL,
  NS,
  all,
  attr,
  childElements,
  confInfo,
  description,
  expectCode,
  fixture,
  one,
  parseXml,
  targets,
  testGateway,
  text,
  type Reply,
  type TestGateway,
} from './_harness.ts';

/** The fields of an RFC example response that the gateway's answer must match. */
function expected(path: string) {
  const root = parseXml(fixture(path)).documentElement!;
  const inner = childElements(root)[0]!;
  const version = text(one(inner, 'version'));
  return {
    operation: text(one(inner, 'operation')),
    code: Number(text(one(inner, 'response-code'))),
    version: version === undefined ? undefined : Number(version),
    xsiType: (inner.getAttributeNS(NS.xsi, 'type') ?? '').replace(/^[^:]*:/, ''),
  };
}

/**
 * Same code, message type and operation as the RFC's response, and a version where it has one: the same
 * number for RFC 6503 §6 (one conference life from version 1), any for RFC 6504 (its flows start mid-life).
 */
function matches(reply: Reply, path: string, overrides: { operation?: string } = {}) {
  const want = { ...expected(path), ...overrides };
  expectCode(reply, want.code);
  expect(reply.xsiType).toBe(want.xsiType);
  // The gateway always emits the registered namespace.
  expect(reply.xsiTypeNamespace).toBe(NS.ccmp);
  expect(reply.operation).toBe(want.operation);
  if (path.startsWith('rfc6503/') || want.version === undefined || want.version === 1) {
    expect(reply.version).toBe(want.version);
  } else {
    expect(reply.version).toBeGreaterThan(0);
  }
}

describe('RFC 6503 §6 examples, replayed in order', () => {
  it('blueprints, blueprint, clone, update, users update, self join, third-party join, options, extended', async () => {
    const gw = testGateway();
    const send = (name: string, replace: [string, string][] = []) => {
      let body = fixture(`rfc6503/${name}`);
      for (const [from, to] of replace) body = body.replaceAll(from, to);
      return gw.send('alice', body);
    };

    const list = await send('s6.1-blueprints-request.xml');
    matches(list, 'rfc6503/s6.1-blueprints-response.xml');
    expect(all(list.payload('blueprintsInfo'), 'info:entry').map((e) => text(e, 'info:uri'))).toContain(
      'xcon:AudioRoom@example.com',
    );

    const blueprint = await send('s6.2-blueprint-retrieve-request.xml');
    matches(blueprint, 'rfc6503/s6.2-blueprint-retrieve-response.xml');
    expect(attr(blueprint.payload('blueprintInfo'), 'entity')).toBe('xcon:AudioRoom@example.com');

    const created = await send('s6.3-conf-create-clone-request.xml');
    matches(created, 'rfc6503/s6.3-conf-create-clone-response.xml');
    const conf = created.confObjID!;
    expect(attr(created.payload('confInfo'), 'entity')).toBe(conf);
    const ids: [string, string][] = [['xcon:8977794@example.com', conf]];

    const updated = await send('s6.4-conf-update-request.xml', ids);
    matches(updated, 'rfc6503/s6.4-conf-update-response.xml');
    const afterUpdate = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'retrieve', confObjID: conf }),
      200,
    );
    expect(text(afterUpdate.payload('confInfo'), 'info:conference-description/info:display-text')).toBe(
      "Alice's conference",
    );

    // The RFC's response says <operation>retrieve</operation>; the operation must be echoed (update).
    const users = await send('s6.5-users-update-request.xml', ids);
    matches(users, 'rfc6503/s6.5-users-update-response.xml', { operation: 'update' });

    const self = await send('s6.6-user-create-self-request.xml', ids);
    matches(self, 'rfc6503/s6.6-user-create-self-response.xml');
    expect(attr(self.payload('userInfo'), 'entity')).toBe(ALICE);

    const third = await send('s6.7-user-create-thirdparty-request.xml', ids);
    matches(third, 'rfc6503/s6.7-user-create-thirdparty-response.xml');
    expect(attr(third.payload('userInfo'), 'entity')?.toLowerCase()).toBe('xcon-userid:ciccio@example.com');

    const final = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'retrieve', confObjID: conf }),
      200,
    );
    expect(final.version).toBe(5);
    const finalUsers = final.payload('confInfo');
    const targetUris = all(finalUsers, 'info:users/xcon:allowed-users-list/xcon:target').map((t) =>
      attr(t, 'uri'),
    );
    const entities = all(finalUsers, 'info:users/info:user').map((u) => attr(u, 'entity'));
    // Every invitee of §6.5 got an XCON-USERID and a <user>, "dial out" became dial-out.
    for (const uri of targetUris) expect(entities).toContain(uri);
    expect(
      all(finalUsers, 'info:users/xcon:allowed-users-list/xcon:target').map((t) => attr(t, 'method')),
    ).toContain('dial-out');
    expect(entities).toContain('xcon-userid:carol@example.com');

    const options = await send('s6.8-options-request.xml');
    matches(options, 'rfc6503/s6.8-options-response.xml');

    // The example's extension is not registered here.
    const extended = await send('s6.9-extended-request.xml', ids);
    expectCode(extended, 501);
    expect(extended.xsiType).toBe('ccmp-extended-response-message-type');
    expect(text(extended.specialized, 'extensionName')).toBe('confRequestSummary');
  });
});

describe('RFC 6504 examples (namespace urn:ietf:params:xml:ns:xcon:ccmp)', () => {
  async function replay(gw: TestGateway, as: string, name: string, replace: [string, string][] = []) {
    let body = fixture(`rfc6504/${name}`);
    expect(body).toContain(NS.ccmp6504);
    for (const [from, to] of replace) body = body.replaceAll(from, to);
    return gw.send(as, body);
  }

  it('conference creation flows (§4.2, §5.1–§5.4)', async () => {
    const gw = testGateway();
    const audio = await replay(gw, 'alice', 's4.2-blueprint-retrieve-request.xml');
    matches(audio, 'rfc6504/s4.2-blueprint-retrieve-response.xml');

    const basic = await replay(gw, 'alice', 's5.1-conf-create-request.xml');
    matches(basic, 'rfc6504/s5.1-conf-create-response.xml');

    const list = await replay(gw, 'alice', 's5.2-blueprints-request.xml');
    matches(list, 'rfc6504/s5.2-blueprints-response.xml');
    expect(
      all(list.payload('blueprintsInfo'), 'info:entry')
        .map((e) => text(e, 'info:uri'))
        .sort(),
    ).toEqual(['xcon:default@example.com', 'xcon:VideoRoom@example.com'].sort());

    const video = await replay(gw, 'alice', 's5.2-blueprint-retrieve-request.xml');
    matches(video, 'rfc6504/s5.2-blueprint-retrieve-response.xml');

    const clone = await replay(gw, 'alice', 's5.2-conf-create-clone-blueprint-request.xml');
    matches(clone, 'rfc6504/s5.2-conf-create-clone-blueprint-response.xml');
    expect(text(clone.payload('confInfo'), 'info:conference-description/xcon:cloning-parent')).toBe(
      'xcon:VideoRoom@example.com',
    );

    const direct = await replay(gw, 'alice', 's5.3-conf-create-confinfo-request.xml');
    matches(direct, 'rfc6504/s5.3-conf-create-confinfo-response.xml');
    const registered = direct.confObjID!;
    const doc = direct.payload('confInfo');
    expect(text(doc, 'info:conference-description/info:display-text')).toBe(
      'Dial-out conference initiated by Alice',
    );
    expect(attr(one(doc, 'info:conference-description/info:available-media/info:entry'), 'label')).toMatch(
      /^[0-9]+$/,
    );
    // The values wrapped in line breaks (D2) are trimmed; the iCalendar text loses the markup's
    // indentation (an indented line would be a folded one) and keeps CRLF line ends.
    const time = one(doc, 'info:conference-description/xcon:conference-time/xcon:entry');
    expect(one(time, 'xcon:mixing-start-offset')?.textContent).toBe('2010-01-27T14:29:00Z');
    const ics = one(time, 'xcon:base')?.textContent ?? '';
    expect(ics.split('\r\n').slice(0, 4)).toEqual([
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Mozilla.org/NONSGML',
      '          Mozilla Calendar V1.0//EN',
    ]);
    expect(ics.endsWith('END:VCALENDAR\r\n')).toBe(true);
    const dialOut = all(doc, 'info:users/xcon:allowed-users-list/xcon:target').filter(
      (t) => attr(t, 'method') === 'dial-out',
    );
    expect(dialOut.map((t) => attr(t, 'uri'))).toEqual(
      expect.arrayContaining([ALICE, 'xcon-userid:bob83@example.com', CAROL]),
    );

    const cloned = await replay(gw, 'alice', 's5.4-conf-create-clone-conf-request.xml', [
      ['xcon:6845432@example.com', registered],
    ]);
    matches(cloned, 'rfc6504/s5.4-conf-create-clone-conf-response.xml');
    expect(text(cloned.payload('confInfo'), 'info:conference-description/xcon:cloning-parent')).toBe(
      registered,
    );
  });

  it('participant flows (§6.1–§6.5, §8.1, §8.2)', async () => {
    const gw = testGateway();
    const main = await gw.createConference('alice', { confInfo: confInfo(targets([[BOB]])) });
    const ids: [string, string][] = [['xcon:8977878@example.com', main]];

    const added = await replay(gw, 'alice', 's6.1-user-create-request.xml', ids);
    matches(added, 'rfc6504/s6.1-user-create-response.xml');
    expect(attr(added.payload('userInfo'), 'entity')).toBe('xcon-userid:bob83@example.com');

    // Basic credentials authenticate; the misplaced conference-password inside <subject> (D4) is ignored.
    const muted = await replay(gw, 'alice', 's6.2-user-update-mute-request.xml', ids);
    matches(muted, 'rfc6504/s6.2-user-update-mute-response.xml');
    const backendId = (await gw.stored(main)).backendId!;
    expect(gw.mock.conferences.get(backendId)?.media.get(BOB)).toEqual([
      { id: '1', label: '123', status: 'recvonly' },
    ]);

    const bobConf = await gw.createConference('bob');
    const joined = await replay(gw, 'alice', 's6.3-user-create-no-confuserid-request.xml', [
      ['xcon:bobConf@example.com', bobConf],
    ]);
    matches(joined, 'rfc6504/s6.3-user-create-no-confuserid-response.xml');
    expect(joined.confUserID).toBe(ALICE);

    // §6.5 as carol: alice is an administrator here, and administrators need no conference password.
    const locked = await gw.createConference('bob', {
      confInfo: confInfo(
        description(
          '<info:conf-uris><info:entry><xcon:conference-password>8601</xcon:conference-password></info:entry></info:conf-uris>',
        ) + targets([[CAROL]]),
      ),
    });
    const asCarol: [string, string][] = [
      ['xcon:8977794@example.com', locked],
      ['xcon-userid:Alice@example.com', CAROL],
    ];
    const refused = await replay(gw, 'carol', 's6.5-user-create-no-password-request.xml', asCarol);
    matches(refused, 'rfc6504/s6.5-user-create-423-response.xml');
    const entered = await replay(gw, 'carol', 's6.5-user-create-with-password-request.xml', asCarol);
    expectCode(entered, 200);
    expect(entered.version).toBe(2);

    // §8.1 and §8.2 act on the §5.2 conference (xcon:8977794).
    const video = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'create', confObjID: 'xcon:VideoRoom@example.com' }),
      200,
    ).confObjID!;
    expectCode(
      await gw.ccmp('alice', {
        type: 'user',
        operation: 'create',
        confObjID: video,
        body: `<userInfo entity="${BOB}"/>`,
      }),
      200,
    );
    const removed = await replay(gw, 'alice', 's8.1-user-delete-request.xml', [
      ['xcon:8977794@example.com', video],
    ]);
    matches(removed, 'rfc6504/s8.1-user-delete-response.xml');
    expect(removed.version).toBe(3);
    const deleted = await replay(gw, 'alice', 's8.2-conf-delete-request.xml', [
      ['xcon:8977794@example.com', video],
    ]);
    matches(deleted, 'rfc6504/s8.2-conf-delete-response.xml');
    expect(deleted.confObjID).toBe(video);
  });

  it('sidebar flows (§7.1–§7.4)', async () => {
    const gw = testGateway();
    const main = await gw.createConference('alice', { confInfo: confInfo(targets([[BOB]])) });
    const ids: [string, string][] = [['xcon:8977878@example.com', main]];

    const internal = await replay(gw, 'alice', 's7.1-sidebarbyval-create-request.xml', ids);
    matches(internal, 'rfc6504/s7.1-sidebarbyval-create-response.xml');
    const byVal = internal.confObjID!;
    expect(
      text(internal.payload('sidebarByValInfo'), 'info:conference-description/xcon:sidebar-parent'),
    ).toBe(main);
    const changed = await replay(gw, 'alice', 's7.1-sidebarbyval-update-request.xml', [
      ['xcon:8974545@example.com', byVal],
    ]);
    matches(changed, 'rfc6504/s7.1-sidebarbyval-update-response.xml');
    const bob = await replay(gw, 'bob', 's7.1-user-update-request.xml', [
      ['xcon:8974545@example.com', byVal],
    ]);
    matches(bob, 'rfc6504/s7.1-user-update-response.xml');

    const external = await replay(gw, 'alice', 's7.2-sidebarbyref-create-request.xml', ids);
    matches(external, 'rfc6504/s7.2-sidebarbyref-create-response.xml');
    const byRef = external.confObjID!;
    const refChanged = await replay(gw, 'alice', 's7.2-sidebarbyref-update-request.xml', [
      ['xcon:8971212@example.com', byRef],
    ]);
    matches(refChanged, 'rfc6504/s7.2-sidebarbyref-update-response.xml');
    const refDoc = expectCode(
      await gw.ccmp('alice', { type: 'sidebarByRef', operation: 'retrieve', confObjID: byRef }),
      200,
    );
    const entities = all(refDoc.payload('sidebarByRefInfo'), 'info:users/info:user').map((u) =>
      attr(u, 'entity'),
    );
    expect(entities).toContain('xcon-userid:fred@example.com');

    const chat = await replay(gw, 'alice', 's7.3-sidebarbyval-create-request.xml', ids);
    matches(chat, 'rfc6504/s7.3-sidebarbyval-create-response.xml');
    expect(text(chat.payload('sidebarByValInfo'), 'info:conference-description/info:display-text')).toBe(
      'private textual sidebar alice - bob',
    );

    const callCenter = await gw.createConference('alice', { confInfo: confInfo(targets([[BOB]])) });
    const coaching = await replay(gw, 'alice', 's7.4-sidebarbyref-create-request.xml', [
      ['xcon:8978383@example.com', callCenter],
    ]);
    matches(coaching, 'rfc6504/s7.4-sidebarbyref-create-response.xml');
    const coached = await replay(gw, 'alice', 's7.4-sidebarbyref-update-request.xml', [
      ['xcon:8971313@example.com', coaching.confObjID!],
    ]);
    matches(coached, 'rfc6504/s7.4-sidebarbyref-update-response.xml');

    const parent = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'retrieve', confObjID: main }),
      200,
    );
    expect(all(parent.payload('confInfo'), 'info:sidebars-by-val/info:entry')).toHaveLength(2);
    expect(all(parent.payload('confInfo'), 'info:sidebars-by-ref/info:entry')).toHaveLength(1);
    const list = expectCode(await gw.ccmp('bob', { type: 'sidebarsByVal', confObjID: main }), 200);
    expect(list.version).toBe(parent.version);
  });
});

describe('namespace prefixes', () => {
  const CCMP = NS.ccmp;
  async function check(body: string) {
    const gw = testGateway();
    const reply = expectCode(await gw.send('bob', body), 200);
    expect(reply.xsiType).toBe('ccmp-conf-response-message-type');
    expect(reply.confObjID).toMatch(/^xcon:/);
    expect(text(reply.payload('confInfo'), 'info:conference-description/info:subject')).toBe('Prefixes');
    // The answer uses the gateway's own prefixes and no default namespace.
    expect(reply.xml).toContain('<ccmp:ccmpResponse');
    expect(reply.xml).not.toMatch(/xmlns="/);
  }

  it('accepts any prefixes', async () => {
    await check(
      `<?xml version="1.0"?><c:ccmpRequest xmlns:c="${CCMP}" xmlns:ci="${NS.info}" xmlns:i="${NS.xsi}">` +
        `<ccmpRequest i:type="c:ccmp-conf-request-message-type"><confUserID>${BOB}</confUserID>` +
        '<operation>create</operation><c:confRequest><confInfo entity="xcon:AUTO_GENERATE_1@example.com">' +
        '<ci:conference-description><ci:subject>Prefixes</ci:subject></ci:conference-description>' +
        '</confInfo></c:confRequest></ccmpRequest></c:ccmpRequest>',
    );
  });

  it('accepts a default namespace for ccmp', async () => {
    await check(
      `<?xml version="1.0"?><ccmpRequest xmlns="${CCMP}" xmlns:ccmp="${CCMP}" xmlns:xsi="${NS.xsi}">` +
        `<ccmpRequest xmlns="" xsi:type="ccmp:ccmp-conf-request-message-type"><confUserID>${BOB}</confUserID>` +
        `<operation>create</operation><confRequest xmlns="${CCMP}"><confInfo xmlns="" entity="xcon:AUTO_GENERATE_1@example.com">` +
        `<conference-description xmlns="${NS.info}"><subject>Prefixes</subject></conference-description>` +
        '</confInfo></confRequest></ccmpRequest></ccmpRequest>',
    );
  });

  it('accepts the liblinphone prefixes (xcon-ccmp, conference-info)', async () => {
    await check(
      `<?xml version="1.0"?><xcon-ccmp:ccmpRequest xmlns:xcon-ccmp="${CCMP}" xmlns:conference-info="${NS.info}" ` +
        `xmlns:xsi="${NS.xsi}"><ccmpRequest xsi:type="xcon-ccmp:ccmp-conf-request-message-type">` +
        `<confUserID>${BOB}</confUserID><operation>create</operation><xcon-ccmp:confRequest>` +
        '<confInfo entity="xcon:AUTO_GENERATE_1@example.com"><conference-info:conference-description>' +
        '<conference-info:subject>Prefixes</conference-info:subject></conference-info:conference-description>' +
        '</confInfo></xcon-ccmp:confRequest></ccmpRequest></xcon-ccmp:ccmpRequest>',
    );
  });

  it('refuses a ccmpRequest in no namespace at HTTP level', async () => {
    const gw = testGateway();
    const res = await gw.http('<ccmpRequest><ccmpRequest/></ccmpRequest>', { as: 'bob' });
    expect(res.status).toBe(400);
  });
});
