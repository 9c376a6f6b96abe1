/**
 * @module Conference documents (RFC 4575 `conference-info` extended by RFC 6501).
 *
 * A document is kept as an XElement tree while it is being changed, and stored as canonical XML
 * whose root always starts with the same declarations, so that a stored document can be embedded
 * in a response (as `confInfo`, `blueprintInfo`, ...) by renaming its root, without parsing it.
 */
import { NS } from '../xml/namespaces.ts';
import { parseXml } from '../xml/parse.ts';
import { serialize } from '../xml/serialize.ts';
import { attr, child, clone, ensureChild, setAttr, text, type XElement } from '../xml/tree.ts';
import { Lru } from '../util/lru.ts';

const ROOT = '<info:conference-info';
const HEAD = `${ROOT} xmlns:info="${NS.info}" xmlns:xcon="${NS.xcon}"`;
const TAIL = '</info:conference-info>';
const DECLARED: ReadonlySet<string> = new Set([NS.info, NS.xcon]);

/** A conference-type element (root or payload) as a standalone canonical document. */
export function serializeDocument(doc: XElement): string {
  const root: XElement = { ...doc, ns: NS.info, name: 'conference-info' };
  const body = serialize(root, { type: 'conference', declared: DECLARED });
  return HEAD + body.slice(ROOT.length);
}

export function parseDocument(xml: string): XElement {
  return parseXml(xml, { maxDepth: 64 });
}

const parsed = new Lru<string, XElement>(256);

/**
 * A stored document as a tree the caller may change. Stored documents are re-read on every
 * change and every clone; keeping recent trees (by their exact text) saves parsing them again.
 */
export function parseStored(xml: string): XElement {
  let tree = parsed.get(xml);
  if (!tree) {
    tree = parseDocument(xml);
    parsed.set(xml, tree);
  }
  return clone(tree);
}

/** The stored document as a payload element of the response envelope. */
export function embedDocument(xml: string, elementName: string): string {
  if (!xml.startsWith(HEAD)) throw new Error('not a canonical stored document');
  if (xml.endsWith('/>')) return `<${elementName}${xml.slice(HEAD.length)}`;
  return `<${elementName}${xml.slice(HEAD.length, xml.length - TAIL.length)}</${elementName}>`;
}

export function entityOf(doc: XElement): string {
  return attr(doc, 'entity') ?? '';
}

export function setEntity(doc: XElement, uri: string): void {
  setAttr(doc, 'entity', uri);
}

export const info = (name: string) => [NS.info, name] as const;
export const xcon = (name: string) => [NS.xcon, name] as const;

export function description(doc: XElement): XElement | undefined {
  return child(doc, NS.info, 'conference-description');
}

export function ensureDescription(doc: XElement): XElement {
  return ensureChild(doc, NS.info, 'conference-description');
}

export function descriptionText(doc: XElement, ns: string, name: string): string | undefined {
  const d = description(doc);
  const node = d ? child(d, ns, name) : undefined;
  return node ? text(node) : undefined;
}
