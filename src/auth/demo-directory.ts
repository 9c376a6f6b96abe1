/**
 * @module The demo directory: alice, bob and carol, for `npm start` with no set-up.
 *
 * Passwords equal the user names, so it must never face real users: the gateway logs a warning
 * at start whenever it is active. alice is a system administrator.
 */
import { timingSafeEqual } from '../platform.ts';
import type { Directory, Principal } from './types.ts';

const USERS = [
  { username: 'alice', displayName: 'Alice', admin: true },
  { username: 'bob', displayName: 'Bob', admin: false },
  { username: 'carol', displayName: 'Carol', admin: false },
];

export function demoDirectory(domain = 'example.com'): Directory {
  const principals = new Map<string, Principal & { password: string }>();
  for (const u of USERS) {
    principals.set(u.username, {
      userId: `xcon-userid:${u.username}@${domain}`.toLowerCase(),
      username: u.username,
      displayName: u.displayName,
      sipUri: `sip:${u.username}@${domain}`.toLowerCase(),
      systemRoles: u.admin ? ['administrator'] : [],
      password: u.username,
    });
  }
  const strip = (p: Principal & { password: string }): Principal => {
    const { password: _password, ...rest } = p;
    return rest;
  };
  const byLogin = (login: string) => {
    const l = login.trim().toLowerCase();
    const local = l.replace(/^(sips?:|xcon-userid:)/, '');
    const [user, host] = local.split('@');
    if (host !== undefined && host !== domain.toLowerCase()) return undefined;
    return user === undefined ? undefined : principals.get(user);
  };

  return {
    name: 'demo',
    async verifyPassword(username, password) {
      const found = byLogin(username);
      // Compare even for unknown users, so timing does not tell which names exist.
      const ok = timingSafeEqual(found?.password ?? '\u0000unknown', password);
      return found && ok ? strip(found) : undefined;
    },
    async findUser(userId) {
      if (!userId.toLowerCase().startsWith('xcon-userid:')) return undefined;
      const found = byLogin(userId);
      return found ? strip(found) : undefined;
    },
    async findByLogin(username) {
      const found = byLogin(username);
      return found ? strip(found) : undefined;
    },
    async findByUri(uri) {
      if (!/^sips?:/i.test(uri.trim())) return undefined;
      const found = byLogin(uri.replace(/[;?>].*$/, ''));
      return found ? strip(found) : undefined;
    },
  };
}
