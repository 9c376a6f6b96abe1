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
    node.children = node.children.filter(
      (c) => !(isElement(c) && c.ns === NS.xcon && c.name === 'conference-password'),
    );
  }
  applyAnonymity(view, domain);
  return view;
}

function needsPublicView(doc: XElement): boolean {
  for (const node of walk(doc)) {
    if (node.ns === NS.xcon && (node.name === 'conference-password' || node.name === 'provide-anonymity'))
      return true;
  }
  return false;
}

function anonymityOf(user: XElement): string | undefined {
  const node = child(user, NS.xcon, 'provide-anonymity');
  const value = node ? text(node).toLowerCase() : '';
  return value === '' ? undefined : value;
}

/**
 * Masks the users who asked for anonymity, in the document and in the sidebars it embeds by value
 * (each a whole conference with its own users). A request made in either place counts in both,
 * and a user keeps one alias throughout the view.
 */
function applyAnonymity(doc: XElement, domain: string): void {
  const documents = [doc, ...sidebarsByValue(doc)];
  const modes = new Map<string, string>();
  for (const d of documents) {
    for (const user of userElements(d)) {
      const mode = anonymityOf(user);
      if (!mode) continue;
      const entity = normalizeId(attr(user, 'entity') ?? '');
      if (modes.get(entity) !== 'hidden') modes.set(entity, mode);
    }
  }
  if (modes.size === 0) return;
  const aliases = new Map<string, string | null>();
  let n = 0;
  for (const [entity, mode] of modes) {
    aliases.set(entity, mode === 'hidden' ? null : `xcon-userid:anonymous-${++n}@${domain}`);
  }
  for (const d of documents) maskUsers(d, aliases);
}

function sidebarsByValue(doc: XElement): XElement[] {
  const list = child(doc, NS.info, 'sidebars-by-val');
  if (!list) return [];
  return list.children.filter((c): c is XElement => isElement(c) && c.ns === NS.info && c.name === 'entry');
}

function maskUsers(doc: XElement, aliases: ReadonlyMap<string, string | null>): void {
  const users = usersOf(doc);
  if (!users) return;
  for (const user of userElements(doc)) {
    const alias = aliases.get(normalizeId(attr(user, 'entity') ?? ''));
    if (alias === undefined || alias === null) continue;
    setAttr(user, 'entity', alias);
    user.children = user.children.filter(
      (c) =>
        !isElement(c) ||
        !(
          c.ns === NS.info &&
          ['display-text', 'associated-aors', 'endpoint', 'cascaded-focus'].includes(c.name)
        ),
    );
    user.children.unshift({
      ns: NS.info,
      name: 'associated-aors',
      attrs: [],
      children: [
        {
          ns: NS.info,
          name: 'entry',
          attrs: [],
          children: [{ ns: NS.info, name: 'uri', attrs: [], children: [ANONYMOUS_SIP] }],
        },
      ],
    });
  }
  users.children = users.children.filter((c) => {
    if (!isElement(c) || c.ns !== NS.info || c.name !== 'user') return true;
    return aliases.get(normalizeId(attr(c, 'entity') ?? '')) !== null;
  });
  for (const listName of ['allowed-users-list', 'deny-users-list']) {
    const list = child(users, NS.xcon, listName);
    if (!list) continue;
    list.children = list.children.flatMap((c) => {
      if (!isElement(c) || c.name !== 'target') return [c];
      const alias = aliases.get(normalizeId(attr(c, 'uri') ?? ''));
      if (alias === undefined) return [c];
      if (alias === null) return [];
      setAttr(c, 'uri', alias);
      return [c];
    });
  }
}
