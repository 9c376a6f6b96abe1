/**
 * @module In-memory conference store, for unit tests.
 *
 * Same semantics as the SQLite store: lower-case keys, deep copies in and out, and all-or-nothing
 * compare-and-set commits. Writes of one commit are checked in order against a staged view, so a
 * commit may create an object and then update it, exactly as the SQL transaction would.
 */

import type { ConferenceStore, ListOptions, Member, StoredObject, Write } from './types.ts';
import { StoreConflict } from './types.ts';

export function memoryStore(): ConferenceStore {
  const objects = new Map<string, StoredObject>();
  /** userId → URIs of the objects where the user holds at least one role. */
  const byMember = new Map<string, Set<string>>();
  /** signalling URI → XCON-USERID. */
  const allocated = new Map<string, string>();
  const allocatedIds = new Set<string>();
  let closed = false;

  function run<T>(fn: () => T): Promise<T> {
    return new Promise((resolve) => {
      if (closed) throw new Error('memory store is closed');
      resolve(fn());
    });
  }

  function index(object: StoredObject, add: boolean): void {
    for (const { userId } of object.members) {
      let uris = byMember.get(userId);
      if (add) {
        if (!uris) byMember.set(userId, (uris = new Set()));
        uris.add(object.uri);
      } else if (uris) {
        uris.delete(object.uri);
        if (uris.size === 0) byMember.delete(userId);
      }
    }
  }

  function select(candidates: Iterable<StoredObject>, options: ListOptions = {}): string[] {
    const kinds = options.kinds;
    const limit = checkLimit(options.limit);
    const matching = [...candidates].filter((o) => !kinds || kinds.includes(o.kind)).sort(newestFirst);
    return matching.slice(0, limit).map((o) => o.uri);
  }

  function apply(writes: Write[]): void {
    // null marks a staged delete; absence means "as stored".
    const staged = new Map<string, StoredObject | null>();
    const current = (uri: string): StoredObject | undefined =>
      staged.has(uri) ? (staged.get(uri) ?? undefined) : objects.get(uri);

    for (const write of writes) {
      switch (write.op) {
        case 'put': {
          const object = normalise(write.object);
          const existing = current(object.uri);
          const ok =
            write.expectedVersion === undefined
              ? existing === undefined
              : existing?.version === write.expectedVersion;
          if (!ok) throw new StoreConflict(object.uri, existing?.version);
          staged.set(object.uri, object);
          break;
        }
        case 'delete': {
          const uri = write.uri.toLowerCase();
          const existing = current(uri);
          if (existing?.version !== write.expectedVersion) throw new StoreConflict(uri, existing?.version);
          staged.set(uri, null);
          break;
        }
      }
    }

    for (const [uri, object] of staged) {
      const previous = objects.get(uri);
      if (previous) index(previous, false);
      if (object) {
        objects.set(uri, object);
        index(object, true);
      } else {
        objects.delete(uri);
      }
    }
  }

  return {
    get: (uri) =>
      run(() => {
        const object = objects.get(uri.toLowerCase());
        return object && structuredClone(object);
      }),

    getMany: (uris) =>
      run(() => {
        const wanted = new Set(uris.map((uri) => uri.toLowerCase()));
        return [...wanted].flatMap((uri) => {
          const object = objects.get(uri);
          return object ? [structuredClone(object)] : [];
        });
      }),

    commit: (writes) =>
      run(() => {
        apply(writes);
      }),

    listByMember: (userId, options) =>
      run(() => {
        const uris = byMember.get(userId.toLowerCase()) ?? [];
        return select(
          [...uris].flatMap((uri) => objects.get(uri) ?? []),
          options,
        );
      }),

    listAll: (options) => run(() => select(objects.values(), options)),

    listChildren: (parentUri) =>
      run(() => {
        const parent = parentUri.toLowerCase();
        return select([...objects.values()].filter((o) => o.parentUri === parent));
      }),

    count: (kinds) => run(() => select(objects.values(), kinds ? { kinds } : {}).length),

    countOwned: (owner, kinds) =>
      run(() => {
        const id = owner.toLowerCase();
        let n = 0;
        for (const o of objects.values()) if (o.owner === id && (!kinds || kinds.includes(o.kind))) n++;
        return n;
      }),

    findAllocatedUser: (signallingUri) => run(() => allocated.get(signallingUri.toLowerCase())),

    allocateUser: (userId, signallingUri) =>
      run(() => {
        const key = signallingUri.toLowerCase();
        const existing = allocated.get(key);
        if (existing !== undefined) return existing;
        const id = userId.toLowerCase();
        allocated.set(key, id);
        allocatedIds.add(id);
        return id;
      }),

    isAllocatedUser: (userId) => run(() => allocatedIds.has(userId.toLowerCase())),

    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** A private deep copy with lower-case keys; members deduplicated as the SQL primary key does. */
function normalise(input: StoredObject): StoredObject {
  const object = structuredClone(input);
  object.uri = object.uri.toLowerCase();
  object.owner = object.owner.toLowerCase();
  if (object.parentUri !== undefined) object.parentUri = object.parentUri.toLowerCase();
  if (object.clonedFrom !== undefined) object.clonedFrom = object.clonedFrom.toLowerCase();
  const seen = new Set<string>();
  object.members = object.members.flatMap((member): Member[] => {
    const userId = member.userId.toLowerCase();
    const key = JSON.stringify([userId, member.role]);
    if (seen.has(key)) return [];
    seen.add(key);
    return [{ userId, role: member.role }];
  });
  return object;
}

function newestFirst(a: { createdAt: number; uri: string }, b: { createdAt: number; uri: string }): number {
  return b.createdAt - a.createdAt || (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0);
}

function checkLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new RangeError(`list limit must be a non-negative integer, got ${limit}`);
  }
  return limit;
}
