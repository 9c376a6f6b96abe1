/**
 * @module Seeding a store with many conferences, fast: a conference made through the gateway is
 * cloned under new URIs and users, and the clones are written in big batches through the store API.
 */
import type { ConferenceStore, StoredObject, Write } from '../src/store/types.ts';

const BATCH = 5_000;
/** Seeded owners own this many conferences each (a realistic handful). */
const CONFS_PER_SEEDED_OWNER = 5;

export interface SeedOptions {
  /** Index of the first clone and the end (exclusive); indexes make the URIs, so ranges must not overlap. */
  from: number;
  to: number;
  /** Local part of the XCON-USERID that owns clone i; default: one of many seeded users. */
  owner?: (i: number) => string;
}

/**
 * Writes clones `from`…`to - 1` of `template`. Each clone has its owner as organizer and two
 * seeded guests as participants; the template's creator and invitees appear in none.
 */
export async function seedConferences(
  store: ConferenceStore,
  template: StoredObject,
  options: SeedOptions,
): Promise<number> {
  const newest = Date.now();
  let writes: Write[] = [];
  for (let i = options.from; i < options.to; i++) {
    writes.push({ op: 'put', object: cloneConference(template, i, newest, options.owner) });
    if (writes.length === BATCH) {
      await store.commit(writes);
      writes = [];
    }
  }
  if (writes.length > 0) await store.commit(writes);
  return Math.max(0, options.to - options.from);
}

function cloneConference(
  template: StoredObject,
  i: number,
  newest: number,
  ownerOf: ((i: number) => string) | undefined,
): StoredObject {
  const domain = template.uri.slice(template.uri.lastIndexOf('@') + 1);
  const uri = `xcon:seed-${i.toString(36)}@${domain}`;
  const owner = `${ownerOf?.(i) ?? `seed-user-${Math.floor(i / CONFS_PER_SEEDED_OWNER)}`}@${domain}`;
  const guest1 = `seed-guest-${(i * 7919) % 50_021}@${domain}`;
  const guest2 = `seed-guest-${(i * 104_729 + 1) % 50_021}@${domain}`;
  const creator = template.owner.replace(/^xcon-userid:/, '');
  // The template's document names its creator (organizer), then pauline and laure (invited).
  const document = template.document
    .replaceAll(template.uri, uri)
    .replace(
      new RegExp(`(<info:user entity="xcon-userid:${creator}"><info:display-text>)[^<]*`),
      `$1User ${i}`,
    )
    .replaceAll(creator, owner)
    .replaceAll(`pauline@${domain}`, guest1)
    .replaceAll(`laure@${domain}`, guest2)
    .replaceAll(template.backendId ?? '\u0000', `seed-${i}`);
  // Spread over the past year, so that the newest-first order interleaves users.
  const createdAt = newest - 1000 - ((i * 7_919_993) % 31_536_000_000);
  const object: StoredObject = {
    ...template,
    uri,
    version: 1,
    owner: `xcon-userid:${owner}`,
    document,
    members: [
      { userId: `xcon-userid:${owner}`, role: 'organizer' },
      { userId: `xcon-userid:${guest1}`, role: 'participant' },
      { userId: `xcon-userid:${guest2}`, role: 'participant' },
    ],
    createdAt,
    updatedAt: createdAt,
  };
  if (template.backendId !== undefined) object.backendId = `seed-${i}`;
  if (template.joinUri !== undefined) {
    object.joinUri = template.joinUri.replace(template.backendId ?? '\u0000', `seed-${i}`);
  }
  delete object.publicDocument;
  return object;
}
