/**
 * The D1 store inside workerd, on a local D1 database with `migrations/` applied: the same contract suite
 * as the memory and SQLite stores, the guards that make a lost compare-and-set roll a whole batch back, and
 * many parallel commits on one object, from one store and from several (as separate isolates would).
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { d1Store } from '../../src/store/d1.ts';
import { GUARD_FAILURE, SQL } from '../../src/store/sql.ts';
import { StoreConflict, type ConferenceStore, type StoredObject } from '../../src/store/types.ts';
import { describeStoreContract, expectConflict, sample } from '../store/_suite.ts';

async function emptyDatabase(): Promise<void> {
  await env.DB.batch(
    ['conference_members', 'conference_objects', 'allocated_users'].map((table) =>
      env.DB.prepare(`DELETE FROM ${table}`),
    ),
  );
}

describeStoreContract('d1', async () => {
  await emptyDatabase();
  return d1Store({ db: env.DB });
});

const URI = 'xcon:conf1@example.com';

describe('d1 store guards', () => {
  beforeEach(emptyDatabase);

  it('fails a guard with the NOT NULL error the store recognises', async () => {
    const error: unknown = await env.DB.prepare(SQL.guardVersion)
      .bind(URI, 1)
      .run()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(GUARD_FAILURE);
  });

  it('lets a guard pass without writing anything', async () => {
    const store = d1Store({ db: env.DB });
    await store.commit([{ op: 'put', object: sample() }]);
    await env.DB.prepare(SQL.guardVersion).bind(URI, 1).run();
    await env.DB.prepare(SQL.guardAbsent).bind('xcon:other@example.com').run();
    expect(await store.get(URI)).toStrictEqual(sample());
  });

  it('rolls back the earlier statements of a batch when a later guard fails', async () => {
    const store = d1Store({ db: env.DB });
    await store.commit([{ op: 'put', object: sample() }]);
    // Raw batch: an unguarded write first, then a guard on a version that is not there.
    const failed = await env.DB.batch([
      env.DB.prepare('UPDATE conference_objects SET document = ? WHERE uri = ?').bind('<lost/>', URI),
      env.DB.prepare(SQL.guardVersion).bind(URI, 7),
    ]).then(
      () => false,
      () => true,
    );
    expect(failed).toBe(true);
    expect((await store.get(URI))?.document).toBe(sample().document);
  });

  it('reports the conflicting write with its current version, whatever its place in the commit', async () => {
    const store = d1Store({ db: env.DB });
    await store.commit([
      { op: 'put', object: sample() },
      { op: 'put', object: sample({ uri: 'xcon:two@example.com', version: 4 }) },
    ]);
    await expectConflict(
      store.commit([
        { op: 'put', object: sample({ version: 2 }), expectedVersion: 1 },
        { op: 'put', object: sample({ uri: 'xcon:two@example.com', version: 4 }), expectedVersion: 3 },
      ]),
      'xcon:two@example.com',
      4,
    );
    expect((await store.get(URI))?.version).toBe(1);
  });

  it('passes errors other than a lost compare-and-set through unchanged', async () => {
    const store = d1Store({ db: env.DB });
    const error: unknown = await store
      .commit([{ op: 'put', object: sample({ kind: 'no-such-kind' as StoredObject['kind'] }) }])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StoreConflict);
    expect((error as Error).message).toMatch(/CHECK constraint failed/);
  });

  it('keeps the members of an object in the order they were given', async () => {
    const store = d1Store({ db: env.DB });
    const members = Array.from({ length: 300 }, (_, i) => ({
      userId: `xcon-userid:u${(i * 7919) % 300}@example.com`,
      role: i % 2 ? 'participant' : 'moderator',
    }));
    await store.commit([{ op: 'put', object: sample({ members }) }]);
    expect((await store.get(URI))?.members).toEqual(members);
  });
});

/** A read-modify-write loop: retries on StoreConflict until its update is in; returns the versions it wrote. */
async function increment(store: ConferenceStore, times: number, tag: string): Promise<number[]> {
  const written: number[] = [];
  while (written.length < times) {
    const current = await store.get(URI);
    if (!current) throw new Error('the object vanished');
    const next = {
      ...current,
      version: current.version + 1,
      // The document records every write in order: a lost update would drop an entry.
      document: `${current.document.replace(/<\/log>$/, '')}<w v="${current.version + 1}" by="${tag}"/></log>`,
    };
    try {
      await store.commit([{ op: 'put', object: next, expectedVersion: current.version }]);
      written.push(next.version);
    } catch (err) {
      if (!(err instanceof StoreConflict)) throw err;
      // The conflict names the object and a version newer than the one this writer read.
      expect(err.uri).toBe(URI);
      expect(err.currentVersion).toBeGreaterThan(current.version);
    }
  }
  return written;
}

describe('d1 store under concurrency', () => {
  beforeEach(async () => {
    await emptyDatabase();
    await d1Store({ db: env.DB }).commit([{ op: 'put', object: sample({ document: '<log></log>' }) }]);
  });

  it('lets exactly one of many parallel commits on one version win', async () => {
    const store = d1Store({ db: env.DB });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        store.commit([
          { op: 'put', object: sample({ version: 2, document: `<log>${i}</log>` }), expectedVersion: 1 },
        ]),
      ),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(StoreConflict);
      expect(lost.reason).toMatchObject({ uri: URI, currentVersion: 2 });
    }
    expect((await store.get(URI))?.version).toBe(2);
  });

  it('loses no update among parallel read-modify-write loops on separate stores', async () => {
    // One store per "isolate": nothing in process serializes them; only D1's transactions do.
    const writers = 8;
    const each = 6;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) => increment(d1Store({ db: env.DB }), each, `w${i}`)),
    );
    const versions = results.flat().sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: writers * each }, (_, i) => i + 2));

    const final = await d1Store({ db: env.DB }).get(URI);
    expect(final?.version).toBe(1 + writers * each);
    const logged = [...(final?.document ?? '').matchAll(/<w v="(\d+)"/g)].map((m) => Number(m[1]));
    expect(logged).toEqual(versions);
  });

  it('creates an object once when many writers race to create it', async () => {
    await emptyDatabase();
    const stores = Array.from({ length: 20 }, () => d1Store({ db: env.DB }));
    const outcomes = await Promise.allSettled(
      stores.map((store, i) => store.commit([{ op: 'put', object: sample({ document: `<c>${i}</c>` }) }])),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
      expect(lost.reason).toMatchObject({ uri: URI, currentVersion: 1 });
    }
    expect(await stores[0]!.count()).toBe(1);
  });

  it('allocates a signalling URI once across racing writers', async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        d1Store({ db: env.DB }).allocateUser(`xcon-userid:dave${i}@example.com`, 'sip:dave@example.com'),
      ),
    );
    expect(new Set(ids).size).toBe(1);
  });
});
