/**
 * @module The conference store contract.
 *
 * The store keeps conference objects (blueprints, conferences, sidebars) as canonical XML with
 * their version, links, owner, members and backend handle, and the XCON-USERIDs the gateway
 * allocated. Writes are compare-and-set on the version, applied atomically in one commit, so
 * the same logic stays correct when several processes or Worker isolates share one database.
 */

export type ObjectKind = 'blueprint' | 'conference' | 'sidebar-by-val' | 'sidebar-by-ref';

/** Conference roles kept in the member index. `invited` = named in allowed-users-list only. */
export interface Member {
  userId: string;
  role: string;
}

export interface StoredObject {
  /** XCON-URI, lower case: the key. */
  uri: string;
  kind: ObjectKind;
  version: number;
  /** Main conference of a sidebar. */
  parentUri?: string;
  /** Blueprint or conference this object was cloned from. */
  clonedFrom?: string;
  /** XCON-USERID of the creator (lower case). */
  owner: string;
  /** Conference password (RFC 6501 conf-uris/entry/conference-password), if protected. */
  password?: string;
  connector?: string;
  backendId?: string;
  joinUri?: string;
  /** The full conference document (`info:conference-info`), canonical XML. */
  document: string;
  /** The document as non-moderators see it, when it differs (password and anonymous users hidden). */
  publicDocument?: string;
  /** Users with a role in the conference, for authorization and listing. */
  members: Member[];
  createdAt: number;
  updatedAt: number;
}

export type Write =
  /** expectedVersion undefined: the object must not exist yet. */
  | { op: 'put'; object: StoredObject; expectedVersion?: number }
  | { op: 'delete'; uri: string; expectedVersion: number };

/** A compare-and-set failed: another writer changed the object first (or it already exists). */
export class StoreConflict extends Error {
  override readonly name = 'StoreConflict';
  constructor(
    readonly uri: string,
    readonly currentVersion: number | undefined,
  ) {
    super(`version conflict on ${uri}`);
  }
}

export interface ListOptions {
  kinds?: ObjectKind[];
  /** At most this many results (newest first). */
  limit?: number;
}

export interface ConferenceStore {
  get(uri: string): Promise<StoredObject | undefined>;
  getMany(uris: string[]): Promise<StoredObject[]>;
  /** Applies all writes or none. Throws StoreConflict when a version check fails. */
  commit(writes: Write[]): Promise<void>;
  /** URIs of objects where the user is a member, through the member index. */
  listByMember(userId: string, options?: ListOptions): Promise<string[]>;
  /** URIs of all objects of the given kinds (administrators, blueprints). */
  listAll(options?: ListOptions): Promise<string[]>;
  /** URIs of the sidebars of a conference. */
  listChildren(parentUri: string): Promise<string[]>;
  count(kinds?: ObjectKind[]): Promise<number>;
  /**
   * Objects of the given kinds that the user owns (created), through the owner index. Unlike
   * `listByMember`, invitations and other roles do not count: others cannot raise this number.
   */
  countOwned(owner: string, kinds?: ObjectKind[]): Promise<number>;

  /** The XCON-USERID allocated for a signalling URI (sip:, tel:, mailto:), if any. */
  findAllocatedUser(signallingUri: string): Promise<string | undefined>;
  /** Records an allocation; returns the existing XCON-USERID when the URI already has one. */
  allocateUser(userId: string, signallingUri: string): Promise<string>;
  /** Whether the XCON-USERID was allocated by this gateway. */
  isAllocatedUser(userId: string): Promise<boolean>;

  close(): Promise<void>;
}
