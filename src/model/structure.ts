/**
 * @module Structural checks of conference documents that clients supply.
 *
 * What a client sends is stored and returned to others, so it must fit the schemas the responses
 * are validated against: RFC 4575 elements only where RFC 4575 puts them, RFC 6501 elements only
 * where RFC 6501 puts them, extension elements in a namespace of their own and holding elements or
 * attributes (RFC 6501 `anyExtension`), and lists that the XSD requires to be non-empty left out
 * when empty. Unknown extensions are otherwise kept as they are.
 */
import { BadRequest } from '../errors.ts';
import { NS } from '../xml/namespaces.ts';
import { childType, rank, type DocType } from '../xml/order.ts';
import { isElement, type XElement } from '../xml/tree.ts';

/** Containers whose XSD type needs at least one entry: an empty one means "none" and is dropped. */
const NEEDS_ENTRY = new Set([
  `${NS.info} conf-uris`,
  `${NS.info} service-uris`,
  `${NS.info} associated-aors`,
  `${NS.info} available-media`,
  `${NS.info} sidebars-by-ref`,
  `${NS.info} uris`,
  `${NS.info} roles`,
]);

/** Unqualified attributes RFC 4575 and RFC 6501 define (on their own elements). */
const KNOWN_ATTRIBUTES = new Set([
  'entity',
  'state',
  'version',
  'label',
  'id',
  'uri',
  'method',
  'name',
  'nickname',
  'policy',
  'decision',
  'required-participant',
]);

export function checkStructure(doc: XElement): void {
  visit(doc, 'conference', 'conference-info');
}

function visit(node: XElement, type: DocType, path: string): void {
  node.children = node.children.filter(
    (c) => !(isElement(c) && NEEDS_ENTRY.has(`${c.ns} ${c.name}`) && !c.children.some(isElement)),
  );
  const known = node.ns === NS.info || node.ns === NS.xcon;
  // Elements holding a value have simple types in the schemas: no extension attributes there.
  const valued = node.children.some((t) => typeof t === 'string' && t.trim() !== '');
  for (const a of node.attrs) {
    if (known && a.ns === '' && !KNOWN_ATTRIBUTES.has(a.name)) {
      throw new BadRequest(
        `${path}: attribute "${a.name}" is not defined here; extension attributes need a namespace`,
      );
    }
    if (known && valued && a.ns !== '' && a.ns !== NS.xml) {
      throw new BadRequest(`${path}: a value element takes no extension attribute ("${a.name}")`);
    }
  }
  for (const c of node.children) {
    if (!isElement(c)) continue;
    const where = `${path}/${c.name}`;
    if (c.ns === '')
      throw new BadRequest(
        `${where}: element without a namespace; extension elements need a namespace of their own`,
      );
    const ours = c.ns === NS.info || c.ns === NS.xcon;
    if (
      type !== 'other' &&
      ours &&
      rank(type, c.ns, c.name) === Number.MAX_SAFE_INTEGER &&
      !openChild(type, c)
    ) {
      throw new BadRequest(`${where}: element is not allowed at this place of a conference document`);
    }
    if (!ours && known && c.children.some((t) => typeof t === 'string' && t.trim() !== '')) {
      throw new BadRequest(
        `${where}: an extension element here may hold elements and attributes, not text (RFC 6501)`,
      );
    }
    visit(c, ours ? childType(type, c.ns, c.name) : 'other', where);
  }
}

/** RFC 4575 types whose own children the order tables do not list (they are checked as 'other'). */
function openChild(type: DocType, c: XElement): boolean {
  return type === 'time-entry' || type === 'floor' || (c.ns === NS.info && ['call-info'].includes(c.name));
}
