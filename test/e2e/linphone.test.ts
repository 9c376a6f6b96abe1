/**
 * @module The five liblinphone requests of test/fixtures/linphone/, and the response rules of
 * linphone-client.md §3 (what the client needs to accept an answer).
 */
import { describe, expect, it } from 'vitest';
import type { Element } from '@xmldom/xmldom';
import {
  NS,
  all,
  attr,
  descendants,
  expectCode,
  fixture,
  one,
  tableDirectory,
  testGateway,
  text,
  type Reply,
  type TestGateway,
} from './_harness.ts';

const DOMAIN = 'sip.example.org';
const MARIE = 'xcon-userid:marie@sip.example.org';
const PAULINE = 'xcon-userid:pauline@sip.example.org';
const FIXTURE_URI = 'xcon:7f3c2a91@sip.example.org';

function linphoneGateway(): TestGateway {
  return testGateway({
    config: { domain: DOMAIN },
    directory: tableDirectory(DOMAIN, [
      { login: 'marie', displayName: 'Marie' },
      { login: 'pauline', displayName: 'Pauline' },
      { login: 'laure' },
      { login: 'michelle' },
    ]),
    mock: { focusUri: `sip:conference-focus@${DOMAIN}` },
  });
}

/** liblinphone sends no Accept header, only Content-Type (and From). */
function send(gw: TestGateway, as: string, name: string, uri?: string): Promise<Reply> {
  let body = fixture(`linphone/${name}`);
  if (uri) body = body.replaceAll(FIXTURE_URI, uri);
  return gw.send(as, body, { from: `sip:${as}@${DOMAIN}` });
}

/** Rules of linphone-client.md §3 that hold for every answer. */
function checkEnvelope(reply: Reply, type: 'conf' | 'confs', confUserID: string): void {
  expectCode(reply, 200);
  expect(reply.xsiType).toBe(`ccmp-${type}-response-message-type`);
  expect(reply.xsiTypeNamespace).toBe(NS.ccmp);
  expect(reply.confUserID).toBe(confUserID);
  expect(reply.specialized?.localName).toBe(`${type}Response`);
  expect(reply.specialized?.namespaceURI).toBe(NS.ccmp);
  // No default namespace: unqualified elements (confInfo, confsInfo) stay in no namespace.
  expect(reply.xml).not.toMatch(/xmlns="/);
  // Schema order of the common fields.
  const order = ['confUserID', 'confObjID', 'operation', 'response-code', 'response-string', 'version'];
  const seen = order.filter((name) => reply.xml.includes(`<${name}>`));
  const positions = seen.map((name) => reply.xml.indexOf(`<${name}>`));
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  expect(reply.version === undefined || reply.version > 0).toBe(true);
}

/** Rules for a conference document the client reads (create, update and retrieve answers). */
function checkDocument(reply: Reply): Element {
  const info = reply.payload('confInfo');
  expect(info).toBeDefined();
  // The xcon-conference-info namespace is bound to the prefix xcon, and to no other prefix.
  expect(reply.xml).toContain(`xmlns:xcon="${NS.xcon}"`);
  expect(reply.xml.match(new RegExp(`xmlns:[\\w-]+="${NS.xcon}"`, 'g'))).toHaveLength(1);
  for (const node of descendants(info, 'xcon:conference-time'))
    expect(node.nodeName).toBe('xcon:conference-time');
  for (const node of descendants(info, 'xcon:allowed-users-list'))
    expect(node.nodeName).toBe('xcon:allowed-users-list');
  // Exactly one conf-uris entry, a SIP URI.
  const uris = all(info, 'info:conference-description/info:conf-uris/info:entry');
  expect(uris).toHaveLength(1);
  expect(text(uris[0], 'info:uri')).toMatch(/^sips?:[^@\s]+@[^\s]+$/);
  // A status on every available-media entry.
  const media = all(info, 'info:conference-description/info:available-media/info:entry');
  expect(media.length).toBeGreaterThan(0);
  for (const entry of media)
    expect(text(entry, 'info:status')).toMatch(/^(sendrecv|sendonly|recvonly|inactive)$/);
  // Every target is exactly the entity of a user with a SIP URI in associated-aors.
  const users = all(info, 'info:users/info:user');
  const withSip = new Set(
    users
      .filter((u) =>
        all(u, 'info:associated-aors/info:entry/info:uri').some((e) => /^sips?:/.test(text(e) ?? '')),
      )
      .map((u) => attr(u, 'entity')),
  );
  const targets = all(info, 'info:users/xcon:allowed-users-list/xcon:target');
  expect(targets.length).toBeGreaterThan(0);
  for (const t of targets) expect(withSip).toContain(attr(t, 'uri'));
  for (const u of users) expect(attr(u, 'entity')).toBeTruthy();
  // The organizer is marked, and is the creator.
  const organizers = users.filter((u) =>
    all(u, 'info:roles/info:entry').some((e) => text(e) === 'organizer'),
  );
  expect(organizers.map((u) => attr(u, 'entity'))).toEqual([MARIE]);
  return info!;
}

function sipOf(info: Element, entity: string): string | undefined {
  const user = all(info, 'info:users/info:user').find((u) => attr(u, 'entity') === entity);
  return text(user, 'info:associated-aors/info:entry/info:uri');
}

/** CRs of the iCalendar text are written as character references, never as raw bytes. */
function checkCalendar(reply: Reply, info: Element): void {
  expect(reply.xml).not.toContain('\r');
  const base = one(info, 'info:conference-description/xcon:conference-time/xcon:entry/xcon:base');
  const raw = reply.xml.slice(reply.xml.indexOf('<xcon:base>'), reply.xml.indexOf('</xcon:base>'));
  expect(raw).toMatch(/BEGIN:VCALENDAR&#13;\n/);
  expect(raw).not.toMatch(/[^;]\n/);
  const ics = base?.textContent ?? '';
  expect(ics).toContain('DTSTART:20250701T090000Z\r\n');
  expect(ics).toContain('DURATION:PT1H\r\n');
  expect(ics.endsWith('END:VCALENDAR\r\n')).toBe(true);
}

describe('Linphone (liblinphone) requests', () => {
  it('create, update, list, retrieve and cancel one conference', async () => {
    const gw = linphoneGateway();

    // create
    const created = await send(gw, 'marie', 'create-request.xml');
    checkEnvelope(created, 'conf', MARIE);
    expect(created.operation).toBe('create');
    const uri = created.confObjID!;
    expect(uri).toMatch(/^xcon:[a-z2-7]+@sip\.example\.org$/);
    expect(created.version).toBe(1);
    let info = checkDocument(created);
    expect(attr(info, 'entity')).toBe(uri);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Weekly sync');
    expect(text(info, 'info:conference-description/info:free-text')).toBe('Agenda: roadmap & budget');
    expect(sipOf(info, MARIE)).toBe('sip:marie@sip.example.org');
    expect(sipOf(info, PAULINE)).toBe('sip:pauline@sip.example.org');
    expect(sipOf(info, 'xcon-userid:laure@sip.example.org')).toBe('sip:laure@sip.example.org');
    expect(text(info, 'info:conference-description/info:conf-uris/info:entry/info:uri')).toContain(DOMAIN);
    checkCalendar(created, info);

    // update: new subject, Michelle invited; the media sent again are not duplicated
    const updated = await send(gw, 'marie', 'update-request.xml', uri);
    checkEnvelope(updated, 'conf', MARIE);
    expect(updated.operation).toBe('update');
    expect(updated.confObjID).toBe(uri);
    expect(updated.version).toBe(2);
    if (updated.payload('confInfo')) checkDocument(updated);

    // list, as an invitee
    const listed = await send(gw, 'pauline', 'confs-request.xml');
    checkEnvelope(listed, 'confs', PAULINE);
    expect(listed.operation).toBeUndefined();
    const entries = all(listed.payload('confsInfo'), 'info:entry');
    expect(entries.map((e) => text(e, 'info:uri'))).toEqual([uri]);

    // retrieve, as an invitee: the strictest path
    const read = await send(gw, 'pauline', 'retrieve-request.xml', uri);
    checkEnvelope(read, 'conf', PAULINE);
    expect(read.operation).toBe('retrieve');
    expect(read.confObjID).toBe(uri);
    expect(read.version).toBe(2);
    info = checkDocument(read);
    expect(attr(info, 'entity')).toBe(uri);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Weekly sync (moved)');
    expect(sipOf(info, 'xcon-userid:michelle@sip.example.org')).toBe('sip:michelle@sip.example.org');
    const media = all(info, 'info:conference-description/info:available-media/info:entry');
    expect(media.map((m) => text(m, 'info:type'))).toEqual(['audio', 'video', 'text']);
    expect(media.map((m) => text(m, 'info:status'))).toEqual(['sendrecv', 'sendrecv', 'inactive']);
    checkCalendar(read, info);

    // cancel: a confResponse even for delete, and the confObjID
    const deleted = await send(gw, 'marie', 'delete-request.xml', uri);
    checkEnvelope(deleted, 'conf', MARIE);
    expect(deleted.operation).toBe('delete');
    expect(deleted.confObjID).toBe(uri);
    expect(deleted.version).toBeUndefined();
    expect(deleted.xml).toContain('<ccmp:confResponse/>');
    expectCode(await send(gw, 'pauline', 'retrieve-request.xml', uri), 404);
  });

  it('answers an immediate conference (DTSTART at the epoch, dial-out) the same way', async () => {
    const gw = linphoneGateway();
    const body = fixture('linphone/create-request.xml')
      .replace('DTSTART:20250701T090000Z', 'DTSTART:19700101T000000Z')
      .replaceAll('method="dial-in"', 'method="dial-out"');
    const created = await gw.send('marie', body);
    checkEnvelope(created, 'conf', MARIE);
    checkDocument(created);
  });
});
