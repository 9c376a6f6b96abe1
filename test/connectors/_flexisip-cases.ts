/**
 * @module Row-level tests of the Flexisip connector, shared by the SQLite and MariaDB test files.
 *
 * The contract suite proves the lifecycle; these prove the rows are exactly what the conference
 * server looks up (canonical URIs, UTC times, minutes, sequence, ccmp_uri columns), that rows the
 * server wrote itself are read back, and that `check()` names what is missing.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import flexisipConnector, { type FlexisipConnectorOptions } from '../../connectors/flexisip.ts';
import { ConnectorError, type ConferenceSpec, type Connector } from '../../connectors/types.ts';
import { sampleSpec } from './_suite.ts';

/** Direct access to the test database, bypassing the connector. */
export interface RawDb {
  dialect: 'sqlite' | 'mysql';
  all<T extends object>(sql: string, params?: (string | number | null)[]): Promise<T[]>;
  run(sql: string, params?: (string | number | null)[]): Promise<void>;
  close(): Promise<void>;
}

export interface TestDatabase {
  /** The connector's `database` option. */
  url: string;
  raw: RawDb;
}

const DOMAIN = 'sip.example.org';
export const BASE_OPTIONS = {
  // A port and unsorted parameters: the stored form must drop the one and sort the others.
  focusUri: `sip:conference-focus@${DOMAIN}:5060;transport=tcp`,
  sipDomain: DOMAIN,
  conferencesAvailabilityBeforeStart: '15min',
  conferencesExpiryTime: '30d',
  cleanupExpiredConferences: false,
} satisfies Omit<FlexisipConnectorOptions, 'database'>;

const user = (name: string, roles = ['participant']): ConferenceSpec['participants'][number] => ({
  userId: `xcon-userid:${name}@${DOMAIN}`,
  sipUri: `sip:${name}@${DOMAIN}`,
  roles,
  method: 'dial-in',
});

function weeklySync(overrides: Partial<ConferenceSpec> = {}): ConferenceSpec {
  return sampleSpec({
    uri: `xcon:weekly-${Math.random().toString(36).slice(2)}@${DOMAIN}`,
    subject: 'Weekly sync',
    description: 'Agenda: roadmap & budget',
    organizer: `xcon-userid:marie@${DOMAIN}`,
    schedule: { start: '2030-07-01T09:00:00Z', durationMinutes: 60 },
    participants: [user('marie', ['organizer']), user('pauline'), user('laure', ['observer'])],
    ...overrides,
  });
}

interface ConferenceRow {
  id: number;
  organizer: string;
  start_time: string | null;
  start_epoch: number | null;
  duration: number;
  subject: string;
  description: string | null;
  state: number;
  ics_sequence: number;
  ics_uid: string;
  security_level: number;
  ccmp_uri: string;
  audio: number;
  video: number;
  chat: number;
  earlier_joining_time: string | null;
  expiry_time: string | null;
}

interface ParticipantRow {
  id: number;
  uri: string;
  deleted: number;
  params: string;
  is_participant: number;
  ccmp_uri: string;
  is_organizer: number;
  role: string | null;
}

const withoutId = (row: ParticipantRow) =>
  Object.fromEntries(Object.entries(row).filter(([key]) => key !== 'id'));

export function describeFlexisipRows(name: string, newDatabase: () => Promise<TestDatabase>): void {
  describe(`flexisip connector rows: ${name}`, () => {
    let db: TestDatabase;
    let connector: Connector;
    const opened: { connector: Connector; raw?: RawDb }[] = [];

    beforeAll(async () => {
      db = await newDatabase();
      connector = flexisipConnector({ ...BASE_OPTIONS, database: db.url });
      opened.push({ connector, raw: db.raw });
    }, 60_000);

    afterAll(async () => {
      for (const o of opened) {
        await o.connector.close?.();
        await o.raw?.close();
      }
    });

    /** Timestamp columns as UTC text (the raw MySQL session runs in UTC, unlike the server's default). */
    const text = (column: string) =>
      db.raw.dialect === 'sqlite'
        ? `strftime('%Y-%m-%d %H:%M:%S', ${column})`
        : `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s')`;
    const epoch = (column: string) =>
      db.raw.dialect === 'sqlite'
        ? `CAST(strftime('%s', ${column}) AS INTEGER)`
        : `UNIX_TIMESTAMP(${column})`;

    async function conferenceRows(uri: string): Promise<ConferenceRow[]> {
      return db.raw.all<ConferenceRow>(
        `SELECT ci.id, o.value AS organizer, ${text('ci.start_time')} AS start_time,
           ${epoch('ci.start_time')} AS start_epoch, ci.duration, ci.subject, ci.description, ci.state,
           ci.ics_sequence, ci.ics_uid, ci.security_level, ci.ccmp_uri, ci.audio, ci.video, ci.chat,
           ${text('ci.earlier_joining_time')} AS earlier_joining_time, ${text('ci.expiry_time')} AS expiry_time
         FROM conference_info ci
         JOIN sip_address a ON a.id = ci.uri_sip_address_id
         JOIN sip_address o ON o.id = ci.organizer_sip_address_id
         WHERE a.value = ?`,
        [uri],
      );
    }

    async function participantRows(conferenceId: number): Promise<ParticipantRow[]> {
      return db.raw.all<ParticipantRow>(
        `SELECT p.id, s.value AS uri, p.deleted, p.params, p.is_participant, p.ccmp_uri, p.is_organizer, r.value AS role
         FROM conference_info_participant p
         JOIN sip_address s ON s.id = p.participant_sip_address_id
         LEFT JOIN conference_info_participant_params r
           ON r.conference_info_participant_id = p.id AND r.name = 'X-ROLE'
         WHERE p.conference_info_id = ? ORDER BY s.value`,
        [conferenceId],
      );
    }

    const participant = (name: string, organizer: boolean, role: string, deleted = 0) => ({
      uri: `sip:${name}@${DOMAIN}`,
      deleted,
      params: '',
      is_participant: 1,
      ccmp_uri: `xcon-userid:${name}@${DOMAIN}`,
      is_organizer: organizer ? 1 : 0,
      role,
    });

    it('writes exactly the rows the conference server looks up', async () => {
      const spec = weeklySync();
      const handle = await connector.createConference(spec);
      // Canonical form: no port, parameters sorted by name, a lower-case hex conf-id of 128 bits.
      expect(handle.joinUri).toMatch(
        /^sip:conference-focus@sip\.example\.org;conf-id=[0-9a-f]{32};transport=tcp$/,
      );
      expect(handle.backendId).toBe(handle.joinUri);
      expect(await db.raw.all('SELECT id FROM sip_address WHERE value = ?', [handle.joinUri])).toHaveLength(
        1,
      );

      const [row, ...others] = await conferenceRows(handle.joinUri);
      expect(others).toEqual([]);
      expect(row).toMatchObject({
        organizer: `sip:marie@${DOMAIN}`,
        start_time: '2030-07-01 09:00:00',
        start_epoch: Date.parse('2030-07-01T09:00:00Z') / 1000,
        duration: 60,
        subject: 'Weekly sync',
        description: 'Agenda: roadmap & budget',
        state: 0,
        ics_sequence: 0,
        ics_uid: '',
        security_level: 0,
        ccmp_uri: spec.uri,
        audio: 1,
        video: 1,
        chat: 0,
        earlier_joining_time: '2030-07-01 08:45:00',
        expiry_time: '2030-07-31 10:00:00',
      });
      const people = (await participantRows(row!.id)).map(withoutId);
      expect(people).toEqual([
        participant('laure', false, 'listener'),
        participant('marie', true, 'speaker'),
        participant('pauline', false, 'speaker'),
      ]);
      await connector.deleteConference(handle);
    });

    it('updates in place: new values, state 1, sequence bumped, removed invitees marked deleted', async () => {
      const handle = await connector.createConference(weeklySync());
      const [before] = await conferenceRows(handle.joinUri);
      const moved = weeklySync({
        subject: 'Weekly sync (moved)',
        description: 'New agenda',
        schedule: { start: '2030-07-02T14:30:00+02:00', end: '2030-07-02T15:15:00+02:00' },
        participants: [user('marie', ['organizer']), user('pauline'), user('michelle')],
      });
      await connector.updateConference(handle, moved);

      const [row, ...others] = await conferenceRows(handle.joinUri);
      expect(others).toEqual([]);
      expect(row).toMatchObject({
        id: before!.id,
        start_time: '2030-07-02 12:30:00',
        duration: 45,
        subject: 'Weekly sync (moved)',
        description: 'New agenda',
        state: 1,
        ics_sequence: 1,
        ccmp_uri: moved.uri,
        earlier_joining_time: '2030-07-02 12:15:00',
        expiry_time: '2030-08-01 13:15:00',
      });
      const rowsAfterFirst = await participantRows(row!.id);
      expect(rowsAfterFirst.map(withoutId)).toEqual([
        participant('laure', false, 'listener', 1),
        participant('marie', true, 'speaker'),
        participant('michelle', false, 'speaker'),
        participant('pauline', false, 'speaker'),
      ]);

      // Laure is invited again: her row comes back (the table's key allows one row per address).
      await connector.updateConference(
        handle,
        weeklySync({ participants: [user('marie', ['organizer']), user('laure')] }),
      );
      const [again] = await conferenceRows(handle.joinUri);
      expect(again).toMatchObject({ state: 1, ics_sequence: 2 });
      const rowsAfterSecond = await participantRows(row!.id);
      expect(rowsAfterSecond.find((p) => p.uri === `sip:laure@${DOMAIN}`)).toMatchObject({
        id: rowsAfterFirst.find((p) => p.uri === `sip:laure@${DOMAIN}`)!.id,
        deleted: 0,
        role: 'speaker',
      });
      expect(rowsAfterSecond.filter((p) => p.deleted === 0).map((p) => p.uri)).toEqual([
        `sip:laure@${DOMAIN}`,
        `sip:marie@${DOMAIN}`,
      ]);
      await connector.deleteConference(handle);
    });

    it('keeps an expiry the server extended when the gateway updates', async () => {
      const handle = await connector.createConference(weeklySync());
      // Literal UTC text: SQLite's convention, and the raw MySQL session runs in UTC.
      const later = "'2031-01-01 00:00:00'";
      await db.raw.run(
        `UPDATE conference_info SET expiry_time = ${later}
         WHERE uri_sip_address_id = (SELECT id FROM sip_address WHERE value = ?)`,
        [handle.joinUri],
      );
      await connector.updateConference(handle, weeklySync({ subject: 'Still on' }));
      expect((await conferenceRows(handle.joinUri))[0]).toMatchObject({
        subject: 'Still on',
        expiry_time: '2031-01-01 00:00:00',
      });
      await connector.deleteConference(handle);
    });

    it('cancels by removing the conference and its participants, keeping shared addresses', async () => {
      const handle = await connector.createConference(weeklySync());
      const [row] = await conferenceRows(handle.joinUri);
      await connector.deleteConference(handle);
      expect(await conferenceRows(handle.joinUri)).toEqual([]);
      expect(await participantRows(row!.id)).toEqual([]);
      expect(
        await db.raw.all(
          'SELECT p.id FROM conference_info_participant_params p WHERE p.conference_info_participant_id NOT IN (SELECT id FROM conference_info_participant)',
        ),
      ).toEqual([]);
      // Addresses belong to the whole server (chat rooms, call logs): they stay.
      expect(
        await db.raw.all('SELECT id FROM sip_address WHERE value = ?', [`sip:marie@${DOMAIN}`]),
      ).toHaveLength(1);
      // Never written: on MySQL the server's lookup of this table is broken (see docs/flexisip.md).
      expect(await db.raw.all('SELECT id FROM expired_conferences')).toEqual([]);
      expect(await connector.getConference?.(handle.backendId)).toBeUndefined();
      await expect(connector.updateConference(handle, weeklySync())).rejects.toMatchObject({
        kind: 'not_found',
      });
    });

    it('writes an immediate conference with no start and an expiry from now', async () => {
      const before = Math.floor(Date.now() / 1000);
      const handle = await connector.createConference(
        weeklySync({ schedule: { start: '1969-12-31T23:59:59Z', durationMinutes: 30 } }),
      );
      const [row] = await conferenceRows(handle.joinUri);
      expect(row).toMatchObject({
        start_time: null,
        start_epoch: null,
        duration: 30,
        earlier_joining_time: null,
      });
      const [{ expiry }] = (await db.raw.all<{ expiry: number | string }>(
        `SELECT ${epoch('ci.expiry_time')} AS expiry FROM conference_info ci WHERE ci.id = ?`,
        [row!.id],
      )) as [{ expiry: number | string }];
      expect(Number(expiry) - before).toBeGreaterThanOrEqual(30 * 86400 - 5);
      expect(Number(expiry) - before).toBeLessThanOrEqual(30 * 86400 + 5);
      await connector.deleteConference(handle);
    });

    it('allocates distinct, unguessable conf-ids', async () => {
      const handles = await Promise.all(
        Array.from({ length: 12 }, () => connector.createConference(weeklySync())),
      );
      const ids = handles.map((h) => /;conf-id=([^;]+)/.exec(h.joinUri)?.[1]);
      expect(new Set(ids).size).toBe(handles.length);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
      await Promise.all(handles.map((h) => connector.deleteConference(h)));
    });

    it('refuses what the server cannot hold, before writing anything', async () => {
      const count = async () => (await db.raw.all('SELECT id FROM conference_info')).length;
      const start = await count();
      const refused = async (spec: ConferenceSpec, kind: string) => {
        const err: unknown = await connector.createConference(spec).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectorError);
        expect((err as ConnectorError).kind).toBe(kind);
      };
      await refused(
        weeklySync({ schedule: { start: '2030-07-01T09:00:00Z', rrule: 'FREQ=WEEKLY' } }),
        'unsupported',
      );
      await refused(weeklySync({ organizer: undefined, participants: [user('pauline')] }), 'invalid');
      await refused(weeklySync({ subject: 'x'.repeat(257) }), 'invalid');
      await refused(
        weeklySync({
          participants: [user('marie', ['organizer']), { ...user('bob'), sipUri: 'mailto:bob' }],
        }),
        'invalid',
      );
      expect(await count()).toBe(start);
    });

    it('reads a conference the conference server wrote itself', async () => {
      // As liblinphone writes it: a server-generated conf-id, no ccmp_uri, the organizer among the participants.
      const uri = 'sip:conference-focus@sip.example.org;conf-id=Qm7-xK~2vR9aLp0TzW4cYb6NdE1fHj3';
      const insert = db.raw.dialect === 'sqlite' ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
      const ts = db.raw.dialect === 'sqlite' ? '?' : 'FROM_UNIXTIME(?)';
      const at = (iso: string) =>
        db.raw.dialect === 'sqlite' ? iso.slice(0, 19).replace('T', ' ') : Date.parse(iso) / 1000;
      await db.raw.run(
        `${insert} INTO sip_address (value, display_name) VALUES (?, NULL), (?, ?), (?, NULL), (?, NULL), (?, NULL)`,
        [
          uri,
          `sip:sophie@${DOMAIN}`,
          'Sophie',
          `sip:pauline@${DOMAIN}`,
          `sip:laure@${DOMAIN}`,
          `sip:gone@${DOMAIN}`,
        ],
      );
      const id = async (value: string) =>
        (await db.raw.all<{ id: number }>('SELECT id FROM sip_address WHERE value = ?', [value]))[0]!.id;
      await db.raw.run(
        `INSERT INTO conference_info (organizer_sip_address_id, uri_sip_address_id, start_time, duration, subject,
           description, state, ics_sequence, ics_uid, security_level, ccmp_uri, audio, video, chat,
           earlier_joining_time, expiry_time)
         VALUES (?, ?, ${ts}, 90, 'Server-side sync', 'Made on a phone', 0, 0, '', 0, '', 1, 0, 0, NULL, ${ts})`,
        [
          await id(`sip:sophie@${DOMAIN}`),
          await id(uri),
          at('2030-09-01T08:00:00Z'),
          at('2030-10-01T09:30:00Z'),
        ],
      );
      const conferenceId = (await conferenceRows(uri))[0]!.id;
      const addParticipant = async (name: string, organizer: number, deleted: number, params = '') =>
        db.raw.run(
          `INSERT INTO conference_info_participant (conference_info_id, participant_sip_address_id, deleted, params,
             is_participant, ccmp_uri, is_organizer) VALUES (?, ?, ?, ?, 1, '', ?)`,
          [conferenceId, await id(`sip:${name}@${DOMAIN}`), deleted, params, organizer],
        );
      await addParticipant('sophie', 1, 0);
      await addParticipant('pauline', 0, 0);
      await addParticipant('laure', 0, 0, 'X-ROLE=listener;X-SEQ=1');
      await addParticipant('gone', 0, 1);
      const paulineRow = (await participantRows(conferenceId)).find(
        (p) => p.uri === `sip:pauline@${DOMAIN}`,
      )!;
      await db.raw.run(
        'INSERT INTO conference_info_participant_params (conference_info_participant_id, name, value) VALUES (?, ?, ?)',
        [paulineRow.id, 'X-ROLE', 'speaker'],
      );

      const read = await connector.getConference!(uri);
      expect(read?.handle).toEqual({ backendId: uri, joinUri: uri });
      expect(read?.spec.uri).toBeUndefined();
      expect(read?.spec).toMatchObject({
        subject: 'Server-side sync',
        description: 'Made on a phone',
        organizer: `xcon-userid:sophie@${DOMAIN}`,
        schedule: { start: '2030-09-01T08:00:00Z', end: '2030-09-01T09:30:00Z', durationMinutes: 90 },
        media: [
          { type: 'audio', status: 'sendrecv' },
          { type: 'video', status: 'inactive' },
          { type: 'text', status: 'inactive' },
        ],
      });
      expect(read?.spec.participants).toEqual([
        {
          userId: `xcon-userid:sophie@${DOMAIN}`,
          sipUri: `sip:sophie@${DOMAIN}`,
          displayName: 'Sophie',
          roles: ['organizer'],
          method: 'dial-in',
        },
        {
          userId: `xcon-userid:pauline@${DOMAIN}`,
          sipUri: `sip:pauline@${DOMAIN}`,
          roles: ['participant'],
          method: 'dial-in',
        },
        {
          userId: `xcon-userid:laure@${DOMAIN}`,
          sipUri: `sip:laure@${DOMAIN}`,
          roles: ['observer'],
          method: 'dial-in',
        },
      ]);

      // The URI as a caller may present it: with a port and a GRUU.
      const dialled =
        'sip:conference-focus@sip.example.org:5060;gr=urn:uuid:1234;conf-id=Qm7-xK~2vR9aLp0TzW4cYb6NdE1fHj3';
      expect((await connector.getConference!(dialled))?.handle.backendId).toBe(uri);
      const listed = (await connector.listConferences!()).find((c) => c.handle.backendId === uri);
      expect(listed?.spec).toEqual(read?.spec);

      // Updating it through the gateway takes the row over in place.
      await connector.updateConference(read!.handle, weeklySync());
      expect((await conferenceRows(uri))[0]).toMatchObject({ id: conferenceId, state: 1, ics_sequence: 1 });
      await connector.deleteConference(read!.handle);
      expect(await conferenceRows(uri)).toEqual([]);
    });

    it('does not report conferences cancelled on the server', async () => {
      const handle = await connector.createConference(weeklySync());
      await db.raw.run(
        'UPDATE conference_info SET state = 2 WHERE uri_sip_address_id = (SELECT id FROM sip_address WHERE value = ?)',
        [handle.joinUri],
      );
      expect(await connector.getConference!(handle.backendId)).toBeUndefined();
      expect((await connector.listConferences!()).map((c) => c.handle.backendId)).not.toContain(
        handle.backendId,
      );
      await connector.deleteConference(handle);
      expect(await conferenceRows(handle.joinUri)).toEqual([]);
    });

    it('check() says when the database cannot be reached, without its password', async () => {
      const url =
        db.raw.dialect === 'sqlite'
          ? `${db.url}.missing`
          : db.url.replace(/@127\.0\.0\.1:\d+\//, '@127.0.0.1:1/');
      const unreachable = flexisipConnector({ ...BASE_OPTIONS, database: url });
      opened.push({ connector: unreachable });
      const err = await unreachable.check!().catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/^flexisip: cannot read the conference server database /);
      const password = db.raw.dialect === 'mysql' ? decodeURIComponent(new URL(url).password) : '';
      if (password) expect((err as Error).message).not.toContain(password);
      // Never created: the conference server owns its database file.
      await expect(unreachable.createConference(weeklySync())).rejects.toMatchObject({ kind: 'unavailable' });
      if (db.raw.dialect === 'sqlite') expect(existsSync(url)).toBe(false);
    });

    it('check() names a missing table or column', async () => {
      const other = await newDatabase();
      const broken = flexisipConnector({ ...BASE_OPTIONS, database: other.url });
      opened.push({ connector: broken, raw: other.raw });
      await expect(broken.check!()).resolves.toBeUndefined();
      await other.raw.run('ALTER TABLE conference_info DROP COLUMN ccmp_uri');
      await expect(broken.check!()).rejects.toThrow(/table conference_info lacks column ccmp_uri/);
      await other.raw.run('ALTER TABLE conference_info_participant DROP COLUMN is_organizer');
      await other.raw.run('DROP TABLE conference_info_participant_params');
      const err = await broken.check!().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/table conference_info lacks column ccmp_uri/);
      expect((err as Error).message).toMatch(/table conference_info_participant lacks column is_organizer/);
      expect((err as Error).message).toMatch(/table conference_info_participant_params is missing/);
      // The password of a mysql:// URL never reaches a log line.
      const password = other.raw.dialect === 'mysql' ? decodeURIComponent(new URL(other.url).password) : '';
      if (password) expect((err as Error).message).not.toContain(password);
    });
  });
}
