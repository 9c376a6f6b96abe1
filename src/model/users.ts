/**
 * @module Users of a conference document: the `<users>` element, roles, allowed-users targets,
 * and the member index derived from them.
 */
import { NS } from '../xml/namespaces.ts';
import {
  attr,
  child,
  children,
  el,
  ensureChild,
  isElement,
  setAttr,
  text,
  textEl,
  type XElement,
} from '../xml/tree.ts';
import type { Member } from '../store/types.ts';
import { normalizeId } from './ids.ts';

export function usersOf(doc: XElement): XElement | undefined {
  return child(doc, NS.info, 'users');
}

export function userElements(doc: XElement): XElement[] {
  const users = usersOf(doc);
  return users ? children(users, NS.info, 'user') : [];
}

export function findUserElement(doc: XElement, userId: string): XElement | undefined {
  const key = normalizeId(userId);
  return userElements(doc).find((u) => normalizeId(attr(u, 'entity') ?? '') === key);
}

export function rolesOf(user: XElement): string[] {
  const roles = child(user, NS.info, 'roles');
  return roles
    ? children(roles, NS.info, 'entry')
        .map((e) => text(e))
        .filter((r) => r !== '')
    : [];
}

export interface Target {
  uri: string;
  method: string;
}

export function targetsOf(doc: XElement): Target[] {
  const users = usersOf(doc);
  const list = users ? child(users, NS.xcon, 'allowed-users-list') : undefined;
  if (!list) return [];
  return children(list, NS.xcon, 'target').map((t) => ({
    uri: (attr(t, 'uri') ?? '').trim(),
    method: (attr(t, 'method') ?? 'dial-in').trim(),
  }));
}

export function setTargets(doc: XElement, targets: Target[]): void {
  const users = ensureChild(doc, NS.info, 'users');
  let list = child(users, NS.xcon, 'allowed-users-list');
  if (!list) {
    list = el(NS.xcon, 'allowed-users-list');
    users.children.push(list);
  }
  const other = list.children.filter((c) => isElement(c) && !(c.ns === NS.xcon && c.name === 'target'));
  list.children = [...targets.map((t) => el(NS.xcon, 'target', { uri: t.uri, method: t.method })), ...other];
}

export function admissionPolicy(doc: XElement): string | undefined {
  const users = usersOf(doc);
  const node = users ? child(users, NS.xcon, 'user-admission-policy') : undefined;
  return node ? text(node) : undefined;
}

/** Adds a `<user>` (or completes an existing one) with the given facts. */
export function upsertUser(
  doc: XElement,
  userId: string,
  facts: { displayName?: string; sipUri?: string; roles?: string[] },
): XElement {
  let user = findUserElement(doc, userId);
  if (!user) {
    const users = ensureChild(doc, NS.info, 'users');
    user = el(NS.info, 'user', { entity: userId });
    const firstNonUser = users.children.findIndex(
      (c) => isElement(c) && !(c.ns === NS.info && c.name === 'user'),
    );
    if (firstNonUser === -1) users.children.push(user);
    else users.children.splice(firstNonUser, 0, user);
  } else {
    setAttr(user, 'entity', userId);
  }
  if (facts.displayName && !child(user, NS.info, 'display-text')) {
    user.children.unshift(textEl(NS.info, 'display-text', facts.displayName));
  }
  if (facts.sipUri) {
    const aors = ensureChild(user, NS.info, 'associated-aors');
    const known = children(aors, NS.info, 'entry').some(
      (e) => text(child(e, NS.info, 'uri')).toLowerCase() === facts.sipUri?.toLowerCase(),
    );
    if (!known) aors.children.push(el(NS.info, 'entry', {}, [textEl(NS.info, 'uri', facts.sipUri)]));
  }
  if (facts.roles && facts.roles.length > 0) {
    const roles = ensureChild(user, NS.info, 'roles');
    const have = new Set(rolesOf(user).map((r) => r.toLowerCase()));
    for (const r of facts.roles)
      if (!have.has(r.toLowerCase())) roles.children.push(textEl(NS.info, 'entry', r));
  }
  return user;
}

export function removeUser(doc: XElement, userId: string): boolean {
  const users = usersOf(doc);
  if (!users) return false;
  const key = normalizeId(userId);
  const before = users.children.length;
  users.children = users.children.filter(
    (c) =>
      !(
        isElement(c) &&
        c.ns === NS.info &&
        c.name === 'user' &&
        normalizeId(attr(c, 'entity') ?? '') === key
      ),
  );
  return users.children.length !== before;
}

export function sipUriOf(user: XElement): string | undefined {
  const aors = child(user, NS.info, 'associated-aors');
  if (aors) {
    for (const e of children(aors, NS.info, 'entry')) {
      const uri = text(child(e, NS.info, 'uri'));
      if (/^sips?:/i.test(uri)) return uri;
    }
  }
  for (const endpoint of children(user, NS.info, 'endpoint')) {
    const entity = attr(endpoint, 'entity') ?? '';
    if (/^sips?:/i.test(entity.trim())) return entity.trim();
  }
  return undefined;
}

/** The member index of a document: every user with a role, and every invited XCON-USERID. */
const ROLE_STRENGTH = ['organizer', 'administrator', 'moderator', 'participant', 'user', 'observer'];

export function membersOf(doc: XElement, owner: string): Member[] {
  const roles = new Map<string, string>();
  const put = (userId: string, role: string) => {
    const key = normalizeId(userId);
    if (key === '' || roles.has(key)) return;
    roles.set(key, role);
  };
  if (owner !== '') put(owner, 'organizer');
  for (const u of userElements(doc)) {
    const entity = attr(u, 'entity');
    if (!entity) continue;
    const r = rolesOf(u).map((x) => x.toLowerCase());
    // A user holding several roles is indexed under the strongest one.
    const role = ROLE_STRENGTH.find((x) => r.includes(x)) ?? r.find((x) => x !== '') ?? 'participant';
    put(entity, role);
  }
  for (const t of targetsOf(doc)) {
    if (t.uri.toLowerCase().startsWith('xcon-userid:')) put(t.uri, 'invited');
  }
  return [...roles.entries()].map(([userId, role]) => ({ userId, role }));
}
