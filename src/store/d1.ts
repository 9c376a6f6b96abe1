/**
 * @module Cloudflare D1 conference store, for the Workers entry.
 *
 * It runs the statements of `sql.ts` over the schema of `migrations/` (applied by `wrangler d1
 * migrations apply`), like the Node SQLite store. A commit is one `db.batch()`, which D1 runs as one
 * SQLite transaction on the database's single primary: each compare-and-set write is preceded by a guard
 * statement that fails when the object is not at the expected version, and a failed statement rolls the
 * whole batch back. Correctness therefore never depends on which isolate or location runs the request;
 * the failure is then turned into a StoreConflict carrying the object's current version.
 */
import {
  GUARD_FAILURE,
  SQL,
  columnValues,
  fromMemberRow,
  fromRow,
  kindParams,
  limitParam,
  type MemberRow,
  type ObjectRow,
  type SqlValue,
} from './sql.ts';
import type { ConferenceStore, Member, StoredObject, Write } from './types.ts';
import { StoreConflict } from './types.ts';

/** The part of a D1 prepared statement the store uses (`D1PreparedStatement` of the Workers types). */
export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  first(): Promise<unknown>;
  all(): Promise<{ results: unknown[] }>;
  run(): Promise<unknown>;
}

/** The part of a D1 binding the store uses (`D1Database` of the Workers types). */
export interface D1DatabaseLike {
  prepare(query: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<{ results: unknown[] }[]>;
}

export interface D1StoreOptions {
  /** The D1 binding, e.g. `env.DB`. */
  db: D1DatabaseLike;
}

export function isD1Database(value: unknown): value is D1DatabaseLike {
  if (typeof value !== 'object' || value === null) return false;
  const db = value as Partial<Record<'prepare' | 'batch', unknown>>;
  return typeof db.prepare === 'function' && typeof db.batch === 'function';
}

export function d1Store(options: D1StoreOptions): ConferenceStore {
  const { db } = options;
  if (!isD1Database(db)) throw new TypeError('d1Store: db must be a D1 database binding');
  const statement = (sql: string, ...values: SqlValue[]) => db.prepare(sql).bind(...values);
  /** The `uri` column of every row of a listing query. */
  const listUris = async (sql: string, ...values: SqlValue[]): Promise<string[]> => {
    const { results } = await statement(sql, ...values).all();
    return (results as { uri: string }[]).map((row) => row.uri);
  };
  let closed = false;

  /** Every call checks this first, so that a closed store fails like the other stores do. */
  function open(): void {
    if (closed) throw new Error('D1 store is closed');
  }

  async function load(uris: string[]): Promise<StoredObject[]> {
    if (uris.length === 0) return [];
    const list = JSON.stringify(uris);
    // One batch is one transaction: the objects and their members come from one snapshot.
    const [objects, members] = await db.batch([
      statement(SQL.getObjects, list),
      statement(SQL.getMembersOf, list),
    ]);
    const membersOf = new Map<string, Member[]>();
    for (const row of (members?.results ?? []) as (MemberRow & { object_uri: string })[]) {
      let found = membersOf.get(row.object_uri);
      if (!found) membersOf.set(row.object_uri, (found = []));
      found.push(fromMemberRow(row));
    }
    const byUri = new Map(
      ((objects?.results ?? []) as ObjectRow[]).map((row) => [
        row.uri,
        fromRow(row, membersOf.get(row.uri) ?? []),
      ]),
    );
    return uris.flatMap((uri) => byUri.get(uri) ?? []);
  }

  function writeStatements(write: Write): D1StatementLike[] {
    if (write.op === 'delete') {
      const uri = write.uri.toLowerCase();
      return [
        statement(SQL.guardVersion, uri, write.expectedVersion),
        // Member rows go first and explicitly, so this does not depend on foreign keys being enforced.
        statement(SQL.deleteMembers, uri),
        statement(SQL.deleteObject, uri, write.expectedVersion),
      ];
    }
    const { object, expectedVersion } = write;
    const uri = object.uri.toLowerCase();
    const members = JSON.stringify(object.members.map((m) => [m.userId.toLowerCase(), m.role]));
    return [
      expectedVersion === undefined
        ? statement(SQL.guardAbsent, uri)
        : statement(SQL.guardVersion, uri, expectedVersion),
      expectedVersion === undefined
        ? statement(SQL.insertObject, uri, ...columnValues(object))
        : statement(SQL.updateObject, ...columnValues(object), uri, expectedVersion),
      statement(SQL.deleteMembers, uri),
      statement(SQL.insertMembers, uri, members),
    ];
  }

  /**
   * After a guard failed (and the batch rolled back), finds the write that lost: the writes are replayed
   * in order over the versions now in the database, as the transaction applied them.
   */
  async function conflictOf(writes: Write[]): Promise<StoreConflict> {
    const uris = [...new Set(writes.map((w) => (w.op === 'put' ? w.object.uri : w.uri).toLowerCase()))];
    const { results } = await statement(SQL.getVersions, JSON.stringify(uris)).all();
    const current = new Map((results as { uri: string; version: number }[]).map((r) => [r.uri, r.version]));
    const staged = new Map(current);
    for (const write of writes) {
      const uri = (write.op === 'put' ? write.object.uri : write.uri).toLowerCase();
      if (staged.get(uri) !== write.expectedVersion) return new StoreConflict(uri, current.get(uri));
      if (write.op === 'put') staged.set(uri, write.object.version);
      else staged.delete(uri);
    }
    // Every check passes again: the object changed and changed back in between (deleted, then created
    // anew at the same version). The commit still lost its race against that writer.
    const [first] = uris;
    return new StoreConflict(first ?? '', first === undefined ? undefined : current.get(first));
  }

  return {
    async get(uri) {
      open();
      const [found] = await load([uri.toLowerCase()]);
      return found;
    },
    async getMany(uris) {
      open();
      return load([...new Set(uris.map((uri) => uri.toLowerCase()))]);
    },
    async commit(writes) {
      open();
      if (writes.length === 0) return;
      try {
        await db.batch(writes.flatMap(writeStatements));
      } catch (error) {
        if (error instanceof Error && GUARD_FAILURE.test(messages(error))) throw await conflictOf(writes);
        throw error;
      }
    },
    async listByMember(userId, options) {
      open();
      const params = [userId.toLowerCase(), ...kindParams(options), limitParam(options)];
      return listUris(SQL.listByMember, ...params);
    },
    async listAll(options) {
      open();
      const params = [...kindParams(options), limitParam(options)];
      return listUris(SQL.listAll, ...params);
    },
    async listChildren(parentUri) {
      open();
      return listUris(SQL.listChildren, parentUri.toLowerCase());
    },
    async count(kinds) {
      open();
      const row = await statement(SQL.count, ...kindParams(kinds ? { kinds } : {})).first();
      return (row as { n: number } | null)?.n ?? 0;
    },
    async countOwned(owner, kinds) {
      open();
      const params = [owner.toLowerCase(), ...kindParams(kinds ? { kinds } : {})];
      const row = await statement(SQL.countOwned, ...params).first();
      return (row as { n: number } | null)?.n ?? 0;
    },
    async findAllocatedUser(signallingUri) {
      open();
      const row = await statement(SQL.findAllocatedUser, signallingUri.toLowerCase()).first();
      return (row as { user_id: string } | null)?.user_id;
    },
    async allocateUser(userId, signallingUri) {
      open();
      const key = signallingUri.toLowerCase();
      // The insert keeps the first allocation; the read in the same transaction returns whichever won.
      const [, found] = await db.batch([
        statement(SQL.insertAllocatedUser, key, userId.toLowerCase()),
        statement(SQL.findAllocatedUser, key),
      ]);
      const row = found?.results[0] as { user_id: string } | undefined;
      if (!row) throw new Error(`allocation of ${key} vanished`);
      return row.user_id;
    },
    async isAllocatedUser(userId) {
      open();
      return (await statement(SQL.isAllocatedUser, userId.toLowerCase()).first()) !== null;
    },
    async close() {
      // The binding belongs to the runtime: there is nothing to release, only further use to refuse.
      closed = true;
    },
  };
}

/** The message of an error and of its causes: D1 may wrap the SQLite error. */
function messages(error: Error): string {
  const parts: string[] = [];
  let at: unknown = error;
  for (let depth = 0; at instanceof Error && depth < 5; depth++) {
    parts.push(at.message);
    at = at.cause;
  }
  return parts.join('\n');
}
