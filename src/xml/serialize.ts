/**
 * @module XML output in the gateway's canonical form.
 *
 * Known namespaces get the prefixes `ccmp`, `info` and `xcon` (Linphone compares `xcon:` names
 * literally); unknown extension namespaces get generated prefixes declared where first used.
 * Children of known conference-document types are put in schema order. Carriage returns are
 * written as `&#13;` so they survive the reader's end-of-line normalisation (iCalendar needs CRLF).
 */
import { OUTPUT_PREFIXES } from './namespaces.ts';
import { childType, rank, type DocType } from './order.ts';
import type { XElement } from './tree.ts';

export interface SerializeOptions {
  /** Schema type of the element, for ordering its descendants. */
  type?: DocType;
  /** Output name for the element itself, unqualified (e.g. `confInfo` for a conference document). */
  rename?: string;
  /** Namespaces already declared by the enclosing document. */
  declared?: ReadonlySet<string>;
}

export function serialize(node: XElement, options: SerializeOptions = {}): string {
  const out: string[] = [];
  const scope = new Map<string, string>();
  for (const ns of options.declared ?? []) {
    const prefix = OUTPUT_PREFIXES.get(ns);
    if (prefix) scope.set(ns, prefix);
  }
  write(node, options.type ?? 'other', scope, out, { counter: 0 }, options.rename);
  return out.join('');
}

function write(
  node: XElement,
  type: DocType,
  scope: Map<string, string>,
  out: string[],
  state: { counter: number },
  rename?: string,
): void {
  let local = scope;
  const decls: string[] = [];
  const prefixFor = (ns: string): string => {
    const known = local.get(ns);
    if (known !== undefined) return known;
    if (local === scope) local = new Map(scope);
    let prefix = OUTPUT_PREFIXES.get(ns);
    if (prefix === undefined || [...local.values()].includes(prefix)) prefix = `ns${++state.counter}`;
    local.set(ns, prefix);
    if (prefix !== 'xml') decls.push(` xmlns:${prefix}="${escapeAttr(ns)}"`);
    return prefix;
  };
  const tag = rename ?? (node.ns === '' ? node.name : `${prefixFor(node.ns)}:${node.name}`);
  let attrs = '';
  for (const a of node.attrs) {
    const qname = a.ns === '' ? a.name : `${prefixFor(a.ns)}:${a.name}`;
    attrs += ` ${qname}="${escapeAttr(a.value)}"`;
  }
  out.push('<', tag);
  for (const d of decls) out.push(d);
  out.push(attrs);
  if (node.children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  const kids = type === 'other' ? node.children : sortChildren(node, type);
  for (const c of kids) {
    if (typeof c === 'string') out.push(escapeText(c));
    else write(c, childType(type, c.ns, c.name), local, out, state);
  }
  out.push('</', tag, '>');
}

function sortChildren(node: XElement, type: DocType): XElement['children'] {
  let sorted = true;
  let last = -1;
  for (const c of node.children) {
    if (typeof c === 'string') continue;
    const r = rank(type, c.ns, c.name);
    if (r < last) {
      sorted = false;
      break;
    }
    last = r;
  }
  if (sorted) return node.children;
  return node.children
    .map((c, idx) => ({ c, idx, r: typeof c === 'string' ? -1 : rank(type, c.ns, c.name) }))
    .sort((a, b) => a.r - b.r || a.idx - b.idx)
    .map((e) => e.c);
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<>"\r\n\t]/;

export function escapeText(value: string): string {
  if (!TEXT_SPECIAL.test(value)) return value;
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

export function escapeAttr(value: string): string {
  if (!ATTR_SPECIAL.test(value)) return value;
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#13;')
    .replace(/\n/g, '&#10;')
    .replace(/\t/g, '&#9;');
}
