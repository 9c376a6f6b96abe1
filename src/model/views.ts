/**
 * @module What non-moderators may see of a conference document.
 *
 * Conference passwords are visible only to those who administer the conference. Users who asked
 * for anonymity (`xcon:provide-anonymity`: hidden, private, semi-private, or the RFC 6503 word
 * anonymous) are masked for everyone else: hidden users disappear, the others keep a `<user>` with
 * an anonymous entity and the RFC 3323 anonymous SIP URI, so clients that pair every allowed-users
 * target with a user (Linphone) still find one.
 */
import { NS } from '../xml/namespaces.ts';
import { attr, child, clone, isElement, setAttr, text, walk, type XElement } from '../xml/tree.ts';
import { normalizeId } from './ids.ts';
import { userElements, usersOf } from './users.ts';

const ANONYMOUS_SIP = 'sip:anonymous@anonymous.invalid';

/** The public view, or undefined when it equals the full document. */
export function publicView(doc: XElement, domain: string): XElement | undefined {
  if (!needsPublicView(doc)) return undefined;
  const view = clone(doc);
  for (const node of walk(view)) {
    node.children = node.children.filter((c) => !(isElement(c) && c.ns === NS.xcon && c.name === 'conference-password'));
  }
  applyAnonymity(view, domain);
  return view;
}

function needsPublicView(doc: XElement): boolean {
  for (const node of walk(doc)) {
    if (node.ns === NS.xcon && (node.name === 'conference-password' || node.name === 'provide-anonymity')) return true;
  }
  return false;
}

function anonymityOf(user: XElement): string | undefined {
  const node = child(user, NS.xcon, 'provide-anonymity');
  const value = node ? text(node).toLowerCase() : '';
  return value === '' ? undefined : value;
}

function applyAnonymity(doc: XElement, domain: string): void {
  const users = usersOf(doc);
  if (!users) return;
  const renamed = new Map<string, string | null>();
  let n = 0;
  for (const user of userElements(doc)) {
    const mode = anonymityOf(user);
    if (!mode) continue;
    const entity = normalizeId(attr(user, 'entity') ?? '');
    if (mode === 'hidden') {
      renamed.set(entity, null);
      continue;
    }
    const alias = `xcon-userid:anonymous-${++n}@${domain}`;
    renamed.set(entity, alias);
    setAttr(user, 'entity', alias);
    user.children = user.children.filter(
      (c) =>
        !isElement(c) ||
        !(c.ns === NS.info && ['display-text', 'associated-aors', 'endpoint', 'cascaded-focus'].includes(c.name)),
    );
    user.children.unshift({
      ns: NS.info,
      name: 'associated-aors',
      attrs: [],
      children: [{ ns: NS.info, name: 'entry', attrs: [], children: [{ ns: NS.info, name: 'uri', attrs: [], children: [ANONYMOUS_SIP] }] }],
    });
  }
  if (renamed.size === 0) return;
  users.children = users.children.filter(
    (c) => !(isElement(c) && c.ns === NS.info && c.name === 'user' && renamed.get(normalizeId(attr(c, 'entity') ?? '')) === null),
  );
  for (const listName of ['allowed-users-list', 'deny-users-list']) {
    const list = child(users, NS.xcon, listName);
    if (!list) continue;
    list.children = list.children.flatMap((c) => {
      if (!isElement(c) || c.name !== 'target') return [c];
      const key = normalizeId(attr(c, 'uri') ?? '');
      if (!renamed.has(key)) return [c];
      const alias = renamed.get(key);
      if (alias === null || alias === undefined) return [];
      setAttr(c, 'uri', alias);
      return [c];
    });
  }
}
