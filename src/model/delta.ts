/**
 * @module Applying an update delta to a conference document (RFC 6503 §5.3.4).
 *
 * An update carries only the elements to change. Elements are matched to the stored ones by
 * their identity (entity, label, id, uri attribute, or `uri` child for URI lists), otherwise by
 * name. A leaf replaces the stored value; an element that is empty (no content, no attributes
 * besides its key) removes the stored one. Lists whose meaning is the whole list (allowed and
 * denied users, roles, keywords, conference time, codecs) are replaced as a whole, which is what
 * clients such as Linphone expect when they send the full list again.
 */
import { NS } from '../xml/namespaces.ts';
import { child, clone, isElement, text, type XElement } from '../xml/tree.ts';

const REPLACED_WHOLE = new Set([
  `${NS.xcon} allowed-users-list`,
  `${NS.xcon} deny-users-list`,
  `${NS.info} roles`,
  `${NS.info} keywords`,
  `${NS.info} languages`,
  `${NS.xcon} conference-time`,
  `${NS.xcon} codecs`,
]);

const KEY_ATTRS = ['entity', 'label', 'id', 'uri'];

function keyOf(node: XElement): string | undefined {
  for (const name of KEY_ATTRS) {
    const a = node.attrs.find((x) => x.name === name && x.ns === '');
    if (a) return `@${name}=${a.value.trim().toLowerCase()}`;
  }
  const uri = child(node, NS.info, 'uri');
  if (uri) return `uri=${text(uri).toLowerCase()}`;
  return undefined;
}

function isEmpty(node: XElement): boolean {
  if (node.children.some((c) => isElement(c) || c.trim() !== '')) return false;
  const keyAttr = KEY_ATTRS.find((n) => node.attrs.some((a) => a.name === n && a.ns === ''));
  return node.attrs.every((a) => a.name === keyAttr && a.ns === '');
}

function isLeaf(node: XElement): boolean {
  return !node.children.some(isElement);
}

/** Merges `delta` into `target` in place. The root's own key attribute (entity) is not changed. */
export function applyDelta(target: XElement, delta: XElement): void {
  for (const a of delta.attrs) {
    if (a.ns === '' && KEY_ATTRS.includes(a.name)) continue;
    const existing = target.attrs.find((x) => x.name === a.name && x.ns === a.ns);
    if (existing) existing.value = a.value;
    else target.attrs.push({ ...a });
  }
  const groups = new Map<string, XElement[]>();
  for (const c of delta.children) {
    if (!isElement(c)) continue;
    const name = `${c.ns} ${c.name}`;
    const list = groups.get(name);
    if (list) list.push(c);
    else groups.set(name, [c]);
  }
  for (const [name, items] of groups) {
    const same = (n: XElement) => `${n.ns} ${n.name}` === name;
    if (REPLACED_WHOLE.has(name)) {
      replaceAll(
        target,
        same,
        items.filter((i) => !isEmpty(i)).map((i) => clone(i)),
      );
      continue;
    }
    const keyed = items.every((i) => keyOf(i) !== undefined);
    if (keyed) {
      // One index of the stored siblings by key: large lists must not cost a scan per item.
      const byKey = new Map<string, XElement>();
      for (const c of target.children) {
        if (!isElement(c) || !same(c)) continue;
        const k = keyOf(c);
        if (k !== undefined && !byKey.has(k)) byKey.set(k, c);
      }
      const removed = new Set<XElement>();
      for (const item of items) {
        const key = keyOf(item) as string;
        const found = byKey.get(key);
        if (isEmpty(item)) {
          if (found) {
            removed.add(found);
            byKey.delete(key);
          }
        } else if (found) {
          applyDelta(found, item);
        } else {
          const added = clone(item);
          target.children.push(added);
          byKey.set(key, added);
        }
      }
      if (removed.size > 0)
        target.children = target.children.filter((c) => !(isElement(c) && removed.has(c)));
      continue;
    }
    const existing = target.children.filter((c): c is XElement => isElement(c) && same(c));
    const item = items[0] as XElement;
    if (items.length > 1 || existing.length > 1) {
      replaceAll(
        target,
        same,
        items.filter((i) => !isEmpty(i)).map((i) => clone(i)),
      );
    } else if (isEmpty(item)) {
      replaceAll(target, same, []);
    } else if (existing[0] && !isLeaf(item) && !isLeaf(existing[0])) {
      applyDelta(existing[0], item);
    } else {
      replaceAll(target, same, [clone(item)]);
    }
  }
}

function replaceAll(target: XElement, same: (n: XElement) => boolean, replacement: XElement[]): void {
  const index = target.children.findIndex((c) => isElement(c) && same(c));
  const kept = target.children.filter((c) => !(isElement(c) && same(c)));
  const at = index === -1 ? kept.length : Math.min(index, kept.length);
  kept.splice(at, 0, ...replacement);
  target.children = kept;
}
