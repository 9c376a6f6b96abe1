/**
 * @module The five liblinphone requests of test/fixtures/linphone/, and the response rules of
 * linphone-client.md §3 (what the client needs to accept an answer).
 */
import { describe, expect, it } from 'vitest';
import {
  all,
  attr,
  expectCode,
  fixture,
  tableDirectory,
  testGateway,
  text,
  type Reply,
  type TestGateway,
} from './_harness.ts';
import { aorOf, checkCalendar, checkDocument, checkEnvelope } from '../linphone/_linphone.ts';

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
    let info = checkDocument(created, MARIE);
    expect(attr(info, 'entity')).toBe(uri);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Weekly sync');
    expect(text(info, 'info:conference-description/info:free-text')).toBe('Agenda: roadmap & budget');
    expect(aorOf(info, MARIE)).toBe('sip:marie@sip.example.org');
    expect(aorOf(info, PAULINE)).toBe('sip:pauline@sip.example.org');
    expect(aorOf(info, 'xcon-userid:laure@sip.example.org')).toBe('sip:laure@sip.example.org');
    expect(text(info, 'info:conference-description/info:conf-uris/info:entry/info:uri')).toContain(DOMAIN);
    checkCalendar(created, info, '20250701T090000Z', 'PT1H');

    // update: new subject, Michelle invited; the media sent again are not duplicated
    const updated = await send(gw, 'marie', 'update-request.xml', uri);
    checkEnvelope(updated, 'conf', MARIE);
    expect(updated.operation).toBe('update');
    expect(updated.confObjID).toBe(uri);
    expect(updated.version).toBe(2);
    if (updated.payload('confInfo')) checkDocument(updated, MARIE);

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
    info = checkDocument(read, MARIE);
    expect(attr(info, 'entity')).toBe(uri);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Weekly sync (moved)');
    expect(aorOf(info, 'xcon-userid:michelle@sip.example.org')).toBe('sip:michelle@sip.example.org');
    const media = all(info, 'info:conference-description/info:available-media/info:entry');
    expect(media.map((m) => text(m, 'info:type'))).toEqual(['audio', 'video', 'text']);
    expect(media.map((m) => text(m, 'info:status'))).toEqual(['sendrecv', 'sendrecv', 'inactive']);
    checkCalendar(read, info, '20250701T090000Z', 'PT1H');

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
    checkDocument(created, MARIE);
  });
});
