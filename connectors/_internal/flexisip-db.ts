/**
 * @module Rows of the Flexisip conference server's liblinphone database.
 *
 * The conference server (a liblinphone core in server mode) builds a conference from
 * `conference_info` and its participant rows when an INVITE reaches an unknown conference URI.
 * This module writes those rows the way `MainDbPrivate::insertConferenceInfo` does and reads them
 * back, including rows the server wrote itself. It never creates or migrates tables: the server
 * owns the schema.
 */
import type { SqlDatabase, SqlDialect, SqlExecutor } from './sql.ts';

/** The tables and columns this module reads or writes. */
export const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  sip_address: ['id', 'value', 'display_name'],
  conference_info: [
    'id',
    'organizer_sip_address_id',
    'uri_sip_address_id',
    'start_time',
    'duration',
    'subject',
    'description',
    'state',
    'ics_sequence',
    'ics_uid',
    'security_level',
    'ccmp_uri',
    'audio',
    'video',
    'chat',
    'earlier_joining_time',
    'expiry_time',
  ],
  conference_info_participant: [
    'id',
    'conference_info_id',
    'participant_sip_address_id',
    'deleted',
    'params',
    'is_participant',
    'ccmp_uri',
    'is_organizer',
  ],
  conference_info_participant_params: ['id', 'conference_info_participant_id', 'name', 'value'],
};

/** conference_info.state */
export const STATE = { new: 0, updated: 1, cancelled: 2 } as const;

export type ParticipantRole = 'speaker' | 'listener';

export interface ParticipantWrite {
  /** Canonical SIP URI. */
  uri: string;
  displayName?: string;
  /** XCON-USERID. */
  ccmpUri: string;
  organizer: boolean;
  role: ParticipantRole;
}

export interface ConferenceWrite {
  organizer: { uri: string; displayName?: string };
  /** Unix seconds, UTC; null for an immediate conference. */
  start: number | null;
  durationMinutes: number;
  subject: string;
  description: string | null;
  securityLevel: number;
  /** XCON-URI of the conference object. */
  ccmpUri: string;
  audio: boolean;
  video: boolean;
  chat: boolean;
  earlierJoiningTime: number | null;
  expiryTime: number | null;
  /** Everyone invited, the organizer included (one row per address). */
  participants: ParticipantWrite[];
}

export interface StoredParticipant {
  uri: string;
  displayName?: string;
  ccmpUri: string;
  organizer: boolean;
  role?: string;
}

export interface StoredConference {
  uri: string;
  organizerUri: string;
  organizerName?: string;
  start: number | null;
  durationMinutes: number;
  subject: string;
  description: string | null;
  state: number;
  sequence: number;
  ccmpUri: string;
  securityLevel: number;
  audio: boolean;
  video: boolean;
  chat: boolean;
  participants: StoredParticipant[];
}

const flag = (value: boolean) => (value ? 1 : 0);

/** Whether any table row uses this address, e.g. a candidate conference URI. */
export async function addressExists(tx: SqlExecutor, uri: string): Promise<boolean> {
  return (await tx.all('SELECT id FROM sip_address WHERE value = ?', [uri])).length > 0;
}

async function addressId(tx: SqlExecutor, d: SqlDialect, uri: string, displayName?: string): Promise<number> {
  // Addresses are shared with the rest of the server's data (chat rooms, call logs): reuse, never replace.
  await tx.run(`${d.insertIgnore} INTO sip_address (value, display_name) VALUES (?, ?)`, [
    uri,
    displayName ?? null,
  ]);
  const [row] = await tx.all<{ id: number | string }>('SELECT id FROM sip_address WHERE value = ?', [uri]);
  if (!row) throw new Error(`sip_address row for ${uri} vanished`);
  return Number(row.id);
}

/** `?, ?, …` for an IN list. */
const list = (values: readonly unknown[]) => values.map(() => '?').join(', ');

async function findConference(
  tx: SqlExecutor,
  d: SqlDialect,
  uris: readonly string[],
): Promise<{ id: number; expiry: number | null } | undefined> {
  const [row] = await tx.all<{ id: number | string; expiry: number | string | null }>(
    `SELECT ci.id, ${d.readTimestamp('ci.expiry_time')} AS expiry
     FROM conference_info ci JOIN sip_address a ON a.id = ci.uri_sip_address_id
     WHERE a.value IN (${list(uris)}) AND ci.state <> ? ORDER BY ci.id`,
    [...uris, STATE.cancelled],
  );
  return row ? { id: Number(row.id), expiry: row.expiry === null ? null : Number(row.expiry) } : undefined;
}

function timestamp(d: SqlDialect, seconds: number | null) {
  return seconds === null ? null : d.timestampValue(seconds);
}

/** Inserts a new conference under `uri`, which must not exist yet. */
export async function insertConference(
  tx: SqlExecutor,
  d: SqlDialect,
  uri: string,
  c: ConferenceWrite,
): Promise<void> {
  const ts = d.timestampParam;
  // A plain INSERT: the URI must be new, and a duplicate must fail rather than join another conference.
  const uriId = (await tx.run('INSERT INTO sip_address (value) VALUES (?)', [uri])).insertId;
  const organizerId = await addressId(tx, d, c.organizer.uri, c.organizer.displayName);
  const { insertId } = await tx.run(
    `INSERT INTO conference_info (organizer_sip_address_id, uri_sip_address_id, start_time, duration, subject,
       description, state, ics_sequence, ics_uid, security_level, ccmp_uri, audio, video, chat,
       earlier_joining_time, expiry_time)
     VALUES (?, ?, ${ts}, ?, ?, ?, ?, 0, '', ?, ?, ?, ?, ?, ${ts}, ${ts})`,
    [
      organizerId,
      uriId,
      timestamp(d, c.start),
      c.durationMinutes,
      c.subject,
      c.description,
      STATE.new,
      c.securityLevel,
      c.ccmpUri,
      flag(c.audio),
      flag(c.video),
      flag(c.chat),
      timestamp(d, c.earlierJoiningTime),
      timestamp(d, c.expiryTime),
    ],
  );
  await syncParticipants(tx, d, insertId, c.participants);
}

/**
 * Updates the conference stored under one of `uris` in place and bumps its ICS sequence; false when
 * there is none.
 */
export async function updateConference(
  tx: SqlExecutor,
  d: SqlDialect,
  uris: readonly string[],
  c: ConferenceWrite,
): Promise<boolean> {
  const found = await findConference(tx, d, uris);
  if (!found) return false;
  const { id } = found;
  // The server extends expiry_time when people stay past the end; never cut that short under them.
  const expiry =
    c.expiryTime !== null && found.expiry !== null ? Math.max(c.expiryTime, found.expiry) : c.expiryTime;
  const ts = d.timestampParam;
  const organizerId = await addressId(tx, d, c.organizer.uri, c.organizer.displayName);
  await tx.run(
    `UPDATE conference_info SET organizer_sip_address_id = ?, start_time = ${ts}, duration = ?, subject = ?,
       description = ?, state = ?, ics_sequence = COALESCE(ics_sequence, 0) + 1, security_level = ?, ccmp_uri = ?,
       audio = ?, video = ?, chat = ?, earlier_joining_time = ${ts}, expiry_time = ${ts}
     WHERE id = ?`,
    [
      organizerId,
      timestamp(d, c.start),
      c.durationMinutes,
      c.subject,
      c.description,
      STATE.updated,
      c.securityLevel,
      c.ccmpUri,
      flag(c.audio),
      flag(c.video),
      flag(c.chat),
      timestamp(d, c.earlierJoiningTime),
      timestamp(d, expiry),
      id,
    ],
  );
  await syncParticipants(tx, d, id, c.participants);
  return true;
}

/**
 * Makes the participant rows match `wanted`. Rows of people no longer invited are marked deleted,
 * as liblinphone does, rather than removed; the UNIQUE (conference, address) key means a returning
 * invitee reuses that row.
 */
async function syncParticipants(
  tx: SqlExecutor,
  d: SqlDialect,
  conference: number,
  wanted: ParticipantWrite[],
): Promise<void> {
  const existing = new Map<number, number>();
  for (const row of await tx.all<{ id: number | string; address: number | string }>(
    'SELECT id, participant_sip_address_id AS address FROM conference_info_participant WHERE conference_info_id = ?',
    [conference],
  )) {
    existing.set(Number(row.address), Number(row.id));
  }
  for (const p of wanted) {
    const address = await addressId(tx, d, p.uri, p.displayName);
    const id = existing.get(address);
    if (id === undefined) {
      const { insertId } = await tx.run(
        `INSERT INTO conference_info_participant (conference_info_id, participant_sip_address_id, deleted, params,
           is_participant, ccmp_uri, is_organizer) VALUES (?, ?, 0, '', 1, ?, ?)`,
        [conference, address, p.ccmpUri, flag(p.organizer)],
      );
      await tx.run(
        'INSERT INTO conference_info_participant_params (conference_info_participant_id, name, value) VALUES (?, ?, ?)',
        [insertId, 'X-ROLE', p.role],
      );
      continue;
    }
    existing.delete(address);
    await tx.run(
      `UPDATE conference_info_participant SET deleted = 0, params = '', is_participant = 1, ccmp_uri = ?,
         is_organizer = ? WHERE id = ?`,
      [p.ccmpUri, flag(p.organizer), id],
    );
    const role = await tx.all(
      'SELECT id FROM conference_info_participant_params WHERE conference_info_participant_id = ? AND name = ?',
      [id, 'X-ROLE'],
    );
    await tx.run(
      role.length > 0
        ? 'UPDATE conference_info_participant_params SET value = ? WHERE conference_info_participant_id = ? AND name = ?'
        : 'INSERT INTO conference_info_participant_params (value, conference_info_participant_id, name) VALUES (?, ?, ?)',
      [p.role, id, 'X-ROLE'],
    );
  }
  for (const id of existing.values()) {
    await tx.run('UPDATE conference_info_participant SET deleted = 1, is_organizer = 0 WHERE id = ?', [id]);
  }
}

/** Removes every conference row under one of `uris`; participant rows go with it. Absent rows are fine. */
export async function deleteConference(tx: SqlExecutor, uris: readonly string[]): Promise<void> {
  const rows = await tx.all<{ id: number | string }>(
    `SELECT ci.id FROM conference_info ci JOIN sip_address a ON a.id = ci.uri_sip_address_id
     WHERE a.value IN (${list(uris)})`,
    uris,
  );
  for (const { id } of rows) {
    // Explicit child deletes: cascades depend on the connection's foreign-key setting in SQLite.
    await tx.run(
      `DELETE FROM conference_info_participant_params WHERE conference_info_participant_id IN
         (SELECT id FROM conference_info_participant WHERE conference_info_id = ?)`,
      [id],
    );
    await tx.run('DELETE FROM conference_info_participant WHERE conference_info_id = ?', [id]);
    await tx.run('DELETE FROM conference_info WHERE id = ?', [id]);
  }
}

interface ConferenceQueryRow {
  id: number | string;
  uri: string;
  organizer_uri: string;
  organizer_name: string | null;
  start_time: number | string | null;
  duration: number | string | null;
  subject: string | null;
  description: string | null;
  state: number | string;
  ics_sequence: number | string | null;
  ccmp_uri: string | null;
  security_level: number | string | null;
  audio: number | string;
  video: number | string;
  chat: number | string;
}

interface ParticipantQueryRow {
  conference_id: number | string;
  uri: string;
  display_name: string | null;
  ccmp_uri: string | null;
  is_organizer: number | string;
  params: string | null;
  role: string | null;
}

/** Reads live (not cancelled) conferences: all of them, or those stored under one of `uris`. */
export async function readConferences(
  db: SqlDatabase,
  uris?: readonly string[],
): Promise<StoredConference[]> {
  const d = db.dialect;
  const filter = uris === undefined ? '' : `AND a.value IN (${list(uris)})`;
  const params = [STATE.cancelled, ...(uris ?? [])];
  const conferences = await db.all<ConferenceQueryRow>(
    `SELECT ci.id, a.value AS uri, o.value AS organizer_uri, o.display_name AS organizer_name,
       ${d.readTimestamp('ci.start_time')} AS start_time, ci.duration, ci.subject, ci.description, ci.state,
       ci.ics_sequence, ci.ccmp_uri, ci.security_level, ci.audio, ci.video, ci.chat
     FROM conference_info ci
     JOIN sip_address a ON a.id = ci.uri_sip_address_id
     JOIN sip_address o ON o.id = ci.organizer_sip_address_id
     WHERE ci.state <> ? ${filter} ORDER BY ci.id`,
    params,
  );
  if (conferences.length === 0) return [];
  const participants = await db.all<ParticipantQueryRow>(
    `SELECT p.conference_info_id AS conference_id, s.value AS uri, s.display_name, p.ccmp_uri, p.is_organizer,
       p.params, r.value AS role
     FROM conference_info_participant p
     JOIN sip_address s ON s.id = p.participant_sip_address_id
     LEFT JOIN conference_info_participant_params r ON r.conference_info_participant_id = p.id AND r.name = 'X-ROLE'
     WHERE p.deleted = 0 AND p.is_participant = 1 AND p.conference_info_id IN
       (SELECT ci.id FROM conference_info ci JOIN sip_address a ON a.id = ci.uri_sip_address_id
        WHERE ci.state <> ? ${filter})
     ORDER BY p.id`,
    params,
  );
  const byConference = new Map<number, StoredParticipant[]>();
  for (const p of participants) {
    const list = byConference.get(Number(p.conference_id)) ?? [];
    list.push({
      uri: p.uri,
      ...(p.display_name ? { displayName: p.display_name } : {}),
      ccmpUri: p.ccmp_uri ?? '',
      organizer: Number(p.is_organizer) !== 0,
      ...roleOf(p),
    });
    byConference.set(Number(p.conference_id), list);
  }
  return conferences.map((c) => ({
    uri: c.uri,
    organizerUri: c.organizer_uri,
    ...(c.organizer_name ? { organizerName: c.organizer_name } : {}),
    start: c.start_time === null ? null : Number(c.start_time),
    durationMinutes: Number(c.duration ?? 0),
    subject: c.subject ?? '',
    description: c.description,
    state: Number(c.state),
    sequence: Number(c.ics_sequence ?? 0),
    ccmpUri: c.ccmp_uri ?? '',
    securityLevel: Number(c.security_level ?? 0),
    audio: Number(c.audio) !== 0,
    video: Number(c.video) !== 0,
    chat: Number(c.chat) !== 0,
    participants: byConference.get(Number(c.id)) ?? [],
  }));
}

function roleOf(p: ParticipantQueryRow): { role?: string } {
  if (p.role) return { role: p.role };
  // Rows the server has not migrated yet keep their parameters in the legacy "k=v;k=v" column.
  const legacy = /(?:^|;)\s*X-ROLE=([^;]*)/i.exec(p.params ?? '')?.[1]?.trim();
  return legacy ? { role: legacy } : {};
}
