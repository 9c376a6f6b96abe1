/**
 * @module A Directory over LDAP: users found by a service search, passwords checked by binding as the user.
 *
 * Every value that goes into a filter is escaped (RFC 4515), so `alice)(uid=*` is a login that no
 * entry has, not a filter. Group memberships come from a memberOf-style attribute, from a search for
 * the groups that list the user, or both; the identity mappings turn them into system roles. When the
 * server cannot answer, every method throws DirectoryUnavailable: the gateway fails closed.
 * Wrap it in `cachedDirectory` so that a busy user costs the directory almost nothing.
 */
import { Filter, FilterParser, type Entry } from 'ldapts';
import { silentLogger, type Logger } from '../log.ts';
import type { DirectoryEntry, IdentityMap } from '../identity/identity-map.ts';
import { pickHa1, type DigestAlgorithm, type DigestDirectory } from './ha1.ts';
import { LdapConnections, type LdapStats, type Search } from './ldap-connection.ts';
import type { Directory, Principal } from './types.ts';

export interface LdapDirectoryOptions {
  /** `ldap://host:389` or `ldaps://host:636`. */
  url: string;
  /** Where users (and by default groups) are searched. */
  baseDn: string;
  /** The service account that searches; anonymous when absent. */
  bindDn?: string;
  bindPassword?: string;
  /** PEM CA certificates trusted for ldaps://. */
  ca?: string;
  /** Filter template with `{user}` that finds a login; default from the mappings, `(uid={user})`. */
  userFilter?: string;
  mappings: IdentityMap;
  /** Per operation; default 5000 ms. */
  timeoutMs?: number;
  /** Default: timeoutMs. */
  connectTimeoutMs?: number;
  /** Keep one service connection (Node); false opens one per operation (Workers). Default true. */
  reuseConnections?: boolean;
  /** The attribute holding Digest HA1 values; enables `digestHa1`. */
  ha1Attribute?: string;
  /** After a connection failure, answer "unavailable" without trying for this long; default 1000 ms. */
  failFastMs?: number;
  /** Retry-After given to clients while the directory is unavailable; default 5 s. */
  retryAfterSeconds?: number;
  logger?: Logger;
  now?: () => number;
}

export interface LdapDirectory extends Directory {
  /** Counters of LDAP operations, to measure what the caches save. */
  stats(): LdapStats;
  digestHa1?: DigestDirectory['digestHa1'];
}

export function ldapDirectory(options: LdapDirectoryOptions): LdapDirectory {
  const map = options.mappings;
  const userFilter = options.userFilter ?? map.userFilter;
  checkOptions(options, userFilter);
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const ldap = new LdapConnections({
    url: options.url,
    ...(options.bindDn !== undefined
      ? { bindDn: options.bindDn, bindPassword: options.bindPassword ?? '' }
      : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? timeoutMs,
    reuse: options.reuseConnections ?? true,
    failFastMs: options.failFastMs ?? 1_000,
    retryAfterSeconds: options.retryAfterSeconds ?? 5,
    logger,
    now: options.now ?? Date.now,
  });
  const baseAttributes = [...map.attributes];

  async function findEntry(
    search: Search,
    login: string,
    extraAttributes: string[] = [],
  ): Promise<DirectoryEntry | undefined> {
    if (login === '') return undefined;
    const { searchEntries } = await search(options.baseDn, {
      scope: 'sub',
      filter: fill(userFilter, { user: login }),
      attributes: [...baseAttributes, ...extraAttributes],
      sizeLimit: 2,
    });
    if (searchEntries.length > 1) {
      logger.log('warn', 'ldap.ambiguous_login', { login, filter: userFilter });
      return undefined;
    }
    const entry = searchEntries[0];
    return entry ? toDirectoryEntry(entry, map.memberOfAttribute) : undefined;
  }

  /** Adds the groups that list the entry, when some role depends on them. */
  async function withGroups(search: Search, entry: DirectoryEntry, login: string): Promise<DirectoryEntry> {
    const groups = map.groupSearch;
    if (!groups || !map.usesGroups) return entry;
    const { searchEntries } = await search(groups.base ?? options.baseDn, {
      scope: 'sub',
      filter: fill(groups.filter, { dn: entry.dn, login }),
      attributes: ['1.1'],
    });
    return { ...entry, groups: [...entry.groups, ...searchEntries.map((e) => e.dn)] };
  }

  function principalOf(entry: DirectoryEntry): Principal | undefined {
    const principal = map.principal(entry);
    if (!principal) logger.log('warn', 'identity.unmapped', { dn: entry.dn, mappings: map.name });
    return principal;
  }

  async function byLogin(login: string | undefined): Promise<Principal | undefined> {
    if (login === undefined) return undefined;
    return ldap.session(async (search) => {
      const entry = await findEntry(search, login);
      return entry ? principalOf(await withGroups(search, entry, login)) : undefined;
    });
  }

  const directory: LdapDirectory = {
    name: 'ldap',
    stats: () => ldap.stats(),

    async verifyPassword(username, password) {
      // An empty password would be an "unauthenticated bind", which many servers accept (RFC 4513 §5.1.2).
      if (password === '') return undefined;
      const login = map.loginFor(username);
      if (login === undefined) return undefined;
      return ldap.session(async (search) => {
        const entry = await findEntry(search, login);
        if (!entry || !(await ldap.bindAs(entry.dn, password))) return undefined;
        return principalOf(await withGroups(search, entry, login));
      });
    },

    async findUser(userId) {
      if (!/^xcon-userid:/i.test(userId.trim())) return undefined;
      const principal = await byLogin(map.loginFor(userId));
      // One stable XCON-USERID per user: an alias that reaches the entry is not that user's ID.
      return principal?.userId === userId.trim().toLowerCase() ? principal : undefined;
    },

    findByLogin: (login) => byLogin(map.loginFor(login)),

    async findByUri(uri) {
      const bare = uri.trim().replace(/^.*<([^>]*)>.*$/, '$1');
      if (!/^sips?:/i.test(bare)) return undefined;
      return byLogin(map.loginFor(bare));
    },

    close: () => ldap.close(),
  };

  const ha1Attribute = options.ha1Attribute;
  if (ha1Attribute !== undefined) {
    directory.digestHa1 = async (username: string, realm: string, algorithm: DigestAlgorithm) => {
      const login = map.loginFor(username);
      if (login === undefined) return undefined;
      return ldap.session(async (search) => {
        const entry = await findEntry(search, login, [ha1Attribute]);
        const ha1 =
          entry && pickHa1(entry.attributes.get(ha1Attribute.toLowerCase()) ?? [], realm, algorithm);
        if (!entry || ha1 === undefined) return undefined;
        const principal = principalOf(await withGroups(search, entry, login));
        return principal ? { ha1, principal } : undefined;
      });
    };
  }
  return directory;
}

/** Fills a filter template, escaping every value (RFC 4515 §3). */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : Filter.escape(value);
  });
}

function checkOptions(options: LdapDirectoryOptions, userFilter: string): void {
  if (!/^ldaps?:\/\/[^/]/i.test(options.url)) throw new Error('url must start with ldap:// or ldaps://');
  if (options.ca !== undefined && !/^ldaps:/i.test(options.url)) {
    throw new Error('ca applies to ldaps:// URLs only');
  }
  if (options.baseDn.trim() === '') throw new Error('baseDn must not be empty');
  if ((options.bindDn === undefined) !== (options.bindPassword === undefined)) {
    throw new Error('bindDn and bindPassword go together');
  }
  checkFilter(userFilter, 'userFilter', ['user']);
  if (options.mappings.groupSearch) {
    checkFilter(options.mappings.groupSearch.filter, 'groups.search.filter', ['dn', 'login']);
  }
}

/** Throws when the template has none of the placeholders or is not a filter once filled. */
export function checkFilter(template: string, what: string, placeholders: string[]): void {
  if (!placeholders.some((p) => template.includes(`{${p}}`))) {
    throw new Error(`${what} must contain ${placeholders.map((p) => `{${p}}`).join(' or ')}`);
  }
  // The parser forgives a missing closing parenthesis, which would hide a typo in the operator's filter.
  let depth = 0;
  for (const c of template) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0 || !template.startsWith('(')) {
    throw new Error(`${what} is not a valid LDAP filter: unbalanced parentheses in ${template}`);
  }
  try {
    FilterParser.parseString(fill(template, Object.fromEntries(placeholders.map((p) => [p, 'x']))));
  } catch (err) {
    throw new Error(`${what} is not a valid LDAP filter: ${(err as Error).message}`);
  }
}

function toDirectoryEntry(entry: Entry, memberOfAttribute: string | undefined): DirectoryEntry {
  const attributes = new Map<string, string[]>();
  for (const [name, raw] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = (Array.isArray(raw) ? raw : [raw]).map((v) =>
      typeof v === 'string' ? v : v.toString('utf8'),
    );
    attributes.set(name.toLowerCase(), values);
  }
  const groups = memberOfAttribute ? (attributes.get(memberOfAttribute.toLowerCase()) ?? []) : [];
  return { dn: entry.dn, attributes, groups };
}
