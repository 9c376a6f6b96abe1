/**
 * @module The directory of a deployment where bearer tokens are the only credentials.
 *
 * The identity provider that issues the tokens is the authority on users: any well-formed
 * XCON-USERID of a domain this gateway serves is a user, with no password and no system role.
 */
import { parseXconUserId, userIdFromSipUri } from '../model/ids.ts';
import type { Directory, Principal } from './types.ts';

export function tokenDirectory(domains: readonly string[]): Directory {
  const served = new Set(domains.map((d) => d.toLowerCase()));
  const principal = (userId: string): Principal | undefined => {
    const parsed = parseXconUserId(userId);
    if (!parsed || !served.has(parsed.host)) return undefined;
    const id = userId.trim().toLowerCase();
    return {
      userId: id,
      username: id,
      sipUri: `sip:${parsed.local}@${parsed.host}`.toLowerCase(),
      systemRoles: [],
    };
  };
  return {
    name: 'tokens',
    async verifyPassword() {
      return undefined;
    },
    async findUser(userId) {
      return principal(userId);
    },
    async findByLogin(username) {
      return principal(username.includes(':') ? username : `xcon-userid:${username}`);
    },
    async findByUri(uri) {
      const id = userIdFromSipUri(uri);
      return id ? principal(id) : undefined;
    },
  };
}
