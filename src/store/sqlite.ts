/**
 * @module SQLite conference store for Node, on better-sqlite3.
 *
 * The schema lives in `migrations/`, shared with Cloudflare D1, and every statement here is plain
 * parameterized SQLite so that a D1 store can run the same text. Compare-and-set is done by the
 * statements themselves (`WHERE version = ?`, `ON CONFLICT DO NOTHING`) rather than by reading first,
 * so it stays correct when several processes share the database file.
 */

import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { ConferenceStore, ListOptions, Member, ObjectKind, StoredObject, Write } from './types.ts';
import { StoreConflict } from './types.ts';

export interface SqliteStoreOptions {
  /** Database file (its folder is created when missing), or `':memory:'`. */
  path: string;
  /** `normal` (default): an acknowledged write survives a killed process. `full`: also a power loss. */
  synchronous?: 'normal' | 'full';
}

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);
const BUSY_TIMEOUT_MS = 5000;
const KINDS: readonly ObjectKind[] = ['blueprint', 'conference', 'sidebar-by-val', 'sidebar-by-ref'];
const OBJECT_COLUMNS =
  'uri, kind, version, parent_uri, cloned_from, owner, password, connector, backend_id, join_uri, ' +
  'document, public_document, created_at, updated_at';
/** Kind filters always bind exactly four values (padded by repetition), so one statement serves all. */
const KIND_FILTER = 'kind IN (?, ?, ?, ?)';

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
  findAllocatedUser: 'SELECT user_id FROM allocated_users WHERE signalling_uri = ?',
  insertAllocatedUser:
    'INSERT INTO allocated_users (signalling_uri, user_id) VALUES (?, ?) ON CONFLICT (signalling_uri) DO NOTHING',
  isAllocatedUser: 'SELECT 1 AS found FROM allocated_users WHERE user_id = ? LIMIT 1',
} as const;

interface ObjectRow {
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

type Value = string | number | null;

export function sqliteStore(options: SqliteStoreOptions): ConferenceStore {
  const synchronous = options.synchronous ?? 'normal';
  if (typeof options.path !== 'string') throw new TypeError('sqliteStore: path must be a string');
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw new TypeError(`sqliteStore: synchronous must be 'normal' or 'full', got ${String(synchronous)}`);
  }
  if (options.path !== '' && options.path !== ':memory:' && !options.path.startsWith('file:')) {
    mkdirSync(dirname(options.path), { recursive: true });
  }

  const db = new Database(options.path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }

  const s = {
    getObject: db.prepare<[string], ObjectRow>(SQL.getObject),
    getMembers: db.prepare<[string], { user_id: string; role: string }>(SQL.getMembers),
    getVersion: db.prepare<[string], { version: number }>(SQL.getVersion),
    insertObject: db.prepare<Value[]>(SQL.insertObject),
    updateObject: db.prepare<Value[]>(SQL.updateObject),
    deleteObject: db.prepare<[string, number]>(SQL.deleteObject),
    deleteMembers: db.prepare<[string]>(SQL.deleteMembers),
    insertMember: db.prepare<[string, string, string]>(SQL.insertMember),
    listByMember: db.prepare<Value[], { uri: string }>(SQL.listByMember),
    listAll: db.prepare<Value[], { uri: string }>(SQL.listAll),
    listChildren: db.prepare<[string], { uri: string }>(SQL.listChildren),
    count: db.prepare<string[], { n: number }>(SQL.count),
    findAllocatedUser: db.prepare<[string], { user_id: string }>(SQL.findAllocatedUser),
    insertAllocatedUser: db.prepare<[string, string]>(SQL.insertAllocatedUser),
    isAllocatedUser: db.prepare<[string], { found: number }>(SQL.isAllocatedUser),
  };

  function load(uri: string): StoredObject | undefined {
    const row = s.getObject.get(uri);
    if (!row) return undefined;
    const members: Member[] = s.getMembers.all(uri).map((m) => ({ userId: m.user_id, role: m.role }));
    return fromRow(row, members);
  }

  function conflict(uri: string): StoreConflict {
    return new StoreConflict(uri, s.getVersion.get(uri)?.version);
  }

  function put(object: StoredObject, expectedVersion: number | undefined): void {
    const uri = object.uri.toLowerCase();
    const fields = columnValues(object);
    const changes =
      expectedVersion === undefined
        ? s.insertObject.run(uri, ...fields).changes
        : s.updateObject.run(...fields, uri, expectedVersion).changes;
    if (changes !== 1) throw conflict(uri);
    s.deleteMembers.run(uri);
    for (const member of object.members) s.insertMember.run(uri, member.userId.toLowerCase(), member.role);
  }

  function remove(uri: string, expectedVersion: number): void {
    const key = uri.toLowerCase();
    // Member rows go first and explicitly, so this does not depend on foreign keys being enforced.
    s.deleteMembers.run(key);
    if (s.deleteObject.run(key, expectedVersion).changes !== 1) throw conflict(key);
  }

  // A throw inside a better-sqlite3 transaction function rolls the whole transaction back.
  const commitTx = db.transaction((writes: Write[]) => {
    for (const write of writes) {
      switch (write.op) {
        case 'put':
          put(write.object, write.expectedVersion);
          break;
        case 'delete':
          remove(write.uri, write.expectedVersion);
          break;
      }
    }
  });
  // Reads span two statements (object, then members); one transaction gives them one snapshot.
  const loadTx = db.transaction((uris: string[]) => uris.flatMap((uri) => load(uri) ?? []));

  return {
    get: (uri) => run(() => loadTx([uri.toLowerCase()])[0]),
    getMany: (uris) => run(() => loadTx([...new Set(uris.map((uri) => uri.toLowerCase()))])),
    commit: (writes) =>
      run(() => {
        commitTx(writes);
      }),
    listByMember: (userId, options) =>
      run(() =>
        s.listByMember
          .all(userId.toLowerCase(), ...kindParams(options), limitParam(options))
          .map((r) => r.uri),
      ),
    listAll: (options) =>
      run(() => s.listAll.all(...kindParams(options), limitParam(options)).map((r) => r.uri)),
    listChildren: (parentUri) => run(() => s.listChildren.all(parentUri.toLowerCase()).map((r) => r.uri)),
    count: (kinds) => run(() => s.count.get(...kindParams(kinds ? { kinds } : {}))?.n ?? 0),
    findAllocatedUser: (signallingUri) =>
      run(() => s.findAllocatedUser.get(signallingUri.toLowerCase())?.user_id),
    allocateUser: (userId, signallingUri) =>
      run(() => {
        const key = signallingUri.toLowerCase();
        s.insertAllocatedUser.run(key, userId.toLowerCase());
        const row = s.findAllocatedUser.get(key);
        if (!row) throw new Error(`allocation of ${key} vanished`);
        return row.user_id;
      }),
    isAllocatedUser: (userId) => run(() => s.isAllocatedUser.get(userId.toLowerCase()) !== undefined),
    close: () =>
      run(() => {
        if (db.open) db.close();
      }),
  };
}

/** Applies each `migrations/*.sql` file once, in name order, under one write lock. */
function migrate(db: Database.Database): void {
  const dir = fileURLToPath(MIGRATIONS_DIR);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort();
  // IMMEDIATE: two processes opening a fresh file together must not both apply the same file.
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const applied = db.prepare<[string], { name: string }>('SELECT name FROM _migrations WHERE name = ?');
    const record = db.prepare<[string, number]>('INSERT INTO _migrations (name, applied_at) VALUES (?, ?)');
    for (const name of files) {
      if (applied.get(name)) continue;
      db.exec(readFileSync(join(dir, name), 'utf8'));
      record.run(name, Date.now());
    }
  }).immediate();
}

/** better-sqlite3 is synchronous; this keeps thrown errors as rejections, like an async driver. */
function run<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(fn());
  });
}

/** Column values after `uri`, in `OBJECT_COLUMNS` order (also the SET order of `updateObject`). */
function columnValues(o: StoredObject): Value[] {
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

function fromRow(row: ObjectRow, members: Member[]): StoredObject {
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

/** Four kind values for `KIND_FILTER`: unknown kinds dropped, an empty list matching nothing. */
function kindParams(options: ListOptions = {}): string[] {
  const kinds = options.kinds ? KINDS.filter((kind) => options.kinds?.includes(kind)) : KINDS;
  const first = kinds[0];
  // '' can never match: the schema's CHECK constraint keeps it out of the kind column.
  return KINDS.map((_, i) => kinds[i] ?? first ?? '');
}

/** SQLite reads a negative LIMIT as "no limit". */
function limitParam(options: ListOptions = {}): number {
  const { limit } = options;
  if (limit === undefined) return -1;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`list limit must be a non-negative integer, got ${limit}`);
  }
  return limit;
}
