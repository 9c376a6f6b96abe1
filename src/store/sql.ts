/**
 * @module The SQL of the conference store, shared by the Node SQLite store and the Cloudflare D1 store.
 *
 * Every statement is plain parameterized SQLite over the schema in `migrations/`, so both stores run the
 * same text. Compare-and-set lives in the statements (`WHERE version = ?`, `ON CONFLICT DO NOTHING`, and
 * the guards below), never in a read followed by a write, so it holds across processes and isolates.
 */
import type { ListOptions, Member, ObjectKind, StoredObject } from './types.ts';

export type SqlValue = string | number | null;

export const KINDS: readonly ObjectKind[] = ['blueprint', 'conference', 'sidebar-by-val', 'sidebar-by-ref'];

const OBJECT_COLUMNS =
  'uri, kind, version, parent_uri, cloned_from, owner, password, connector, backend_id, join_uri, ' +
  'document, public_document, created_at, updated_at';
/** Kind filters always bind exactly four values (padded by repetition), so one statement serves all. */
const KIND_FILTER = 'kind IN (?, ?, ?, ?)';
/** The URIs of a JSON array bound as one parameter: one statement for any number of objects. */
const URI_LIST = '(SELECT value FROM json_each(?))';
/**
 * Guards insert a row that breaks `NOT NULL` when their condition holds, so the statement fails and the
 * whole transaction (a D1 batch) rolls back. SQLite has no `RAISE()` outside triggers; this needs none.
 */
const FAIL_WHEN = 'INSERT INTO conference_members (object_uri, user_id, role) SELECT NULL, NULL, NULL WHERE';

/** The statements, exported so that tests can inspect their query plans. */
export const SQL = {
  getObject: `SELECT ${OBJECT_COLUMNS} FROM conference_objects WHERE uri = ?`,
  getMembers: 'SELECT user_id, role FROM conference_members WHERE object_uri = ? ORDER BY rowid',
  getVersion: 'SELECT version FROM conference_objects WHERE uri = ?',
  insertObject:
    `INSERT INTO conference_objects (${OBJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
    'ON CONFLICT (uri) DO NOTHING',
  updateObject:
    'UPDATE conference_objects SET kind = ?, version = ?, parent_uri = ?, cloned_from = ?, owner = ?, ' +
    'password = ?, connector = ?, backend_id = ?, join_uri = ?, document = ?, public_document = ?, ' +
    'created_at = ?, updated_at = ? WHERE uri = ? AND version = ?',
  deleteObject: 'DELETE FROM conference_objects WHERE uri = ? AND version = ?',
  deleteMembers: 'DELETE FROM conference_members WHERE object_uri = ?',
  insertMember:
    'INSERT INTO conference_members (object_uri, user_id, role) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  // CROSS JOIN pins the member index as the outer loop: otherwise the planner may prefer walking the
  // kind index over every conference and probing membership, which is a scan at scale.
  listByMember:
    'SELECT DISTINCT o.uri, o.created_at FROM conference_members m ' +
    'CROSS JOIN conference_objects o ON o.uri = m.object_uri ' +
    `WHERE m.user_id = ? AND o.${KIND_FILTER} ORDER BY o.created_at DESC, o.uri LIMIT ?`,
  listAll: `SELECT uri FROM conference_objects WHERE ${KIND_FILTER} ORDER BY created_at DESC, uri LIMIT ?`,
  listChildren: 'SELECT uri FROM conference_objects WHERE parent_uri = ? ORDER BY created_at DESC, uri',
  count: `SELECT count(*) AS n FROM conference_objects WHERE ${KIND_FILTER}`,
  /** Answered from the `(owner, kind)` index of migration 0002 alone, without reading rows. */
  countOwned: `SELECT count(*) AS n FROM conference_objects WHERE owner = ? AND ${KIND_FILTER}`,
  findAllocatedUser: 'SELECT user_id FROM allocated_users WHERE signalling_uri = ?',
  insertAllocatedUser:
    'INSERT INTO allocated_users (signalling_uri, user_id) VALUES (?, ?) ON CONFLICT (signalling_uri) DO NOTHING',
  isAllocatedUser: 'SELECT 1 AS found FROM allocated_users WHERE user_id = ? LIMIT 1',

  // Set-at-a-time forms, for stores that pay a round trip per statement (D1). One JSON array parameter.
  /** Objects whose URI is in the JSON array. */
  getObjects: `SELECT ${OBJECT_COLUMNS} FROM conference_objects WHERE uri IN ${URI_LIST}`,
  /** Members of the objects in the JSON array, in insertion order. */
  getMembersOf:
    `SELECT object_uri, user_id, role FROM conference_members WHERE object_uri IN ${URI_LIST} ` +
    'ORDER BY rowid',
  /** Current versions of the objects in the JSON array. */
  getVersions: `SELECT uri, version FROM conference_objects WHERE uri IN ${URI_LIST}`,
  /** Members from a JSON array of `[userId, role]` pairs, kept in array order. */
  insertMembers:
    'INSERT INTO conference_members (object_uri, user_id, role) ' +
    "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true " +
    'ON CONFLICT DO NOTHING',

  // Guards: in one transaction with the write they protect, they make a lost compare-and-set fail the
  // whole transaction. Their failure reads `NOT NULL constraint failed: conference_members.object_uri`.
  /** Fails unless the object exists at exactly this version (uri, version). */
  guardVersion: `${FAIL_WHEN} NOT EXISTS (SELECT 1 FROM conference_objects WHERE uri = ? AND version = ?)`,
  /** Fails when the object exists (uri). */
  guardAbsent: `${FAIL_WHEN} EXISTS (SELECT 1 FROM conference_objects WHERE uri = ?)`,
} as const;

/** How a failed guard shows in the error message of the driver. */
export const GUARD_FAILURE = /NOT NULL constraint failed: conference_members\.object_uri/;

export interface ObjectRow {
  uri: string;
  kind: ObjectKind;
  version: number;
  parent_uri: string | null;
  cloned_from: string | null;
  owner: string;
  password: string | null;
  connector: string | null;
  backend_id: string | null;
  join_uri: string | null;
  document: string;
  public_document: string | null;
  created_at: number;
  updated_at: number;
}

export interface MemberRow {
  user_id: string;
  role: string;
}

/** Column values after `uri`, in `OBJECT_COLUMNS` order (also the SET order of `updateObject`). */
export function columnValues(o: StoredObject): SqlValue[] {
  return [
    o.kind,
    o.version,
    o.parentUri?.toLowerCase() ?? null,
    o.clonedFrom?.toLowerCase() ?? null,
    o.owner.toLowerCase(),
    o.password ?? null,
    o.connector ?? null,
    o.backendId ?? null,
    o.joinUri ?? null,
    o.document,
    o.publicDocument ?? null,
    o.createdAt,
    o.updatedAt,
  ];
}

export function fromRow(row: ObjectRow, members: Member[]): StoredObject {
  const object: StoredObject = {
    uri: row.uri,
    kind: row.kind,
    version: row.version,
    owner: row.owner,
    document: row.document,
    members,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  // Optional fields are left out rather than set to undefined, as callers built them.
  if (row.parent_uri !== null) object.parentUri = row.parent_uri;
  if (row.cloned_from !== null) object.clonedFrom = row.cloned_from;
  if (row.password !== null) object.password = row.password;
  if (row.connector !== null) object.connector = row.connector;
  if (row.backend_id !== null) object.backendId = row.backend_id;
  if (row.join_uri !== null) object.joinUri = row.join_uri;
  if (row.public_document !== null) object.publicDocument = row.public_document;
  return object;
}

export function fromMemberRow(row: MemberRow): Member {
  return { userId: row.user_id, role: row.role };
}

/** Four kind values for `KIND_FILTER`: unknown kinds dropped, an empty list matching nothing. */
export function kindParams(options: ListOptions = {}): string[] {
  const kinds = options.kinds ? KINDS.filter((kind) => options.kinds?.includes(kind)) : KINDS;
  const first = kinds[0];
  // '' can never match: the schema's CHECK constraint keeps it out of the kind column.
  return KINDS.map((_, i) => kinds[i] ?? first ?? '');
}

/** SQLite reads a negative LIMIT as "no limit". */
export function limitParam(options: ListOptions = {}): number {
  const { limit } = options;
  if (limit === undefined) return -1;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`list limit must be a non-negative integer, got ${limit}`);
  }
  return limit;
}
