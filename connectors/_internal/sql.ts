/**
 * @module A tiny SQL layer over better-sqlite3 and mysql2/promise.
 *
 * Connectors that write another product's database need the same few things on both engines:
 * parameterized statements, transactions, and the handful of spots where the dialects differ
 * (insert-or-ignore, timestamps, schema introspection). The driver is chosen from the URL and
 * loaded on first use, so importing a connector opens nothing and needs neither native module.
 */

import type BetterSqlite3 from 'better-sqlite3';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';

export type SqlValue = string | number | bigint | null;

export interface RunResult {
  changes: number;
  insertId: number;
}

export interface SqlExecutor {
  all<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

export interface SqlDialect {
  readonly name: 'sqlite' | 'mysql';
  /** `INSERT OR IGNORE` or `INSERT IGNORE`. */
  readonly insertIgnore: string;
  /** Placeholder for a timestamp column, bound with `timestampValue()`. */
  readonly timestampParam: string;
  timestampValue(unixSeconds: number): SqlValue;
  /** Expression reading a timestamp column as Unix seconds (NULL stays NULL). */
  readTimestamp(column: string): string;
  /** Largest instant the timestamp columns can hold (MySQL TIMESTAMP stops in 2038). */
  readonly maxTimestamp: number;
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: SqlDialect;
  /**
   * Runs `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. When
   * the engine aborts the transaction to break a deadlock, `fn` runs again, so it must read what it
   * depends on inside the transaction.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Column names of a table, or undefined when the table does not exist. */
  columns(table: string): Promise<string[] | undefined>;
  close(): Promise<void>;
}

export interface SqlOptions {
  /** How long SQLite waits for a lock another process (the conference server) holds. */
  busyTimeoutMs?: number;
  /** Maximum pooled MySQL connections. */
  poolSize?: number;
}

const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  insertIgnore: 'INSERT OR IGNORE',
  timestampParam: '?',
  // SQLite has no timestamp type: the convention of the schema is UTC text.
  timestampValue: (s) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' '),
  readTimestamp: (column) => `CAST(strftime('%s', ${column}) AS INTEGER)`,
  maxTimestamp: Number.MAX_SAFE_INTEGER,
};

const mysqlDialect: SqlDialect = {
  name: 'mysql',
  insertIgnore: 'INSERT IGNORE',
  // Instants, not wall-clock text: the session time zone then converts both ways and cannot skew.
  timestampParam: 'FROM_UNIXTIME(?)',
  timestampValue: (s) => Math.trunc(s),
  readTimestamp: (column) => `UNIX_TIMESTAMP(${column})`,
  maxTimestamp: 2147483647,
};

/** True for `mysql://` and `mariadb://` URLs; anything else names an SQLite file. */
export function isMysqlUrl(url: string): boolean {
  return /^(mysql|mariadb):\/\//i.test(url);
}

export function openSqlDatabase(url: string, options: SqlOptions = {}): SqlDatabase {
  return isMysqlUrl(url) ? openMysql(url.replace(/^mariadb:/i, 'mysql:'), options) : openSqlite(url, options);
}

function sqlitePath(url: string): string {
  if (!/^sqlite:/i.test(url)) return url;
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

type SqliteDb = BetterSqlite3.Database;

function openSqlite(url: string, options: SqlOptions): SqlDatabase {
  const path = sqlitePath(url);
  let opening: Promise<SqliteDb> | undefined;
  // better-sqlite3 is synchronous, but transactions here span awaits: one queue keeps statements of
  // concurrent calls from landing inside another call's transaction.
  let queue: Promise<unknown> = Promise.resolve();

  function db(): Promise<SqliteDb> {
    opening ??= import('better-sqlite3').then(({ default: Database }) => {
      // fileMustExist: the conference server creates and migrates its database, never the gateway.
      const handle = new Database(path, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
      handle.pragma('foreign_keys = ON');
      return handle;
    });
    // A failed open (file missing, not yet mounted) is retried on the next call rather than cached.
    opening.catch(() => (opening = undefined));
    return opening;
  }

  function serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  }

  const executor = (handle: SqliteDb): SqlExecutor => ({
    all: <T extends object>(sql: string, params: readonly SqlValue[] = []) =>
      Promise.resolve(handle.prepare<SqlValue[], T>(sql).all(...params)),
    run: (sql, params = []) => {
      const info = handle.prepare<SqlValue[]>(sql).run(...params);
      return Promise.resolve({ changes: info.changes, insertId: Number(info.lastInsertRowid) });
    },
  });

  return {
    dialect: sqliteDialect,
    all: (sql, params) => serialize(async () => executor(await db()).all(sql, params)),
    run: (sql, params) => serialize(async () => executor(await db()).run(sql, params)),
    transaction: (fn) =>
      serialize(async () => {
        const handle = await db();
        // IMMEDIATE takes the write lock up front, so a concurrent writer makes us wait, not fail.
        handle.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(executor(handle));
          handle.exec('COMMIT');
          return result;
        } catch (err) {
          if (handle.inTransaction) handle.exec('ROLLBACK');
          throw err;
        }
      }),
    columns: (table) =>
      serialize(async () => {
        const rows = await executor(await db()).all<{ name: string }>(
          'SELECT name FROM pragma_table_info(?)',
          [table],
        );
        return rows.length > 0 ? rows.map((r) => r.name) : undefined;
      }),
    close: async () => {
      if (!opening) return;
      const pending = opening;
      opening = undefined;
      await serialize(async () => {
        (await pending).close();
      });
    },
  };
}

type MysqlPool = Pool;

const MYSQL_ATTEMPTS = 5;

/** ER_LOCK_DEADLOCK and ER_LOCK_WAIT_TIMEOUT: the server asks the client to restart the transaction. */
function isMysqlRetryable(err: unknown): boolean {
  const errno = (err as { errno?: unknown }).errno;
  return errno === 1213 || errno === 1205;
}
type MysqlQueryable = Pick<PoolConnection, 'execute'>;

function openMysql(url: string, options: SqlOptions): SqlDatabase {
  let opening: Promise<MysqlPool> | undefined;

  function pool(): Promise<MysqlPool> {
    opening ??= import('mysql2/promise').then((mysql) =>
      mysql.createPool({ uri: url, connectionLimit: options.poolSize ?? 4, supportBigNumbers: true }),
    );
    opening.catch(() => (opening = undefined));
    return opening;
  }

  const executor = (conn: MysqlQueryable): SqlExecutor => ({
    all: async <T extends object>(sql: string, params: readonly SqlValue[] = []) => {
      const [rows] = await conn.execute(sql, [...params]);
      return rows as T[];
    },
    run: async (sql, params = []) => {
      const [result] = await conn.execute(sql, [...params]);
      const header = result as ResultSetHeader;
      return { changes: header.affectedRows, insertId: header.insertId };
    },
  });

  return {
    dialect: mysqlDialect,
    all: async (sql, params) => executor(await pool()).all(sql, params),
    run: async (sql, params) => executor(await pool()).run(sql, params),
    transaction: async (fn) => {
      for (let attempt = 1; ; attempt++) {
        const conn = await (await pool()).getConnection();
        try {
          await conn.beginTransaction();
          const result = await fn(executor(conn));
          await conn.commit();
          return result;
        } catch (err) {
          await conn.rollback().catch(() => undefined);
          if (attempt >= MYSQL_ATTEMPTS || !isMysqlRetryable(err)) throw err;
        } finally {
          conn.release();
        }
        // InnoDB picked this transaction as a deadlock victim: retry after a short, jittered pause.
        await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20 * attempt));
      }
    },
    columns: async (table) => {
      const rows = await executor(await pool()).all<{ name: string }>(
        'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [table],
      );
      return rows.length > 0 ? rows.map((r) => r.name) : undefined;
    },
    close: async () => {
      if (!opening) return;
      const pending = opening;
      opening = undefined;
      await (await pending).end();
    },
  };
}
