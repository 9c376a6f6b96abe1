/**
 * @module SQLite conference store for Node, on better-sqlite3.
 *
 * The schema lives in `migrations/` and the statements in `sql.ts`, both shared with the Cloudflare D1
 * store. Compare-and-set is done by the statements themselves (`WHERE version = ?`, `ON CONFLICT DO
 * NOTHING`) rather than by reading first, so it stays correct when several processes share the file.
 */

import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  SQL,
  columnValues,
  fromMemberRow,
  fromRow,
  kindParams,
  limitParam,
  type MemberRow,
  type ObjectRow,
  type SqlValue as Value,
} from './sql.ts';
import type { ConferenceStore, StoredObject, Write } from './types.ts';
import { StoreConflict } from './types.ts';

export interface SqliteStoreOptions {
  /** Database file (its folder is created when missing), or `':memory:'`. */
  path: string;
  /** `normal` (default): an acknowledged write survives a killed process. `full`: also a power loss. */
  synchronous?: 'normal' | 'full';
}

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);
const BUSY_TIMEOUT_MS = 5000;
/**
 * Checkpoints (copying the WAL back into the database, with two fsyncs) run from a timer rather than
 * inside the commit that happens to fill the WAL: better-sqlite3 is synchronous, so an inline one
 * stalls every request queued behind that commit. Inline checkpoints stay as a backstop, at a much
 * larger WAL, for when the timer cannot keep up (a reader holding an old snapshot, say).
 */
const CHECKPOINT_EVERY_MS = 1000;
const INLINE_CHECKPOINT_PAGES = 20_000;
/** Objects kept by `get` (see `cache` below). */
const CACHE_MAX = 1000;

/** The statements, re-exported for the tests that inspect their query plans. */
export { SQL };

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
    db.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }

  const s = {
    getObject: db.prepare<[string], ObjectRow>(SQL.getObject),
    getMembers: db.prepare<[string], MemberRow>(SQL.getMembers),
    getVersion: db.prepare<[string], { version: number }>(SQL.getVersion),
    dataVersion: db.prepare<[]>('PRAGMA data_version').pluck(),
    insertObject: db.prepare<Value[]>(SQL.insertObject),
    updateObject: db.prepare<Value[]>(SQL.updateObject),
    deleteObject: db.prepare<[string, number]>(SQL.deleteObject),
    deleteMembers: db.prepare<[string]>(SQL.deleteMembers),
    insertMember: db.prepare<[string, string, string]>(SQL.insertMember),
    listByMember: db.prepare<Value[], { uri: string }>(SQL.listByMember),
    listAll: db.prepare<Value[], { uri: string }>(SQL.listAll),
    listChildren: db.prepare<[string], { uri: string }>(SQL.listChildren),
    count: db.prepare<string[], { n: number }>(SQL.count),
    countOwned: db.prepare<string[], { n: number }>(SQL.countOwned),
    findAllocatedUser: db.prepare<[string], { user_id: string }>(SQL.findAllocatedUser),
    insertAllocatedUser: db.prepare<[string, string]>(SQL.insertAllocatedUser),
    isAllocatedUser: db.prepare<[string], { found: number }>(SQL.isAllocatedUser),
  };

  function load(uri: string): StoredObject | undefined {
    const row = s.getObject.get(uri);
    if (!row) return undefined;
    return fromRow(row, s.getMembers.all(uri).map(fromMemberRow));
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

  /*
   * Objects read by `get`, by lowercased uri. This connection's own writes drop their entries (in
   * `commit`); any other connection's commit changes `PRAGMA data_version`, which empties the cache,
   * so several processes can share the file. The large document columns are then read once per change
   * rather than on every request.
   */
  const cache = new Map<string, StoredObject>();
  let cachedDataVersion: number | undefined;

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
  /*
   * The hot path (every request reads its object) runs without a transaction: this process runs
   * each call to completion, and a writer in another process can at worst make the member rows one
   * commit newer than the document, which the compare-and-set on every write tolerates.
   */
  const loadOne = (uri: string): StoredObject | undefined => {
    // Another connection's commit changes data_version: then nothing cached can be trusted.
    const dataVersion = s.dataVersion.get() as number;
    if (dataVersion !== cachedDataVersion) {
      cache.clear();
      cachedDataVersion = dataVersion;
    }
    let object = cache.get(uri);
    if (object === undefined) {
      object = load(uri);
      if (object === undefined) return undefined;
      if (cache.size >= CACHE_MAX) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(uri, object);
    }
    // A copy, so that a caller changing what it got cannot change the cache.
    return { ...object, members: object.members.map((m) => ({ ...m })) };
  };
  let written = false;
  const checkpoints = setInterval(() => {
    if (!written || !db.open) return;
    written = false;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or failing now: the next tick, or the inline backstop, checkpoints instead.
      written = true;
    }
  }, CHECKPOINT_EVERY_MS);
  // Pending checkpoints must not keep a process alive; the last connection to close checkpoints anyway.
  checkpoints.unref();
  const loadTx = db.transaction((uris: string[]) => uris.flatMap((uri) => load(uri) ?? []));

  return {
    get: (uri) => run(() => loadOne(uri.toLowerCase())),
    getMany: (uris) => run(() => loadTx([...new Set(uris.map((uri) => uri.toLowerCase()))])),
    commit: (writes) =>
      run(() => {
        try {
          commitTx(writes);
        } finally {
          written = true;
          for (const write of writes) {
            cache.delete((write.op === 'put' ? write.object.uri : write.uri).toLowerCase());
          }
        }
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
    countOwned: (owner, kinds) =>
      run(() => s.countOwned.get(owner.toLowerCase(), ...kindParams(kinds ? { kinds } : {}))?.n ?? 0),
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
        clearInterval(checkpoints);
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
