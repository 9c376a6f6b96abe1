/**
 * @module Namespace-free DOM copies of stored conference documents, for XPath filters.
 *
 * Clients write filters without prefixes, as in the RFC 6503 examples, while the documents are
 * namespaced; XPath 1.0 has no default namespace for name tests. Evaluating over a copy whose
 * elements and attributes carry only their local names makes `conference-info/...` match, and
 * extension namespaces then need no prefix either. Local names can collide across namespaces
 * (an extension `<ext:entry>` also matches `entry`); filters select documents, not elements, so
 * this only widens what a client's own expression matches. `xml:lang` keeps its namespace, which
 * `lang()` and `@xml:lang` rely on. Comments and processing instructions are not copied: they are
 * not conference data.
 *
 * Parsing is the expensive part of filtering a listing, and the same stored documents are listed
 * again and again, so copies are cached by their exact XML text. A hit therefore only ever returns
 * a document equal to the one the caller passed in; nothing leaks between requests.
 */
import { DOMImplementation, DOMParser } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { XPathDocumentError } from './errors.ts';
import { Lru } from '../util/lru.ts';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

/** Deeper documents are refused; the copy is recursive. Stored documents are far shallower. */
const MAX_DEPTH = 256;

const CACHE_ENTRIES = 256;
/**
 * Bounds the cache by the XML text size of the documents it holds. A DOM copy takes about 30 bytes
 * of heap per character of XML (measured on typical conference documents), so this is about 15 MB.
 */
const CACHE_CHARS = 512_000;

const cache = new Lru<string, Document>(CACHE_ENTRIES, CACHE_CHARS);

const parser = new DOMParser({
  onError: (level, message) => {
    // Stored documents come from the gateway's own serializer: even warnings mean corruption.
    throw new XPathDocumentError(`stored document is not well-formed XML (${level}): ${message}`);
  },
});

const implementation = new DOMImplementation();

function copyAttributes(from: Element, to: Element): void {
  const attributes = from.attributes;
  // Unqualified attributes first, so that they win over same-named ones from other namespaces.
  for (const qualified of [false, true]) {
    for (let i = 0; i < attributes.length; i++) {
      const attr = attributes.item(i);
      if (attr === null || attr.namespaceURI === XMLNS_NS) continue;
      if ((attr.namespaceURI !== null) !== qualified) continue;
      const local = attr.localName ?? attr.name;
      if (attr.namespaceURI === XML_NS) {
        to.setAttributeNS(XML_NS, `xml:${local}`, attr.value);
      } else if (!to.hasAttribute(local)) {
        to.setAttribute(local, attr.value);
      }
    }
  }
}

function copyChildren(from: Node, to: Node, target: Document, depth: number): void {
  if (depth > MAX_DEPTH) throw new XPathDocumentError(`stored document is nested deeper than ${MAX_DEPTH}`);
  for (let child = from.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === ELEMENT_NODE) {
      const element = child as Element;
      const copy = target.createElement(element.localName ?? element.nodeName);
      copyAttributes(element, copy);
      copyChildren(element, copy, target, depth + 1);
      to.appendChild(copy);
    } else if (child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE) {
      const data = child.nodeValue ?? '';
      // XPath's data model has no adjacent text nodes; CDATA next to text merges into one.
      const last = to.lastChild;
      if (last !== null && last.nodeType === TEXT_NODE) last.nodeValue = (last.nodeValue ?? '') + data;
      else to.appendChild(target.createTextNode(data));
    }
  }
}

function build(xml: string): Document {
  // Refused before parsing: no DTD processing of any kind, whatever the parser would do with it.
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new XPathDocumentError('stored document has a DOCTYPE or entity declaration');
  }
  let parsed: Document;
  try {
    parsed = parser.parseFromString(xml, 'text/xml');
  } catch (e) {
    if (e instanceof XPathDocumentError) throw e;
    // xmldom wraps what onError throws; keep its message, which names our error.
    throw new XPathDocumentError(
      `stored document is not well-formed XML: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (parsed.documentElement === null) throw new XPathDocumentError('stored document has no root element');
  const copy = implementation.createDocument(null, '');
  copyChildren(parsed, copy, copy, 0);
  return copy;
}

/**
 * The namespace-free document node for `xml`, from the cache when the same text was seen recently.
 * Throws XPathDocumentError when the text is not a well-formed document without DTD.
 */
export function namespaceFreeDocument(xml: string): Document {
  const cached = cache.get(xml);
  if (cached !== undefined) return cached;
  const built = build(xml);
  cache.set(xml, built, xml.length);
  return built;
}

/** Empties the document cache (tests, memory pressure). */
export function clearDocumentCache(): void {
  cache.clear();
}
