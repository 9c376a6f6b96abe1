/**
 * @module Hardened, namespace-aware XML parsing on top of fast-xml-parser.
 *
 * fast-xml-parser returns prefixed names; this module resolves every prefix to its namespace URI
 * so that the rest of the gateway never looks at prefixes. DOCTYPE and entity declarations are
 * refused before parsing (no entity expansion attacks), and nesting depth is bounded.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { NS } from './namespaces.ts';
import type { XAttr, XElement, XNode } from './tree.ts';

export class XmlError extends Error {
  override readonly name = 'XmlError';
}

export interface ParseLimits {
  /** Deepest element nesting accepted. */
  maxDepth: number;
}

const DEFAULT_LIMITS: ParseLimits = { maxDepth: 64 };

/** The parser's settings; exported so that `npm run bench` can measure this parser on its own. */
export const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // IDs such as 0012 must stay strings: never coerce values.
  parseTagValue: false,
  parseAttributeValue: false,
  // Trimming happens where values are read; iCalendar text must keep its line ends.
  trimValues: false,
  // Entities are decoded here in one pass, so "&amp;#13;" cannot be decoded twice.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  allowBooleanAttributes: false,
  // No callback reads the path: building its string for each tag is wasted work.
  jPath: false,
} as const;

const parser = new XMLParser(PARSER_OPTIONS);

type RawNode = Record<string, unknown>;

// Lone surrogates fall outside the ranges too: with the u flag they are matched as code points.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Parses a document and returns its root element, namespaces resolved. Throws XmlError. */
export function parseXml(xml: string, limits: ParseLimits = DEFAULT_LIMITS): XElement {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new XmlError('DOCTYPE and entity declarations are not accepted');
  }
  // The XML Char production (XML 1.0 §2.2); the validator below does not check it, and a control
  // character or U+FFFE taken in would make every response that echoes it ill-formed.
  const bad = NOT_XML_CHAR.exec(xml);
  if (bad) {
    const code = bad[0].codePointAt(0) ?? 0;
    throw new XmlError(`U+${code.toString(16).toUpperCase().padStart(4, '0')} is not an XML character`);
  }
  checkDepth(xml, limits.maxDepth);
  // Still shipped and maintained in fast-xml-parser 5; the separate package is its future home.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    // The validator leaves the column out of some errors ("Start tag expected").
    const col = (valid.err.col as number | undefined) === undefined ? '' : `, column ${valid.err.col}`;
    throw new XmlError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line}${col})`);
  }
  let raw: unknown;
  try {
    raw = parser.parse(xml);
  } catch (e) {
    throw new XmlError(`not well-formed XML: ${e instanceof Error ? e.message : 'parse failure'}`);
  }
  const roots = (raw as RawNode[]).filter((n) => elementName(n) !== undefined);
  if (roots.length !== 1 || !roots[0]) throw new XmlError('the document must have exactly one root element');
  return convert(roots[0], { bindings: new Map([['xml', NS.xml]]) });
}

/**
 * The namespace bindings in scope: each element that declares some adds a link to its parent's
 * scope, so a declaration costs O(1) whatever is already in scope (copying the whole map per
 * element was quadratic: a 1 MiB document could take minutes). Lookups walk at most maxDepth links.
 */
interface Scope {
  readonly bindings: ReadonlyMap<string, string>;
  readonly parent?: Scope;
}

function lookup(scope: Scope, prefix: string): string | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const ns = s.bindings.get(prefix);
    if (ns !== undefined) return ns;
  }
  return undefined;
}

function elementName(node: RawNode): string | undefined {
  for (const key of Object.keys(node)) if (key !== ':@' && key !== '#text' && key !== '#cdata') return key;
  return undefined;
}

function convert(node: RawNode, scope: Scope): XElement {
  const qname = elementName(node) as string;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let local: Map<string, string> | undefined;
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) {
      const prefix = key === 'xmlns' ? '' : key.slice(6);
      const uri = decodeEntities(value);
      checkDeclaration(prefix, uri);
      local ??= new Map();
      local.set(prefix, uri);
    }
  }
  const inScope: Scope = local ? { bindings: local, parent: scope } : scope;
  checkQName(qname);
  const { ns, name } = resolve(qname, inScope, true);
  const attrs: XAttr[] = [];
  const expandedNames = new Set<string>();
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    checkQName(key);
    const resolved = resolve(key, inScope, false);
    let decoded = decodeEntities(value);
    // xsi:type holds a QName: resolve it now, while the prefixes are in scope ("{uri}local").
    if (resolved.ns === NS.xsi && resolved.name === 'type') {
      const q = resolve(decoded.trim(), inScope, true);
      decoded = `{${q.ns}}${q.name}`;
    }
    const expanded = `{${resolved.ns}}${resolved.name}`;
    if (expandedNames.has(expanded)) {
      throw new XmlError(`attribute ${expanded} is repeated under another prefix`);
    }
    expandedNames.add(expanded);
    attrs.push({ ns: resolved.ns, name: resolved.name, value: decoded });
  }
  const children: XNode[] = [];
  let hasElement = false;
  for (const c of node[qname] as RawNode[]) {
    if ('#text' in c) children.push(decodeEntities(String(c['#text'])));
    else if ('#cdata' in c) {
      const parts = c['#cdata'] as RawNode[];
      children.push(parts.map((p) => (typeof p['#text'] === 'string' ? p['#text'] : '')).join(''));
    } else if (elementName(c) !== undefined) {
      hasElement = true;
      children.push(convert(c, inScope));
    }
  }
  // Whitespace between elements is layout, not content: none of the schemas use mixed content.
  const kept = hasElement
    ? children.filter((c) => typeof c !== 'string' || c.trim() !== '')
    : mergeText(children);
  return { ns, name, attrs, children: kept };
}

function mergeText(nodes: XNode[]): XNode[] {
  if (nodes.length <= 1) return nodes;
  return [nodes.filter((n): n is string => typeof n === 'string').join('')];
}

const XMLNS_URI = 'http://www.w3.org/2000/xmlns/';

/** Namespaces in XML 1.0 §3: reserved prefixes and names are not rebound, and prefixes not undeclared. */
function checkDeclaration(prefix: string, uri: string): void {
  if (prefix === 'xmlns') throw new XmlError('the prefix xmlns must not be declared');
  if (prefix === 'xml' ? uri !== NS.xml : uri === NS.xml) {
    throw new XmlError(`only the prefix xml is bound to ${NS.xml}`);
  }
  if (uri === XMLNS_URI) throw new XmlError(`no prefix may be bound to ${XMLNS_URI}`);
  if (prefix !== '' && uri === '') throw new XmlError(`the prefix ${prefix} cannot be undeclared`);
}

/** An element or attribute name has at most one colon, with a prefix and a local part around it. */
function checkQName(qname: string): void {
  const colon = qname.indexOf(':');
  if (colon === -1) return;
  if (colon === 0 || colon === qname.length - 1 || qname.includes(':', colon + 1)) {
    throw new XmlError(`"${qname}" is not a qualified name`);
  }
}

function resolve(qname: string, scope: Scope, isElement: boolean): { ns: string; name: string } {
  const colon = qname.indexOf(':');
  if (colon === -1) return { ns: isElement ? (lookup(scope, '') ?? '') : '', name: qname };
  const prefix = qname.slice(0, colon);
  const ns = lookup(scope, prefix);
  if (ns === undefined) throw new XmlError(`namespace prefix "${prefix}" is not declared`);
  return { ns, name: qname.slice(colon + 1) };
}

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos)?;?/g;

export function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(ENTITY, (match: string, body: string | undefined) => {
    if (body === undefined || !match.endsWith(';'))
      throw new XmlError(`unknown or malformed entity reference near "${match}"`);
    switch (body) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = body.startsWith('#x') ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        if (!isXmlChar(code)) throw new XmlError(`character reference ${match} is not an XML character`);
        return String.fromCodePoint(code);
      }
    }
  });
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** A linear pre-scan: the parsers recurse, so a hostile document must not reach them too deep. */
function checkDepth(xml: string, maxDepth: number): void {
  let depth = 0;
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === 33 /* ! */) {
      const end = xml.startsWith('<![CDATA[', lt) ? xml.indexOf(']]>', lt) : xml.indexOf('-->', lt);
      i = end === -1 ? n : end + 3;
      continue;
    }
    if (next === 63 /* ? */) {
      const end = xml.indexOf('?>', lt);
      i = end === -1 ? n : end + 2;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt === -1) break;
    if (next === 47 /* / */) depth--;
    else if (xml.charCodeAt(gt - 1) !== 47) {
      depth++;
      if (depth > maxDepth) throw new XmlError(`elements are nested deeper than ${maxDepth} levels`);
    }
    i = gt + 1;
  }
}
