/**
 * @module Identities and the contracts of directories and authentication schemes.
 */

/** An authenticated or looked-up user of the conferencing system. */
export interface Principal {
  /** Canonical XCON-USERID, lower case (`xcon-userid:alice@example.com`). */
  userId: string;
  /** Login name as the directory knows it. */
  username: string;
  displayName?: string;
  /** SIP AOR (`sip:alice@example.com`). */
  sipUri?: string;
  /** System roles, e.g. `administrator`. */
  systemRoles: string[];
  /** Backend account IDs by connector name. */
  accounts?: Record<string, string>;
}

/** Where users, passwords and group memberships come from (demo table, LDAP, ...). */
export interface Directory {
  readonly name: string;
  /** The user, when the password is right; undefined when the user is unknown or the password wrong.
   * Throws DirectoryUnavailable when the directory cannot answer. */
  verifyPassword(username: string, password: string): Promise<Principal | undefined>;
  /** Looks a user up by XCON-USERID (case-insensitive). */
  findUser(userId: string): Promise<Principal | undefined>;
  /** Looks a user up by login name. */
  findByLogin(username: string): Promise<Principal | undefined>;
  /** Looks a user up by signalling URI (`sip:alice@example.com`). */
  findByUri(uri: string): Promise<Principal | undefined>;
  close?(): Promise<void>;
}

/** What an authentication scheme may look at. */
export interface AuthRequest {
  method: string;
  /** Request target as sent (path and query), for Digest's `uri`. */
  url: string;
  header(name: string): string | undefined;
  clientAddress: string;
  /** CCMP `<subject>` credentials, when the request carried them. */
  subject?: { username?: string; password?: string };
}

export type AuthOutcome =
  | { status: 'authenticated'; principal: Principal; scheme: string }
  /** This scheme found no credentials of its kind. */
  | { status: 'absent' }
  /** Credentials of this kind were given and are wrong (reason is for logs and response texts). */
  | { status: 'rejected'; scheme: string; reason: string; user?: string };

export interface AuthScheme {
  /** basic, digest, bearer, subject */
  readonly name: string;
  /** A `WWW-Authenticate` challenge, for schemes carried in HTTP headers. */
  challenge?(): string | Promise<string>;
  authenticate(request: AuthRequest): Promise<AuthOutcome>;
}
