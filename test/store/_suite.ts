/**
 * @module The contract every ConferenceStore implementation must meet.
 *
 * Run once per backend so that the in-memory store used by unit tests cannot drift from the SQL
 * stores the gateway runs on.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConferenceStore, StoredObject } from '../../src/store/types.ts';
import { StoreConflict } from '../../src/store/types.ts';

/** A minimal conference; tests override what they look at. */
export function sample(overrides: Partial<StoredObject> = {}): StoredObject {
  return {
    uri: 'xcon:conf1@example.com',
    kind: 'conference',
    version: 1,
    owner: 'xcon-userid:alice@example.com',
    document: '<conference-info entity="xcon:conf1@example.com"/>',
    members: [{ userId: 'xcon-userid:alice@example.com', role: 'administrator' }],
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

/** Asserts that `promise` rejects with a StoreConflict for `uri` carrying `currentVersion`. */
export async function expectConflict(
  promise: Promise<unknown>,
  uri: string,
  currentVersion: number | undefined,
): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreConflict);
  expect(error).toMatchObject({ uri, currentVersion });
}

const ALICE = 'xcon-userid:alice@example.com';
const BOB = 'xcon-userid:bob@example.com';

export function describeStoreContract(
  name: string,
  make: () => Promise<ConferenceStore> | ConferenceStore,
): void {
  describe(`${name}: ConferenceStore contract`, () => {
    let store: ConferenceStore;

    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    const create = (...objects: StoredObject[]) =>
      store.commit(objects.map((object) => ({ op: 'put' as const, object })));

    describe('get', () => {
      it('round-trips every field', async () => {
        const full = sample({
          uri: 'xcon:side1@example.com',
          kind: 'sidebar-by-val',
          version: 7,
          parentUri: 'xcon:conf1@example.com',
          clonedFrom: 'xcon:bp1@example.com',
          password: 's3cret',
          connector: 'janus',
          backendId: 'room-42',
          joinUri: 'sip:side1@example.com',
          document: '<conference-info entity="xcon:side1@example.com">\n  <x>é ✓</x>\n</conference-info>',
          publicDocument: '<conference-info entity="xcon:side1@example.com"/>',
          members: [
            { userId: ALICE, role: 'administrator' },
            { userId: BOB, role: 'participant' },
            { userId: BOB, role: 'moderator' },
          ],
          createdAt: 1_700_000_000_123,
          updatedAt: 1_700_000_000_456,
        });
        await create(full);
        expect(await store.get(full.uri)).toStrictEqual(full);
      });

      it('leaves absent optional fields absent', async () => {
        await create(sample());
        const got = await store.get('xcon:conf1@example.com');
        expect(got).toStrictEqual(sample());
        for (const key of [
          'parentUri',
          'clonedFrom',
          'password',
          'connector',
          'backendId',
          'joinUri',
          'publicDocument',
        ]) {
          expect(got).not.toHaveProperty(key);
        }
      });

      it('returns undefined for an unknown URI', async () => {
        expect(await store.get('xcon:nothing@example.com')).toBeUndefined();
      });

      it('stores keys lower case and finds them whatever the case', async () => {
        await create(
          sample({
            uri: 'XCON:Conf1@Example.COM',
            owner: 'XCON-USERID:Alice@Example.com',
            parentUri: 'XCON:Main@Example.com',
            members: [{ userId: 'XCON-USERID:Alice@Example.com', role: 'participant' }],
          }),
        );
        const got = await store.get('Xcon:CONF1@example.com');
        expect(got).toMatchObject({
          uri: 'xcon:conf1@example.com',
          owner: ALICE,
          parentUri: 'xcon:main@example.com',
          members: [{ userId: ALICE, role: 'participant' }],
        });
        expect(await store.listByMember(ALICE)).toEqual(['xcon:conf1@example.com']);
      });

      it('keeps one member row per user and role', async () => {
        await create(
          sample({
            members: [
              { userId: ALICE, role: 'participant' },
              { userId: ALICE, role: 'participant' },
            ],
          }),
        );
        expect((await store.get('xcon:conf1@example.com'))?.members).toEqual([
          { userId: ALICE, role: 'participant' },
        ]);
      });
    });

    describe('getMany', () => {
      it('returns the existing objects in request order, once each', async () => {
        await create(sample({ uri: 'xcon:a@example.com' }), sample({ uri: 'xcon:b@example.com' }));
        const got = await store.getMany([
          'xcon:b@example.com',
          'xcon:missing@example.com',
          'xcon:a@example.com',
          'XCON:B@example.com',
        ]);
        expect(got.map((o) => o.uri)).toEqual(['xcon:b@example.com', 'xcon:a@example.com']);
        expect(got[1]).toStrictEqual(sample({ uri: 'xcon:a@example.com' }));
      });

      it('returns nothing for no URIs', async () => {
        expect(await store.getMany([])).toEqual([]);
      });
    });

    describe('commit', () => {
      it('updates when the expected version matches', async () => {
        await create(sample());
        const next = sample({ version: 2, document: '<v2/>', updatedAt: 2_000 });
        await store.commit([{ op: 'put', object: next, expectedVersion: 1 }]);
        expect(await store.get(next.uri)).toStrictEqual(next);
      });

      it('refuses to create an object that exists', async () => {
        await create(sample({ version: 3 }));
        await expectConflict(create(sample({ document: '<other/>' })), 'xcon:conf1@example.com', 3);
        expect((await store.get('xcon:conf1@example.com'))?.version).toBe(3);
      });

      it('refuses an update on a stale version', async () => {
        await create(sample({ version: 2 }));
        await expectConflict(
          store.commit([{ op: 'put', object: sample({ version: 3 }), expectedVersion: 1 }]),
          'xcon:conf1@example.com',
          2,
        );
        expect((await store.get('xcon:conf1@example.com'))?.version).toBe(2);
      });

      it('refuses an update of a missing object', async () => {
        await expectConflict(
          store.commit([{ op: 'put', object: sample({ version: 2 }), expectedVersion: 1 }]),
          'xcon:conf1@example.com',
          undefined,
        );
        expect(await store.get('xcon:conf1@example.com')).toBeUndefined();
      });

      it('deletes when the expected version matches, members included', async () => {
        await create(sample({ version: 4 }));
        await store.commit([{ op: 'delete', uri: 'xcon:conf1@example.com', expectedVersion: 4 }]);
        expect(await store.get('xcon:conf1@example.com')).toBeUndefined();
        expect(await store.listByMember(ALICE)).toEqual([]);
        expect(await store.count()).toBe(0);
      });

      it('refuses a delete on a stale version or a missing object', async () => {
        await create(sample({ version: 4 }));
        await expectConflict(
          store.commit([{ op: 'delete', uri: 'xcon:conf1@example.com', expectedVersion: 3 }]),
          'xcon:conf1@example.com',
          4,
        );
        await expectConflict(
          store.commit([{ op: 'delete', uri: 'xcon:gone@example.com', expectedVersion: 1 }]),
          'xcon:gone@example.com',
          undefined,
        );
        expect(await store.get('xcon:conf1@example.com')).toStrictEqual(sample({ version: 4 }));
        expect(await store.listByMember(ALICE)).toEqual(['xcon:conf1@example.com']);
      });

      it('applies nothing of a commit when one write conflicts', async () => {
        const kept = sample({ uri: 'xcon:kept@example.com', version: 5 });
        const doomed = sample({ uri: 'xcon:doomed@example.com', version: 1 });
        await create(kept, doomed);
        await expectConflict(
          store.commit([
            {
              op: 'put',
              object: sample({ uri: 'xcon:new@example.com', members: [{ userId: BOB, role: 'x' }] }),
            },
            { op: 'put', object: { ...kept, version: 6, members: [] }, expectedVersion: 5 },
            { op: 'delete', uri: doomed.uri, expectedVersion: 1 },
            { op: 'put', object: sample({ uri: 'xcon:late@example.com', version: 2 }), expectedVersion: 1 },
          ]),
          'xcon:late@example.com',
          undefined,
        );
        expect(await store.get('xcon:new@example.com')).toBeUndefined();
        expect(await store.get(kept.uri)).toStrictEqual(kept);
        expect(await store.get(doomed.uri)).toStrictEqual(doomed);
        expect(await store.listByMember(BOB)).toEqual([]);
        expect(await store.listByMember(ALICE)).toEqual([kept.uri, doomed.uri].sort());
        expect(await store.count()).toBe(2);
      });

      it('checks the writes of one commit in order', async () => {
        await store.commit([
          { op: 'put', object: sample() },
          { op: 'put', object: sample({ version: 2 }), expectedVersion: 1 },
        ]);
        expect((await store.get('xcon:conf1@example.com'))?.version).toBe(2);
        await store.commit([
          { op: 'delete', uri: 'xcon:conf1@example.com', expectedVersion: 2 },
          { op: 'put', object: sample({ version: 9 }) },
        ]);
        expect((await store.get('xcon:conf1@example.com'))?.version).toBe(9);
      });

      it('accepts an empty commit', async () => {
        await store.commit([]);
        expect(await store.count()).toBe(0);
      });
    });

    describe('listing', () => {
      beforeEach(async () => {
        await create(
          sample({ uri: 'xcon:bp@example.com', kind: 'blueprint', createdAt: 100, members: [] }),
          sample({ uri: 'xcon:old@example.com', createdAt: 200 }),
          sample({
            uri: 'xcon:mid@example.com',
            createdAt: 300,
            members: [
              { userId: BOB, role: 'administrator' },
              { userId: ALICE, role: 'participant' },
              { userId: ALICE, role: 'moderator' },
            ],
          }),
          sample({
            uri: 'xcon:side@example.com',
            kind: 'sidebar-by-ref',
            parentUri: 'xcon:mid@example.com',
            createdAt: 400,
          }),
          sample({
            uri: 'xcon:new@example.com',
            createdAt: 500,
            members: [{ userId: BOB, role: 'invited' }],
          }),
          sample({
            uri: 'xcon:side2@example.com',
            kind: 'sidebar-by-val',
            parentUri: 'xcon:mid@example.com',
            createdAt: 600,
            members: [],
          }),
        );
      });

      it('lists a member’s objects newest first, once each', async () => {
        expect(await store.listByMember(ALICE)).toEqual([
          'xcon:side@example.com',
          'xcon:mid@example.com',
          'xcon:old@example.com',
        ]);
        expect(await store.listByMember(BOB)).toEqual(['xcon:new@example.com', 'xcon:mid@example.com']);
        expect(await store.listByMember('XCON-USERID:Bob@Example.com')).toHaveLength(2);
        expect(await store.listByMember('xcon-userid:nobody@example.com')).toEqual([]);
      });

      it('filters a member’s objects by kind and limit', async () => {
        expect(await store.listByMember(ALICE, { kinds: ['conference'] })).toEqual([
          'xcon:mid@example.com',
          'xcon:old@example.com',
        ]);
        expect(await store.listByMember(ALICE, { kinds: ['sidebar-by-ref', 'sidebar-by-val'] })).toEqual([
          'xcon:side@example.com',
        ]);
        expect(await store.listByMember(ALICE, { limit: 2 })).toEqual([
          'xcon:side@example.com',
          'xcon:mid@example.com',
        ]);
        expect(await store.listByMember(ALICE, { kinds: ['conference'], limit: 1 })).toEqual([
          'xcon:mid@example.com',
        ]);
        expect(await store.listByMember(ALICE, { limit: 0 })).toEqual([]);
        expect(await store.listByMember(ALICE, { kinds: [] })).toEqual([]);
      });

      it('follows membership changes on update', async () => {
        const mid = await store.get('xcon:mid@example.com');
        await store.commit([
          {
            op: 'put',
            object: { ...mid!, version: 2, members: [{ userId: BOB, role: 'administrator' }] },
            expectedVersion: 1,
          },
        ]);
        expect(await store.listByMember(ALICE)).toEqual(['xcon:side@example.com', 'xcon:old@example.com']);
        expect(await store.listByMember(BOB)).toEqual(['xcon:new@example.com', 'xcon:mid@example.com']);
      });

      it('lists all objects by kind, newest first', async () => {
        expect(await store.listAll()).toEqual([
          'xcon:side2@example.com',
          'xcon:new@example.com',
          'xcon:side@example.com',
          'xcon:mid@example.com',
          'xcon:old@example.com',
          'xcon:bp@example.com',
        ]);
        expect(await store.listAll({ kinds: ['blueprint'] })).toEqual(['xcon:bp@example.com']);
        expect(await store.listAll({ kinds: ['conference', 'blueprint'], limit: 2 })).toEqual([
          'xcon:new@example.com',
          'xcon:mid@example.com',
        ]);
        expect(await store.listAll({ kinds: [] })).toEqual([]);
      });

      it('breaks creation-time ties by URI', async () => {
        await create(
          sample({ uri: 'xcon:tie-b@example.com', createdAt: 900 }),
          sample({ uri: 'xcon:tie-a@example.com', createdAt: 900 }),
        );
        expect(await store.listAll({ limit: 2 })).toEqual([
          'xcon:tie-a@example.com',
          'xcon:tie-b@example.com',
        ]);
      });

      it('rejects a negative or fractional limit', async () => {
        await expect(store.listAll({ limit: -1 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.listByMember(ALICE, { limit: 1.5 })).rejects.toBeInstanceOf(RangeError);
      });

      it('lists the sidebars of a conference', async () => {
        expect(await store.listChildren('xcon:mid@example.com')).toEqual([
          'xcon:side2@example.com',
          'xcon:side@example.com',
        ]);
        expect(await store.listChildren('XCON:MID@example.com')).toHaveLength(2);
        expect(await store.listChildren('xcon:old@example.com')).toEqual([]);
      });

      it('counts objects by kind', async () => {
        expect(await store.count()).toBe(6);
        expect(await store.count(['conference'])).toBe(3);
        expect(await store.count(['sidebar-by-ref', 'sidebar-by-val', 'blueprint'])).toBe(3);
        expect(await store.count([])).toBe(0);
      });

      it('counts the objects a user owns by kind, whatever roles others give them', async () => {
        // Every object of the fixture is owned by Alice; Bob is administrator of one and invited to another.
        expect(await store.countOwned(ALICE)).toBe(6);
        expect(await store.countOwned(ALICE, ['conference'])).toBe(3);
        expect(await store.countOwned(ALICE, ['sidebar-by-ref', 'sidebar-by-val'])).toBe(2);
        expect(await store.countOwned(ALICE, [])).toBe(0);
        expect(await store.countOwned(BOB)).toBe(0);
        expect(await store.countOwned(BOB, ['conference'])).toBe(0);
        expect(await store.countOwned('xcon-userid:nobody@example.com')).toBe(0);
      });

      it('counts owned objects whatever the case of the owner', async () => {
        await create(
          sample({ uri: 'xcon:bobs@example.com', owner: 'XCON-USERID:Bob@Example.COM', members: [] }),
        );
        expect(await store.countOwned(BOB, ['conference'])).toBe(1);
        expect(await store.countOwned('Xcon-UserID:BOB@example.com', ['conference'])).toBe(1);
      });

      it('follows ownership through updates and deletes', async () => {
        const old = await store.get('xcon:old@example.com');
        await store.commit([
          { op: 'put', object: { ...old!, version: 2, owner: BOB }, expectedVersion: 1 },
          { op: 'delete', uri: 'xcon:new@example.com', expectedVersion: 1 },
        ]);
        expect(await store.countOwned(ALICE, ['conference'])).toBe(1);
        expect(await store.countOwned(BOB, ['conference'])).toBe(1);
      });

      it('leaves the owned count alone when a commit fails', async () => {
        await expectConflict(
          store.commit([
            { op: 'put', object: sample({ uri: 'xcon:bobs@example.com', owner: BOB }) },
            { op: 'delete', uri: 'xcon:old@example.com', expectedVersion: 9 },
          ]),
          'xcon:old@example.com',
          1,
        );
        expect(await store.countOwned(BOB)).toBe(0);
        expect(await store.countOwned(ALICE, ['conference'])).toBe(3);
      });
    });

    describe('allocated users', () => {
      it('inserts once, then returns the first allocation', async () => {
        expect(await store.findAllocatedUser('sip:carol@example.com')).toBeUndefined();
        expect(await store.allocateUser('xcon-userid:carol1@example.com', 'sip:carol@example.com')).toBe(
          'xcon-userid:carol1@example.com',
        );
        expect(await store.allocateUser('xcon-userid:carol2@example.com', 'sip:carol@example.com')).toBe(
          'xcon-userid:carol1@example.com',
        );
        expect(await store.findAllocatedUser('sip:carol@example.com')).toBe('xcon-userid:carol1@example.com');
        expect(await store.isAllocatedUser('xcon-userid:carol2@example.com')).toBe(false);
      });

      it('keys signalling URIs and user IDs case-insensitively', async () => {
        expect(await store.allocateUser('XCON-USERID:Dave@Example.com', 'SIP:Dave@Example.COM')).toBe(
          'xcon-userid:dave@example.com',
        );
        expect(await store.allocateUser('xcon-userid:other@example.com', 'sip:dave@example.com')).toBe(
          'xcon-userid:dave@example.com',
        );
        expect(await store.findAllocatedUser('sip:DAVE@example.com')).toBe('xcon-userid:dave@example.com');
        expect(await store.isAllocatedUser('xcon-userid:dave@example.com')).toBe(true);
        expect(await store.isAllocatedUser('XCON-USERID:DAVE@EXAMPLE.COM')).toBe(true);
      });

      it('knows which user IDs it allocated', async () => {
        await store.allocateUser('xcon-userid:erin@example.com', 'tel:+15551234');
        await store.allocateUser('xcon-userid:erin@example.com', 'mailto:erin@example.com');
        expect(await store.isAllocatedUser('xcon-userid:erin@example.com')).toBe(true);
        expect(await store.isAllocatedUser('xcon-userid:frank@example.com')).toBe(false);
        expect(await store.findAllocatedUser('tel:+15551234')).toBe('xcon-userid:erin@example.com');
      });
    });

    describe('isolation', () => {
      it('does not share objects with callers', async () => {
        const object = sample();
        await create(object);
        object.document = '<mutated/>';
        object.members.push({ userId: BOB, role: 'participant' });
        object.members[0]!.role = 'mutated';

        const got = (await store.get('xcon:conf1@example.com'))!;
        expect(got).toStrictEqual(sample());
        got.members[0]!.role = 'mutated';
        got.members.push({ userId: BOB, role: 'participant' });
        got.version = 99;
        const [many] = await store.getMany(['xcon:conf1@example.com']);
        many!.members.length = 0;

        expect(await store.get('xcon:conf1@example.com')).toStrictEqual(sample());
        expect(await store.listByMember(BOB)).toEqual([]);
      });
    });

    describe('close', () => {
      it('rejects calls after close, and tolerates a second close', async () => {
        const other = await make();
        await other.close();
        await expect(other.get('xcon:conf1@example.com')).rejects.toThrow();
        await expect(other.commit([{ op: 'put', object: sample() }])).rejects.toThrow();
        await other.close();
      });
    });
  });
}
