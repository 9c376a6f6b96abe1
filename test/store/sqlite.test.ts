/** @module Runs the store contract against SQLite, plus what only a file database can show. */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQL, sqliteStore } from '../../src/store/sqlite.ts';
import type { Write } from '../../src/store/types.ts';
import { describeStoreContract, sample } from './_suite.ts';

describeStoreContract('sqlite', () => sqliteStore({ path: ':memory:' }));

const migrationFiles = readdirSync(fileURLToPath(new URL('../../migrations/', import.meta.url)))
  .filter((name) => name.endsWith('.sql'))
  .sort();

describe('sqlite store on a file', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccmp-store-'));
    // A folder that does not exist yet: the store creates it.
    path = join(dir, 'data', 'ccmp.sqlite');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps data across close and reopen', async () => {
    const first = sqliteStore({ path, synchronous: 'full' });
    await first.commit([{ op: 'put', object: sample() }]);
    await first.allocateUser('xcon-userid:carol@example.com', 'sip:carol@example.com');
    await first.close();

    const second = sqliteStore({ path });
    expect(await second.get('xcon:conf1@example.com')).toStrictEqual(sample());
    expect(await second.listByMember('xcon-userid:alice@example.com')).toEqual(['xcon:conf1@example.com']);
    expect(await second.findAllocatedUser('sip:carol@example.com')).toBe('xcon-userid:carol@example.com');
    await second.close();
  });

  it('sees the writes of another connection to the same file after it cached an object', async () => {
    const reader = sqliteStore({ path });
    const writer = sqliteStore({ path });
    const object = sample();
    await writer.commit([{ op: 'put', object }]);
    expect(await reader.get(object.uri)).toStrictEqual(object);
    const updated = { ...object, version: 2, document: '<changed/>', members: [] };
    await writer.commit([{ op: 'put', object: updated, expectedVersion: 1 }]);
    expect(await reader.get(object.uri)).toStrictEqual(updated);
    // Deleted and created again with the same version: only the document tells them apart.
    await writer.commit([{ op: 'delete', uri: object.uri, expectedVersion: 2 }]);
    expect(await reader.get(object.uri)).toBeUndefined();
    const again = { ...object, version: 2, document: '<again/>' };
    await writer.commit([{ op: 'put', object: again }]);
    expect(await reader.get(object.uri)).toStrictEqual(again);
    await reader.close();
    await writer.close();
  });

  it('hands out copies that do not change what it returns next', async () => {
    const store = sqliteStore({ path });
    const object = sample();
    await store.commit([{ op: 'put', object }]);
    const got = await store.get(object.uri);
    if (!got) throw new Error('missing');
    got.document = '<mutated/>';
    got.members.push({ userId: 'xcon-userid:mallory@example.com', role: 'participant' });
    expect(await store.get(object.uri)).toStrictEqual(object);
    await store.close();
  });

  it('applies each migration once and uses WAL', async () => {
    await sqliteStore({ path }).close();
    await sqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    try {
      const applied = db.prepare<[], { name: string }>('SELECT name FROM _migrations ORDER BY name').all();
      expect(applied.map((row) => row.name)).toEqual(migrationFiles);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('checkpoints the write-ahead log from its timer, within about a second of a write', async () => {
    const store = sqliteStore({ path });
    const emptySize = statSync(path).size;
    const writes: Write[] = [];
    for (let i = 0; i < 50; i++) {
      const object = sample();
      writes.push({
        op: 'put',
        object: { ...object, uri: `xcon:c${i}@example.com`, document: 'x'.repeat(4000) },
      });
    }
    await store.commit(writes);
    // The commit fills the log only: the database file grows when the timer copies the log back.
    expect(statSync(path).size).toBe(emptySize);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(statSync(path).size).toBeGreaterThan(emptySize + 50 * 4000);
    await store.close();
  });

  it('refuses an unknown synchronous mode', () => {
    expect(() => sqliteStore({ path, synchronous: 'off' as 'full' })).toThrow(TypeError);
  });

  it('lists a member’s conferences through the member index', async () => {
    await sqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    try {
      const plan = db
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${SQL.listByMember}`)
        .all('xcon-userid:alice@example.com', 'conference', 'conference', 'conference', 'conference', 10)
        .map((row) => row.detail);
      expect(plan.some((detail) => /SEARCH m USING .*INDEX conference_members_user/.test(detail))).toBe(true);
      expect(plan.some((detail) => /SCAN (o|conference_objects)\b/.test(detail))).toBe(false);
    } finally {
      db.close();
    }
  });

  it('counts a user’s own conferences from the owner index alone', async () => {
    await sqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    try {
      const plan = db
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${SQL.countOwned}`)
        .all('xcon-userid:alice@example.com', 'conference', 'conference', 'conference', 'conference')
        .map((row) => row.detail);
      // COVERING: the count never reads the rows, whose documents are large.
      expect(plan.some((detail) => /SEARCH .*COVERING INDEX conference_objects_owner\b/.test(detail))).toBe(
        true,
      );
      expect(plan.some((detail) => /\bSCAN\b/.test(detail))).toBe(false);
    } finally {
      db.close();
    }
  });

  it('lists one user’s conferences correctly among 100k', async () => {
    const store = sqliteStore({ path });
    const total = 100_000;
    const writes: Write[] = [];
    const expected: string[] = [];
    for (let i = 0; i < total; i++) {
      const uri = `xcon:c${i}@example.com`;
      const members = [{ userId: `xcon-userid:u${i % 5000}@example.com`, role: 'administrator' }];
      if (i % 9973 === 0) {
        members.push({ userId: 'xcon-userid:alice@example.com', role: 'participant' });
        expected.unshift(uri);
      }
      writes.push({ op: 'put', object: sample({ uri, owner: members[0]!.userId, members, createdAt: i }) });
    }
    await store.commit(writes);

    expect(await store.count()).toBe(total);
    expect(await store.listByMember('xcon-userid:alice@example.com')).toEqual(expected);
    expect(await store.listByMember('xcon-userid:alice@example.com', { limit: 3 })).toEqual(
      expected.slice(0, 3),
    );
    expect(await store.listByMember('xcon-userid:u42@example.com')).toHaveLength(total / 5000);
    expect(await store.countOwned('xcon-userid:u42@example.com', ['conference'])).toBe(total / 5000);
    // Alice takes part in some of them but created none.
    expect(await store.countOwned('xcon-userid:alice@example.com')).toBe(0);
    await store.close();
  }, 60_000);

  it('keeps an acknowledged write when the process is killed', async () => {
    // The child commits, reports, then dies without closing: only what reached the WAL survives.
    const child = `
      const { sqliteStore } = await import(process.env.STORE_MODULE);
      const store = sqliteStore({ path: process.env.STORE_PATH });
      await store.commit([{ op: 'put', object: JSON.parse(process.env.STORE_OBJECT) }]);
      process.stdout.write('committed');
      process.kill(process.pid, 'SIGKILL');
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      env: {
        ...process.env,
        STORE_MODULE: new URL('../../src/store/sqlite.ts', import.meta.url).href,
        STORE_PATH: path,
        STORE_OBJECT: JSON.stringify(sample()),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.signal).toBe('SIGKILL');
    expect(result.stdout).toBe('committed');

    const store = sqliteStore({ path });
    expect(await store.get('xcon:conf1@example.com')).toStrictEqual(sample());
    await store.close();
  }, 40_000);
});
