/**
 * @module test/helpers/validate
 * Schema checks for what the gateway emits: a CCMP response envelope against the RFC 6503 XSD, and every
 * conference document inside it against the RFC 6501 RELAX NG (the only normative grammar of the XCON
 * data model; the XSD lets `xcon:` elements through its lax wildcards unchecked). Both run xmllint.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DOMParser, XMLSerializer, onErrorStopParsing } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';

const SCHEMAS = new URL('../fixtures/schemas/', import.meta.url);
const CCMP_XSD = fileURLToPath(new URL('xcon-ccmp.rfc6503.xsd', SCHEMAS));
const XCON_RNG = fileURLToPath(new URL('xcon-conference-info.rfc6501.rng', SCHEMAS));

const CCMP_NS = 'urn:ietf:params:xml:ns:xcon-ccmp';
const INFO_NS = 'urn:ietf:params:xml:ns:conference-info';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** Unqualified CCMP elements whose content is a whole conference object (`info:conference-type`). */
const CONFERENCE_ELEMENTS = new Set(['confInfo', 'blueprintInfo', 'sidebarByValInfo', 'sidebarByRefInfo']);

/** RFC 6501 requires `entity` on the root; users alone have no conference, so they get this one. */
const PLACEHOLDER_ENTITY = 'xcon:validation@example.com';

/**
 * Throws unless `xml` is a `ccmpResponse` valid against the RFC 6503 XSD whose conference documents
 * (`confInfo`, `blueprintInfo`, `sidebarByValInfo`, `sidebarByRefInfo`, each entry of `sidebarsByValInfo`,
 * and `usersInfo` / `userInfo` wrapped in a conference) are valid against the RFC 6501 RELAX NG.
 */
export function validateCcmpResponse(xml: string): void {
  const xsdErrors = xmllint(['--schema', CCMP_XSD], xml);
  if (xsdErrors !== undefined) {
    throw new Error(
      `CCMP response is not valid against the RFC 6503 XSD:\n${xsdErrors}\n${quote('response', xml)}`,
    );
  }

  const root = parse(xml).documentElement;
  if (root?.namespaceURI !== CCMP_NS || root.localName !== 'ccmpResponse') {
    throw new Error(
      `not a CCMP response: root element is <${root?.nodeName ?? ''}>\n${quote('response', xml)}`,
    );
  }

  for (const { label, document } of conferenceDocuments(root)) {
    const rngErrors = xmllint(['--relaxng', XCON_RNG], document);
    if (rngErrors !== undefined) {
      throw new Error(
        `${label} of the CCMP response is not valid against the RFC 6501 RELAX NG:\n${rngErrors}\n` +
          `${quote('checked as', document)}\n${quote('response', xml)}`,
      );
    }
  }
}

/** Throws unless `xml` is a standalone `conference-info` document valid against the RFC 6501 RELAX NG. */
export function validateConferenceDocument(xml: string): void {
  const errors = xmllint(['--relaxng', XCON_RNG], xml);
  if (errors !== undefined) {
    throw new Error(
      `conference document is not valid against the RFC 6501 RELAX NG:\n${errors}\n${quote('document', xml)}`,
    );
  }
}

interface Extracted {
  label: string;
  document: string;
}

type MakeInfo = (localName: string) => Element;

function conferenceDocuments(root: Element): Extracted[] {
  const found: Extracted[] = [];
  const add = (label: string, source: Element, fill: (conference: Element, info: MakeInfo) => void): void => {
    found.push({ label, document: standalone(source, fill) });
  };

  for (const el of descendants(root)) {
    if (el.namespaceURI !== null) continue;
    const name = el.localName ?? '';
    if (CONFERENCE_ELEMENTS.has(name)) {
      add(`<${name}>`, el, (conference) => {
        copyContent(el, conference);
      });
    } else if (name === 'sidebarsByValInfo') {
      childElements(el).forEach((entry, i) => {
        if (entry.namespaceURI !== INFO_NS || entry.localName !== 'entry') return;
        add(`<info:entry> ${i + 1} of <${name}>`, entry, (conference) => {
          copyContent(entry, conference);
        });
      });
    } else if (name === 'usersInfo') {
      add(`<${name}>`, el, (conference, info) => {
        conference.setAttribute('entity', PLACEHOLDER_ENTITY);
        conference.appendChild(copyContent(el, info('users')));
      });
    } else if (name === 'userInfo') {
      add(`<${name}>`, el, (conference, info) => {
        conference.setAttribute('entity', PLACEHOLDER_ENTITY);
        conference.appendChild(info('users')).appendChild(copyContent(el, info('user')));
      });
    }
  }
  return found;
}

/**
 * A serialized `<info:conference-info>` root declaring every namespace binding in scope at `source`, so that
 * prefixes used in its content (and in QName-valued text) still resolve once it is cut out of the envelope.
 */
function standalone(source: Element, fill: (conference: Element, info: MakeInfo) => void): string {
  const bindings = inScopePrefixes(source);
  const prefix = [...bindings].find(([, uri]) => uri === INFO_NS)?.[0] ?? 'info';
  bindings.set(prefix, INFO_NS);
  const doc = source.ownerDocument!;
  const info: MakeInfo = (localName) => doc.createElementNS(INFO_NS, `${prefix}:${localName}`);
  const conference = info('conference-info');
  for (const [p, uri] of bindings) conference.setAttributeNS(XMLNS_NS, `xmlns:${p}`, uri);
  fill(conference, info);
  return new XMLSerializer().serializeToString(conference);
}

/** Copies the attributes and children of `from` into `to`, and returns `to`. */
function copyContent(from: Element, to: Element): Element {
  for (const attr of Array.from(from.attributes)) {
    // Declarations are made on the new root, from the full in-scope set.
    if (attr.namespaceURI === XMLNS_NS) continue;
    to.setAttributeNS(attr.namespaceURI, attr.name, attr.value);
  }
  for (const node of Array.from(from.childNodes)) to.appendChild(node.cloneNode(true));
  return to;
}

/** Prefix → namespace declarations visible at `el`, the nearest declaration winning. */
function inScopePrefixes(el: Element): Map<string, string> {
  const bindings = new Map<string, string>();
  for (let node: Element | null = el; node; node = parentElement(node)) {
    for (const attr of Array.from(node.attributes)) {
      if (attr.namespaceURI !== XMLNS_NS || attr.prefix !== 'xmlns') continue;
      const prefix = attr.localName ?? '';
      if (!bindings.has(prefix)) bindings.set(prefix, attr.value);
    }
  }
  // An undeclaration (xmlns:p="", XML 1.1) leaves the prefix unbound.
  for (const [prefix, uri] of bindings) if (uri === '') bindings.delete(prefix);
  return bindings;
}

function parentElement(el: Element): Element | null {
  const parent = el.parentNode;
  return parent && parent.nodeType === parent.ELEMENT_NODE ? (parent as Element) : null;
}

function* descendants(el: Element): Generator<Element> {
  for (const child of childElements(el)) {
    yield child;
    yield* descendants(child);
  }
}

function childElements(el: Element): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === n.ELEMENT_NODE);
}

function parse(xml: string) {
  return new DOMParser({ onError: onErrorStopParsing, locator: false }).parseFromString(xml, 'text/xml');
}

/** xmllint's messages when the document is invalid, `undefined` when it validates (by exit status). */
function xmllint(args: string[], input: string): string | undefined {
  try {
    execFileSync('xmllint', ['--noout', '--nonet', ...args, '-'], {
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return undefined;
  } catch (error) {
    const { code, status, stderr } = error as NodeJS.ErrnoException & {
      status?: number | null;
      stderr?: string;
    };
    if (code === 'ENOENT') {
      throw new Error('xmllint not found: install libxml2-utils (.ci/run does)', { cause: error });
    }
    if (typeof status !== 'number') throw error;
    return withoutImportNotice(stderr ?? '') || `xmllint exited with status ${status}`;
  }
}

/** Drops the notice that `--nonet` skips RFC 4575's import of xml.xsd, which nothing in the schema uses. */
function withoutImportNotice(messages: string): string {
  return messages
    .split('\n')
    .filter((line) => !line.includes('http://www.w3.org/2001/03/xml.xsd'))
    .join('\n')
    .trim();
}

function quote(title: string, xml: string): string {
  return `--- ${title} ---\n${xml}`;
}
