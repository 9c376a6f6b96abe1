/**
 * @module Linphone against the gateway on the Flexisip conference server's database, shared by the
 * SQLite and MariaDB test files.
 *
 * The gateway runs with the Flexisip connector, a directory of the domain's SIP accounts and HTTP
 * Digest with an HA1 file, as an operator would set it up for Linphone. The five requests of
 * test/fixtures/linphone/ are replayed as Linphone sends them; every answer is checked against the
 * rules of linphone-client.md §3, and the rows against what the conference server looks up.
 * Conferences the server holds but the gateway did not create (Linphone creates them over SIP) are
 * written into the database directly, as the server writes them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import flexisipConnector from '../../connectors/flexisip.ts';
import type { Connector } from '../../connectors/types.ts';
import { digestSchemes } from '../../src/auth/digest.ts';
import { parseHa1File, withHa1Table } from '../../src/auth/ha1.ts';
import { configureBackendSync } from '../../src/core/backend-sync.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { memoryLogger } from '../../src/log.ts';
import { webPlatform, type Platform } from '../../src/platform.ts';
import { memoryStore } from '../../src/store/memory.ts';
import type { ConferenceStore } from '../../src/store/types.ts';
import type { RawDb, TestDatabase } from '../connectors/_flexisip-cases.ts';
import { all, expectCode, tableDirectory, text } from '../e2e/_harness.ts';
import {
  DOMAIN,
  FOCUS,
  LinphoneClient,
  aorOf,
  checkCalendar,
  checkDocument,
  checkEnvelope,
  described,
  hash,
  joinUriOf,
  linphoneRequest,
  listed,
  rolesOf,
  sipOf,
  xconId,
} from './_linphone.ts';

export type { TestDatabase };

/** The SIP accounts of the domain, with their passwords (never equal to the login). */
export const PASSWORDS: Record<string, string> = {
  marie: 'marie-pw-1',
  pauline: 'pauline-pw-2',
  laure: 'laure-pw-3',
  michelle: 'michelle-pw-4',
};

/** An HA1 file as exported from a Flexisip accounts database: one line per user and algorithm. */
export function ha1FileText(passwords: Record<string, string> = PASSWORDS, realm = DOMAIN): string {
  const lines = ['# user:realm:ha1'];
  for (const [user, password] of Object.entries(passwords)) {
    lines.push(`${user}:${realm}:${hash('MD5', `${user}:${realm}:${password}`)}`);
    lines.push(`${user}:${realm}:${hash('SHA-256', `${user}:${realm}:${password}`)}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface LinphoneGateway {
  app: Gateway;
  logger: ReturnType<typeof memoryLogger>;
  client(user: string, options?: ConstructorParameters<typeof LinphoneClient>[2]): LinphoneClient;
}

/** The gateway as set up for Linphone: the SIP domain, Digest in the SIP realm with an HA1 file. */
export function linphoneGateway(options: {
  connectors: Connector[];
  ha1File: string;
  platform?: Platform;
  store?: ConferenceStore;
}): LinphoneGateway {
  const directory = withHa1Table(
    tableDirectory(DOMAIN, [
      { login: 'marie', displayName: 'Marie' },
      { login: 'pauline', displayName: 'Pauline' },
      { login: 'laure' },
      { login: 'michelle' },
    ]),
    parseHa1File(readFileSync(options.ha1File, 'utf8'), options.ha1File),
  );
  const platform = options.platform ?? webPlatform;
  const logger = memoryLogger();
  const app = createGateway({
    store: options.store ?? memoryStore(),
    directory,
    schemes: digestSchemes({
      directory,
      realm: DOMAIN,
      now: () => platform.now(),
      randomBytes: (n) => platform.randomBytes(n),
    }),
    connectors: options.connectors,
    config: { domain: DOMAIN },
    platform,
    logger,
  });
  return {
    app,
    logger,
    client: (user, clientOptions) =>
      new LinphoneClient(app, { user, password: PASSWORDS[user] ?? '' }, clientOptions),
  };
}

/** A temporary HA1 file; removed with `cleanup`. */
export async function temporaryHa1File(
  text = ha1FileText(),
): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ccmp-linphone-'));
  const path = join(dir, 'ha1.txt');
  await writeFile(path, text, { mode: 0o600 });
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A connector that counts its listings. */
export function countingListings(connector: Connector): Connector & { listings: number } {
  const counted = { ...connector, listings: 0 };
  if (connector.listConferences) {
    counted.listConferences = async () => {
      counted.listings++;
      return (await connector.listConferences?.()) ?? [];
    };
  }
  return counted;
}

// ---------------------------------------------------------------------------------------------
// The server's rows

interface ConferenceRow {
  id: number;
  organizer: string;
  start_epoch: number | null;
  duration: number;
  subject: string;
  description: string | null;
  state: number;
  ics_sequence: number;
  ccmp_uri: string;
  audio: number;
  video: number;
  chat: number;
}

interface ParticipantRow {
  uri: string;
  deleted: number;
  ccmp_uri: string;
  is_organizer: number;
  role: string | null;
}

export function rows(raw: RawDb) {
  const epoch = (column: string) =>
    raw.dialect === 'sqlite' ? `CAST(strftime('%s', ${column}) AS INTEGER)` : `UNIX_TIMESTAMP(${column})`;
  const at = (iso: string): string | number =>
    raw.dialect === 'sqlite' ? iso.slice(0, 19).replace('T', ' ') : Date.parse(iso) / 1000;
  const ts = raw.dialect === 'sqlite' ? '?' : 'FROM_UNIXTIME(?)';
  const insertIgnore = raw.dialect === 'sqlite' ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
  const addressId = async (value: string) =>
    Number(
      (await raw.all<{ id: number | string }>('SELECT id FROM sip_address WHERE value = ?', [value]))[0]?.id,
    );

  return {
    async conference(uri: string): Promise<ConferenceRow | undefined> {
      // UNIX_TIMESTAMP may come back as a decimal string from MySQL.
      const found = await raw.all<
        Omit<ConferenceRow, 'start_epoch'> & { start_epoch: number | string | null }
      >(
        `SELECT ci.id, o.value AS organizer, ${epoch('ci.start_time')} AS start_epoch, ci.duration, ci.subject,
           ci.description, ci.state, ci.ics_sequence, ci.ccmp_uri, ci.audio, ci.video, ci.chat
         FROM conference_info ci
         JOIN sip_address a ON a.id = ci.uri_sip_address_id
         JOIN sip_address o ON o.id = ci.organizer_sip_address_id
         WHERE a.value = ?`,
        [uri],
      );
      expect(found.length).toBeLessThanOrEqual(1);
      const row = found[0];
      return row && { ...row, start_epoch: row.start_epoch === null ? null : Number(row.start_epoch) };
    },

    async participants(conferenceId: number): Promise<ParticipantRow[]> {
      return raw.all<ParticipantRow>(
        `SELECT s.value AS uri, p.deleted, p.ccmp_uri, p.is_organizer, r.value AS role
         FROM conference_info_participant p
         JOIN sip_address s ON s.id = p.participant_sip_address_id
         LEFT JOIN conference_info_participant_params r
           ON r.conference_info_participant_id = p.id AND r.name = 'X-ROLE'
         WHERE p.conference_info_id = ? ORDER BY s.value`,
        [conferenceId],
      );
    },

    async count(table: string): Promise<number> {
      return (await raw.all(`SELECT id FROM ${table}`)).length;
    },

    /**
     * A conference as the conference server writes it when a Linphone client creates one over SIP
     * (MainDbPrivate::insertConferenceInfo): a server-made conf-id, no ccmp_uri anywhere, the organizer
     * among the participants, roles in X-ROLE params or in the legacy params column.
     */
    async insertNative(c: {
      confId: string;
      organizer: string;
      invitees: { user: string; role?: 'speaker' | 'listener'; legacy?: boolean; deleted?: boolean }[];
      start: string;
      minutes: number;
      subject: string;
      description: string;
      video: boolean;
    }): Promise<string> {
      const uri = `${FOCUS};conf-id=${c.confId}`;
      const people = [c.organizer, ...c.invitees.map((i) => i.user)];
      await raw.run(`INSERT INTO sip_address (value) VALUES (?)`, [uri]);
      for (const user of people) {
        await raw.run(`${insertIgnore} INTO sip_address (value, display_name) VALUES (?, NULL)`, [
          sipOf(user),
        ]);
      }
      const end = new Date(Date.parse(c.start) + c.minutes * 60_000).toISOString();
      await raw.run(
        `INSERT INTO conference_info (organizer_sip_address_id, uri_sip_address_id, start_time, duration, subject,
           description, state, ics_sequence, ics_uid, security_level, ccmp_uri, audio, video, chat,
           earlier_joining_time, expiry_time)
         VALUES (?, ?, ${ts}, ?, ?, ?, 0, 0, '', 0, '', 1, ?, 0, NULL, ${ts})`,
        [
          await addressId(sipOf(c.organizer)),
          await addressId(uri),
          at(c.start),
          c.minutes,
          c.subject,
          c.description,
          c.video ? 1 : 0,
          at(end),
        ],
      );
      const conferenceId = (await this.conference(uri))?.id;
      const participant = async (user: string, organizer: boolean, deleted: boolean, params: string) =>
        raw.run(
          `INSERT INTO conference_info_participant (conference_info_id, participant_sip_address_id, deleted, params,
             is_participant, ccmp_uri, is_organizer) VALUES (?, ?, ?, ?, 1, '', ?)`,
          [conferenceId ?? null, await addressId(sipOf(user)), deleted ? 1 : 0, params, organizer ? 1 : 0],
        );
      await participant(c.organizer, true, false, '');
      for (const i of c.invitees) {
        await participant(
          i.user,
          false,
          i.deleted ?? false,
          i.legacy ? `X-ROLE=${i.role ?? 'speaker'};X-SEQ=1` : '',
        );
        if (!i.legacy && i.role) {
          const [p] = await raw.all<{ id: number }>(
            `SELECT p.id FROM conference_info_participant p JOIN sip_address s ON s.id = p.participant_sip_address_id
             WHERE p.conference_info_id = ? AND s.value = ?`,
            [conferenceId ?? null, sipOf(i.user)],
          );
          await raw.run(
            'INSERT INTO conference_info_participant_params (conference_info_participant_id, name, value) VALUES (?, ?, ?)',
            [p?.id ?? null, 'X-ROLE', i.role],
          );
        }
      }
      return uri;
    },

    /** What the server does when the conference is cancelled over SIP, or cleaned up after expiry. */
    async setState(uri: string, state: number): Promise<void> {
      await raw.run(
        'UPDATE conference_info SET state = ? WHERE uri_sip_address_id = (SELECT id FROM sip_address WHERE value = ?)',
        [state, uri],
      );
    },

    async setSubject(uri: string, subject: string): Promise<void> {
      await raw.run(
        'UPDATE conference_info SET subject = ? WHERE uri_sip_address_id = (SELECT id FROM sip_address WHERE value = ?)',
        [subject, uri],
      );
    },

    async remove(uri: string): Promise<void> {
      const id = (await this.conference(uri))?.id ?? null;
      await raw.run(
        `DELETE FROM conference_info_participant_params WHERE conference_info_participant_id IN
           (SELECT id FROM conference_info_participant WHERE conference_info_id = ?)`,
        [id],
      );
      await raw.run('DELETE FROM conference_info_participant WHERE conference_info_id = ?', [id]);
      await raw.run('DELETE FROM conference_info WHERE id = ?', [id]);
    },
  };
}

/** The connector's mirror of the conference server's settings (cleanup off: required with MariaDB). */
const SERVER_OPTIONS = { focusUri: FOCUS, sipDomain: DOMAIN, cleanupExpiredConferences: false } as const;

const participant = (user: string, organizer: boolean, role: string, ccmp = true) => ({
  uri: sipOf(user),
  deleted: 0,
  ccmp_uri: ccmp ? xconId(user) : '',
  is_organizer: organizer ? 1 : 0,
  role,
});

const MARIE = xconId('marie');
const PAULINE = xconId('pauline');
const LAURE = xconId('laure');
const MICHELLE = xconId('michelle');

export function describeLinphoneOnFlexisip(name: string, newDatabase: () => Promise<TestDatabase>): void {
  describe(`Linphone on the Flexisip conference server (${name})`, () => {
    let db: TestDatabase;
    let connector: Connector & { listings: number };
    let ha1: Awaited<ReturnType<typeof temporaryHa1File>>;
    let gw: LinphoneGateway;
    let server: ReturnType<typeof rows>;
    const closing: Connector[] = [];

    beforeAll(async () => {
      db = await newDatabase();
      server = rows(db.raw);
      ha1 = await temporaryHa1File();
      const flexisip = flexisipConnector({ ...SERVER_OPTIONS, database: db.url });
      closing.push(flexisip);
      await flexisip.check?.();
      connector = countingListings(flexisip);
      gw = linphoneGateway({ connectors: [connector], ha1File: ha1.path });
      // Every list and unknown retrieve looks at the database again: no waiting in tests.
      configureBackendSync(gw.app.deps, { minIntervalMs: 0 });
    }, 60_000);

    afterAll(async () => {
      for (const c of closing) await c.close?.();
      await db?.raw.close();
      await ha1?.cleanup();
    });

    it('replays the five Linphone requests, answering every §3 rule, on rows the server can use', async () => {
      const marie = gw.client('marie');
      const pauline = gw.client('pauline', { algorithm: 'SHA-256' });

      // create: a first request without credentials is challenged, the answer computed from the password
      const first = await marie.send(linphoneRequest('create-request.xml', 'marie'));
      expect(first.statuses).toEqual([401, 200]);
      const created = first.reply;
      checkEnvelope(created, 'conf', MARIE);
      expect(created.operation).toBe('create');
      expect(created.version).toBe(1);
      const uri = created.confObjID ?? '';
      expect(uri).toMatch(/^xcon:[a-z2-7]+@sip\.example\.org$/);
      let info = checkDocument(created, MARIE);
      expect(described(info)).toEqual({ subject: 'Weekly sync', description: 'Agenda: roadmap & budget' });
      for (const user of ['marie', 'pauline', 'laure']) expect(aorOf(info, xconId(user))).toBe(sipOf(user));
      checkCalendar(created, info, '20250701T090000Z', 'PT1H');
      const joinUri = joinUriOf(info) ?? '';
      expect(joinUri).toMatch(/^sip:conference-focus@sip\.example\.org;conf-id=[0-9a-f]{32}$/);

      // the row the conference server looks the conf-id up in
      const row = await server.conference(joinUri);
      expect(row).toMatchObject({
        organizer: sipOf('marie'),
        start_epoch: Date.parse('2025-07-01T09:00:00Z') / 1000,
        duration: 60,
        subject: 'Weekly sync',
        description: 'Agenda: roadmap & budget',
        state: 0,
        ics_sequence: 0,
        ccmp_uri: uri,
        audio: 1,
        video: 1,
        chat: 0,
      });
      expect(await server.participants(row!.id)).toEqual([
        participant('laure', false, 'speaker'),
        participant('marie', true, 'speaker'),
        participant('pauline', false, 'speaker'),
      ]);

      // update: new subject, Michelle invited (the nonce is reused with the next count: no new challenge)
      const second = await marie.send(linphoneRequest('update-request.xml', 'marie', uri));
      expect(second.statuses).toEqual([200]);
      const updated = second.reply;
      checkEnvelope(updated, 'conf', MARIE);
      expect(updated.operation).toBe('update');
      expect(updated.confObjID).toBe(uri);
      expect(updated.version).toBe(2);
      checkDocument(updated, MARIE);
      expect(await server.conference(joinUri)).toMatchObject({
        id: row!.id,
        subject: 'Weekly sync (moved)',
        state: 1,
        ics_sequence: 1,
        ccmp_uri: uri,
      });
      expect(await server.participants(row!.id)).toEqual([
        participant('laure', false, 'speaker'),
        participant('marie', true, 'speaker'),
        participant('michelle', false, 'speaker'),
        participant('pauline', false, 'speaker'),
      ]);

      // list, as an invitee (SHA-256 this time)
      const list = await pauline.fixture('confs-request.xml');
      checkEnvelope(list, 'confs', PAULINE);
      expect(list.operation).toBeUndefined();
      expect(listed(list)).toEqual([uri]);

      // retrieve, as an invitee: the strictest path
      const read = await pauline.fixture('retrieve-request.xml', uri);
      checkEnvelope(read, 'conf', PAULINE);
      expect(read.operation).toBe('retrieve');
      expect(read.confObjID).toBe(uri);
      expect(read.version).toBe(2);
      info = checkDocument(read, MARIE);
      expect(joinUriOf(info)).toBe(joinUri);
      expect(described(info)).toEqual({
        subject: 'Weekly sync (moved)',
        description: 'Agenda: roadmap & budget',
      });
      expect(aorOf(info, MICHELLE)).toBe(sipOf('michelle'));
      checkCalendar(read, info, '20250701T090000Z', 'PT1H');

      // cancel: a confResponse even for delete; the row is gone, so callers of the URI get 404
      const deleted = await marie.fixture('delete-request.xml', uri);
      checkEnvelope(deleted, 'conf', MARIE);
      expect(deleted.operation).toBe('delete');
      expect(deleted.confObjID).toBe(uri);
      expect(deleted.xml).toContain('<ccmp:confResponse/>');
      expect(await server.conference(joinUri)).toBeUndefined();
      expect(await server.participants(row!.id)).toEqual([]);
      expectCode(await pauline.fixture('retrieve-request.xml', uri), 404);
      expect(listed(await pauline.fixture('confs-request.xml'))).toEqual([]);
    });

    it('lists and retrieves a conference the server holds natively, and follows its row', async () => {
      const pauline = gw.client('pauline');
      const laure = gw.client('laure');
      const joinUri = await server.insertNative({
        confId: 'Qm7-xK~2vR9aLp0TzW4cYb6NdE1fHj3',
        organizer: 'laure',
        invitees: [
          { user: 'pauline', role: 'speaker' },
          { user: 'michelle', role: 'listener', legacy: true },
          { user: 'marie', deleted: true },
        ],
        start: '2030-09-01T08:00:00Z',
        minutes: 90,
        subject: 'Server-side sync',
        description: 'Made on a phone',
        video: false,
      });

      // The invitee's list names it under a new XCON-URI of the gateway's domain.
      const list = await pauline.fixture('confs-request.xml');
      checkEnvelope(list, 'confs', PAULINE);
      const [uri = ''] = listed(list);
      expect(listed(list)).toEqual([uri]);
      expect(uri).toMatch(/^xcon:[a-z2-7]{16}@sip\.example\.org$/);
      // Marie was invited, then removed: she does not see it.
      expect(listed(await gw.client('marie').fixture('confs-request.xml'))).toEqual([]);

      // Retrieving it gives a conference object Linphone can store (schema-valid, every §3 rule).
      const read = await pauline.fixture('retrieve-request.xml', uri);
      checkEnvelope(read, 'conf', PAULINE);
      expect(read.confObjID).toBe(uri);
      expect(read.version).toBe(1);
      const info = checkDocument(read, LAURE);
      expect(joinUriOf(info)).toBe(joinUri);
      expect(described(info)).toEqual({ subject: 'Server-side sync', description: 'Made on a phone' });
      checkCalendar(read, info, '20300901T080000Z', 'PT1H30M');
      expect(aorOf(info, LAURE)).toBe(sipOf('laure'));
      expect(aorOf(info, PAULINE)).toBe(sipOf('pauline'));
      expect(aorOf(info, MICHELLE)).toBe(sipOf('michelle'));
      expect(aorOf(info, MARIE)).toBeUndefined();
      expect(rolesOf(info, MICHELLE)).toEqual(['observer']);
      const media = all(info, 'info:conference-description/info:available-media/info:entry');
      expect(media.map((m) => [text(m, 'info:type'), text(m, 'info:status')])).toEqual([
        ['audio', 'sendrecv'],
        ['video', 'inactive'],
        ['text', 'inactive'],
      ]);

      // The row now names its XCON-URI and its users' XCON-USERIDs; nothing the server uses changed.
      const row = await server.conference(joinUri);
      expect(row).toMatchObject({
        organizer: sipOf('laure'),
        start_epoch: Date.parse('2030-09-01T08:00:00Z') / 1000,
        duration: 90,
        subject: 'Server-side sync',
        description: 'Made on a phone',
        ccmp_uri: uri,
        audio: 1,
        video: 0,
        chat: 0,
      });
      expect(await server.participants(row!.id)).toEqual([
        participant('laure', true, 'speaker'),
        { ...participant('marie', false, null as unknown as string, false), deleted: 1 },
        participant('michelle', false, 'listener'),
        participant('pauline', false, 'speaker'),
      ]);

      // Listing again changes nothing: same object, same version.
      expect(listed(await pauline.fixture('confs-request.xml'))).toEqual([uri]);
      expect((await pauline.fixture('retrieve-request.xml', uri)).version).toBe(1);

      // The server changes the row (an update over SIP): the object follows.
      await server.setSubject(joinUri, 'Server-side sync (moved)');
      await pauline.fixture('confs-request.xml');
      const moved = await pauline.fixture('retrieve-request.xml', uri);
      expect(moved.version).toBe(2);
      expect(described(checkDocument(moved, LAURE)).subject).toBe('Server-side sync (moved)');

      // Its organizer updates it from Linphone, like any other: the same row is updated in place.
      const update = await laure.fixture('update-request.xml', uri);
      checkEnvelope(update, 'conf', LAURE);
      expect(update.version).toBe(3);
      checkDocument(update, LAURE);
      expect(await server.conference(joinUri)).toMatchObject({
        id: row!.id,
        subject: 'Weekly sync (moved)',
        start_epoch: Date.parse('2025-07-01T09:00:00Z') / 1000,
        duration: 60,
        ccmp_uri: uri,
        video: 1,
      });
      // What the gateway wrote itself is not taken for a change on the server.
      await pauline.fixture('confs-request.xml');
      expect((await pauline.fixture('retrieve-request.xml', uri)).version).toBe(3);

      // And cancels it: the row goes, the object too.
      const cancelled = await laure.fixture('delete-request.xml', uri);
      checkEnvelope(cancelled, 'conf', LAURE);
      expect(cancelled.xml).toContain('<ccmp:confResponse/>');
      expect(await server.conference(joinUri)).toBeUndefined();
      expect(listed(await pauline.fixture('confs-request.xml'))).toEqual([]);
      expectCode(await pauline.fixture('retrieve-request.xml', uri), 404);
    });

    it('drops a native conference once the server removes or cancels it', async () => {
      const pauline = gw.client('pauline');
      const native = (confId: string) =>
        server.insertNative({
          confId,
          organizer: 'marie',
          invitees: [{ user: 'pauline' }],
          start: '2030-10-01T10:00:00Z',
          minutes: 30,
          subject: `Native ${confId}`,
          description: '',
          video: true,
        });
      const removed = await native('removed-by-cleanup');
      const cancelled = await native('cancelled-over-sip');
      const uris = listed(await pauline.fixture('confs-request.xml'));
      expect(uris).toHaveLength(2);
      const subjects = await Promise.all(
        uris.map(
          async (u) =>
            described(checkDocument(await pauline.fixture('retrieve-request.xml', u), MARIE)).subject,
        ),
      );
      expect(subjects.sort()).toEqual(['Native cancelled-over-sip', 'Native removed-by-cleanup']);

      await server.remove(removed);
      await server.setState(cancelled, 2);
      expect(listed(await pauline.fixture('confs-request.xml'))).toEqual([]);
      for (const u of uris) expectCode(await pauline.fixture('retrieve-request.xml', u), 404);
      expect(gw.logger.records.filter((r) => r.event === 'backend_sync.dropped')).toHaveLength(2);
    });

    it('drops, after a restart, a native conference whose row went away while the gateway was down', async () => {
      const store = memoryStore();
      const before = linphoneGateway({ connectors: [connector], ha1File: ha1.path, store });
      configureBackendSync(before.app.deps, { minIntervalMs: 0 });
      const joinUri = await server.insertNative({
        confId: 'gone-while-down',
        organizer: 'marie',
        invitees: [{ user: 'laure' }],
        start: '2030-12-01T10:00:00Z',
        minutes: 15,
        subject: 'Gone while down',
        description: '',
        video: true,
      });
      const [uri = ''] = listed(await before.client('laure').fixture('confs-request.xml'));
      expect(uri).not.toBe('');

      // The gateway stops; the server cleans the conference up; a new gateway process starts on the same store.
      await server.remove(joinUri);
      const after = linphoneGateway({ connectors: [connector], ha1File: ha1.path, store });
      configureBackendSync(after.app.deps, { minIntervalMs: 0 });
      expect(listed(await after.client('laure').fixture('confs-request.xml'))).toEqual([]);
      expectCode(await after.client('laure').fixture('retrieve-request.xml', uri), 404);
      expect(await store.get(uri)).toBeUndefined();
    });

    it('finds a native conference by its XCON-URI from another gateway instance (retrieve of an unknown URI)', async () => {
      const joinUri = await server.insertNative({
        confId: 'shared-by-two-gateways',
        organizer: 'michelle',
        invitees: [{ user: 'pauline' }],
        start: '2030-11-01T10:00:00Z',
        minutes: 45,
        subject: 'Seen from two gateways',
        description: 'One database, two stores',
        video: true,
      });
      const [uri = ''] = listed(await gw.client('michelle').fixture('confs-request.xml'));
      expect((await server.conference(joinUri))?.ccmp_uri).toBe(uri);

      // A second gateway on the same database, with a store of its own that has never seen it.
      const flexisip = flexisipConnector({ ...SERVER_OPTIONS, database: db.url });
      closing.push(flexisip);
      const other = linphoneGateway({ connectors: [flexisip], ha1File: ha1.path });
      configureBackendSync(other.app.deps, { minIntervalMs: 0, adoptAfterMs: 0 });
      const read = await other.client('pauline').fixture('retrieve-request.xml', uri);
      checkEnvelope(read, 'conf', PAULINE);
      expect(read.confObjID).toBe(uri);
      const info = checkDocument(read, MICHELLE);
      expect(joinUriOf(info)).toBe(joinUri);
      expect(described(info).subject).toBe('Seen from two gateways');
      checkCalendar(read, info, '20301101T100000Z', 'PT45M');

      await server.remove(joinUri);
      for (const g of [gw, other]) {
        expect(listed(await g.client('pauline').fixture('confs-request.xml'))).toEqual([]);
      }
    });

    it('syncs lazily: at most once per interval, never twice at once, not for known conferences', async () => {
      let clock = Date.parse('2030-01-01T00:00:00Z');
      const platform: Platform = { ...webPlatform, now: () => clock };
      const flexisip = flexisipConnector({ ...SERVER_OPTIONS, database: db.url });
      closing.push(flexisip);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      // The listing waits until released, so the requests below all arrive while it runs.
      const counted = countingListings({
        ...flexisip,
        listConferences: async () => {
          await gate;
          return (await flexisip.listConferences?.()) ?? [];
        },
      });
      const slow = linphoneGateway({ connectors: [counted], ha1File: ha1.path, platform });
      configureBackendSync(slow.app.deps, { minIntervalMs: 60_000 });
      const pauline = slow.client('pauline');
      const unknown = 'xcon:nosuchconference@sip.example.org';

      // Five lists at once: one run, the others wait for it.
      const first = Promise.all(Array.from({ length: 5 }, () => pauline.fixture('confs-request.xml')));
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      for (const reply of await first) checkEnvelope(reply, 'confs', PAULINE);
      expect(counted.listings).toBe(1);

      // Within the interval: neither a list nor a retrieve of an unknown URI looks again.
      await pauline.fixture('confs-request.xml');
      expectCode(await pauline.fixture('retrieve-request.xml', unknown), 404);
      expect(counted.listings).toBe(1);

      clock += 60_000;
      expectCode(await pauline.fixture('retrieve-request.xml', unknown), 404);
      expect(counted.listings).toBe(2);
      clock += 60_000;
      await pauline.fixture('confs-request.xml');
      expect(counted.listings).toBe(3);
    });
  });
}
