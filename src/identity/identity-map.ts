/**
 * @module Compiled identity mappings: login or address to directory login, directory entry to Principal.
 *
 * XCON-USERIDs are derived the way Linphone derives them, from the SIP AOR with its scheme replaced
 * (`sip:alice@example.com` → `xcon-userid:alice@example.com`), so that the confUserID a client sends
 * and the one the gateway computes are equal without any stored state.
 */
import type { Principal } from '../auth/types.ts';
import { userIdFromSipUri } from '../model/ids.ts';
import type { MappingsDocument, RoleRule } from './mappings.ts';
import { encodeSipUser, parseTemplate, renderTemplate, type Template } from './template.ts';

/** A directory entry as the mappings see it: attribute names are matched case-insensitively. */
export interface DirectoryEntry {
  dn: string;
  /** Attribute values by lower-case attribute name. */
  attributes: ReadonlyMap<string, readonly string[]>;
  /** DNs of the groups the entry belongs to. */
  groups: readonly string[];
}

export interface IdentityMap {
  readonly name: string;
  /** Lower-case domains; the first is the primary one. */
  readonly domains: readonly string[];
  readonly loginAttribute: string;
  /** LDAP filter template with `{user}`, from the mappings (the operator's LDAP_USER_FILTER wins). */
  readonly userFilter: string;
  /** Attributes a lookup must fetch. */
  readonly attributes: readonly string[];
  readonly memberOfAttribute?: string;
  readonly groupSearch?: { base?: string; filter: string };
  /** True when some role depends on group memberships. */
  readonly usesGroups: boolean;
  /**
   * The directory login that a login name or an address designates; undefined when an address
   * belongs to a domain this directory does not serve or is malformed.
   */
  loginFor(input: string): string | undefined;
  /** The principal of an entry; undefined when the mappings cannot give it an XCON-USERID. */
  principal(entry: DirectoryEntry): Principal | undefined;
}

const ADDRESS = /^(xcon-userid|sips?):([^@;?>]*)@([^;?>:]+)/i;

export function compileMappings(doc: MappingsDocument): IdentityMap {
  const domains = doc.directory.domains.map((d) => d.toLowerCase());
  const loginAttribute = doc.directory.loginAttribute ?? 'uid';
  const addressLogin = parseTemplate(doc.directory.addressLogin ?? '{user}');
  const sipUri = parseTemplate(doc.identity.sipUri);
  const userId = doc.identity.userId !== undefined ? parseTemplate(doc.identity.userId) : undefined;
  const names = doc.identity.displayName;
  const displayNames = (typeof names === 'string' ? [names] : (names ?? [])).map(parseTemplate);
  const accounts = Object.entries(doc.accounts ?? {})
    .filter(([connector]) => connector !== '$comment')
    .map(([connector, source]) => [connector, parseTemplate(source)] as const);
  const roles = doc.roles ?? [];
  const memberOf = doc.groups?.memberOfAttribute;

  const wanted = new Set<string>([loginAttribute.toLowerCase()]);
  for (const t of [sipUri, userId, ...displayNames, ...accounts.map(([, t]) => t)]) {
    for (const n of t?.names ?? []) if (n !== 'dn') wanted.add(n.toLowerCase());
  }
  for (const rule of roles) if ('attribute' in rule) wanted.add(rule.attribute.toLowerCase());
  if (memberOf) wanted.add(memberOf.toLowerCase());

  return {
    name: doc.name ?? 'mappings',
    domains,
    loginAttribute,
    userFilter: doc.directory.userFilter ?? `(${loginAttribute}={user})`,
    attributes: [...wanted],
    ...(memberOf !== undefined ? { memberOfAttribute: memberOf } : {}),
    ...(doc.groups?.search ? { groupSearch: doc.groups.search } : {}),
    usesGroups: roles.some((r) => 'group' in r),

    loginFor(input) {
      const value = input.trim();
      const m = ADDRESS.exec(value);
      if (!m) return /^(xcon-userid|sips?):/i.test(value) ? undefined : value;
      const domain = (m[3] ?? '').toLowerCase();
      if (!domains.includes(domain)) return undefined;
      let user: string;
      try {
        user = decodeURIComponent(m[2] ?? '');
      } catch {
        return undefined;
      }
      if (user === '') return undefined;
      return renderTemplate(addressLogin, (n) => (n === 'user' ? user : n === 'domain' ? domain : undefined));
    },

    principal(entry) {
      const lookup = (name: string) =>
        name === 'dn' ? entry.dn : entry.attributes.get(name.toLowerCase())?.find((v) => v !== '');
      const aor = renderTemplate(sipUri, lookup, encodeSipUser);
      if (aor === undefined) return undefined;
      const id = userId ? renderTemplate(userId, lookup, encodeSipUser) : userIdFromSipUri(aor);
      const username = lookup(loginAttribute);
      if (id === undefined || !/^xcon-userid:[^@\s]+@[^@\s]+$/i.test(id) || username === undefined) {
        return undefined;
      }
      const principal: Principal = {
        userId: id.toLowerCase(),
        username,
        sipUri: aor,
        systemRoles: rolesOf(roles, entry),
      };
      const displayName = firstRendered(displayNames, lookup);
      if (displayName !== undefined) principal.displayName = displayName;
      const ids: Record<string, string> = {};
      for (const [connector, t] of accounts) {
        const v = renderTemplate(t, lookup);
        if (v !== undefined) ids[connector] = v;
      }
      if (Object.keys(ids).length > 0) principal.accounts = ids;
      return principal;
    },
  };
}

/** Normalizes a DN for comparison: lower case, no spaces around separators. */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) =>
      rdn
        .split(/(?<!\\)=/)
        .map((s) => s.trim())
        .join('='),
    )
    .join(',')
    .toLowerCase();
}

function rolesOf(rules: readonly RoleRule[], entry: DirectoryEntry): string[] {
  const groups = new Set(entry.groups.map(normalizeDn));
  const roles = new Set<string>();
  for (const rule of rules) {
    const granted =
      'group' in rule
        ? groups.has(normalizeDn(rule.group))
        : (entry.attributes.get(rule.attribute.toLowerCase()) ?? []).some(
            (v) => v.toLowerCase() === rule.value.toLowerCase(),
          );
    if (granted) roles.add(rule.role);
  }
  return [...roles];
}

function firstRendered(
  templates: readonly Template[],
  lookup: (n: string) => string | undefined,
): string | undefined {
  for (const t of templates) {
    const v = renderTemplate(t, lookup);
    if (v !== undefined) return v;
  }
  return undefined;
}
