/**
 * @module A small namespace-resolved XML tree.
 *
 * Every name carries its namespace URI, never a prefix: clients use any prefix they like, and the
 * gateway picks its own on output. Text nodes are strings. Conference documents keep unknown
 * extension elements and attributes as they are, so they survive a round trip.
 */

export interface XAttr {
  ns: string;
  name: string;
  value: string;
}

export interface XElement {
  ns: string;
  name: string;
  attrs: XAttr[];
  children: XNode[];
}

export type XNode = XElement | string;

export function isElement(node: XNode): node is XElement {
  return typeof node !== 'string';
}

export function el(
  ns: string,
  name: string,
  attrs: Record<string, string> = {},
  children: XNode[] = [],
): XElement {
  return {
    ns,
    name,
    attrs: Object.entries(attrs).map(([n, value]) => ({ ns: '', name: n, value })),
    children,
  };
}

export function textEl(ns: string, name: string, text: string, attrs: Record<string, string> = {}): XElement {
  return el(ns, name, attrs, text === '' ? [] : [text]);
}

export function elements(parent: XElement): XElement[] {
  return parent.children.filter(isElement);
}

export function children(parent: XElement, ns: string, name: string): XElement[] {
  return parent.children.filter((c): c is XElement => isElement(c) && c.name === name && c.ns === ns);
}

export function child(parent: XElement, ns: string, name: string): XElement | undefined {
  for (const c of parent.children) if (isElement(c) && c.name === name && c.ns === ns) return c;
  return undefined;
}

/** Follows a path of [ns, name] steps, taking the first match at each step. */
export function path(parent: XElement, ...steps: (readonly [string, string])[]): XElement | undefined {
  let cur: XElement | undefined = parent;
  for (const [ns, name] of steps) {
    if (!cur) return undefined;
    cur = child(cur, ns, name);
  }
  return cur;
}

/** The element's text, trimmed (RFC 6504 examples wrap values in newlines). */
export function text(node: XElement | undefined): string {
  if (!node) return '';
  return rawText(node).trim();
}

export function rawText(node: XElement): string {
  let out = '';
  for (const c of node.children) if (typeof c === 'string') out += c;
  return out;
}

export function attr(node: XElement, name: string, ns = ''): string | undefined {
  for (const a of node.attrs) if (a.name === name && a.ns === ns) return a.value;
  return undefined;
}

export function setAttr(node: XElement, name: string, value: string, ns = ''): void {
  const found = node.attrs.find((a) => a.name === name && a.ns === ns);
  if (found) found.value = value;
  else node.attrs.push({ ns, name, value });
}

export function removeAttr(node: XElement, name: string, ns = ''): void {
  node.attrs = node.attrs.filter((a) => !(a.name === name && a.ns === ns));
}

export function setText(node: XElement, value: string): void {
  node.children = value === '' ? [] : [value];
}

/** Replaces (or removes, with undefined) the single child of that name, keeping its position. */
export function setChild(parent: XElement, ns: string, name: string, value: XElement | undefined): void {
  const index = parent.children.findIndex((c) => isElement(c) && c.ns === ns && c.name === name);
  parent.children = parent.children.filter(
    (c, i) => i === index || !(isElement(c) && c.ns === ns && c.name === name),
  );
  if (index === -1) {
    if (value) parent.children.push(value);
  } else if (value) parent.children[index] = value;
  else parent.children.splice(index, 1);
}

export function removeChildren(parent: XElement, ns: string, name: string): void {
  parent.children = parent.children.filter((c) => !(isElement(c) && c.ns === ns && c.name === name));
}

/** Returns the child, creating an empty one when absent. */
export function ensureChild(parent: XElement, ns: string, name: string): XElement {
  const found = child(parent, ns, name);
  if (found) return found;
  const created = el(ns, name);
  parent.children.push(created);
  return created;
}

export function clone<T extends XNode>(node: T): T {
  if (typeof node === 'string') return node;
  return {
    ns: node.ns,
    name: node.name,
    attrs: node.attrs.map((a) => ({ ...a })),
    children: node.children.map((c) => clone(c)),
  } as T;
}

/** Depth-first walk over elements, the node itself first. */
export function* walk(node: XElement): Generator<XElement> {
  yield node;
  for (const c of node.children) if (isElement(c)) yield* walk(c);
}
