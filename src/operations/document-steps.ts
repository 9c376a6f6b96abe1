/**
 * @module Document rules the conference operations share: inheriting blueprint defaults, the
 * server-managed conf-uris entry, iCalendar line ends, protected elements, value checks.
 */
import { BadRequest, ForbiddenChangeProtected } from '../errors.ts';
import { checkStructure } from '../model/structure.ts';
import { ensureDescription, description } from '../model/document.ts';
import { parseXconUri } from '../model/ids.ts';
import { randomId } from '../platform.ts';
import { NS } from '../xml/namespaces.ts';
import {
  attr,
  child,
  children,
  clone,
  el,
  isElement,
  rawText,
  removeChildren,
  setChild,
  text,
  textEl,
  walk,
  type XElement,
} from '../xml/tree.ts';
import type { Ctx } from '../core/types.ts';

export function newObjectUri(ctx: Ctx): string {
  return `xcon:${randomId(ctx.deps.platform)}@${ctx.deps.config.domain}`;
}

/**
 * Direct creation is implicit cloning of a blueprint (RFC 5239 §7.1): what the client describes
 * replaces the blueprint's element of the same name; what it leaves out is inherited.
 */
export function inheritDefaults(base: XElement, supplied: XElement): XElement {
  const out = clone(base);
  out.attrs = supplied.attrs.map((a) => ({ ...a }));
  for (const section of supplied.children) {
    if (!isElement(section)) continue;
    const existing = child(out, section.ns, section.name);
    const mergeable =
      section.ns === NS.info &&
      ['conference-description', 'users', 'conference-state'].includes(section.name);
    if (!existing || !mergeable) {
      setChild(out, section.ns, section.name, clone(section));
      continue;
    }
    for (const c of section.children) {
      if (!isElement(c)) continue;
      if (c.ns === NS.info && c.name === 'user') continue;
      removeChildren(existing, c.ns, c.name);
    }
    for (const c of section.children) if (isElement(c)) existing.children.push(clone(c));
    for (const a of section.attrs) existing.attrs.push({ ...a });
  }
  return out;
}

/** The conf-uris element holds exactly one entry: the URI participants dial (Linphone rejects more). */
export function setConferenceUri(doc: XElement, joinUri: string): void {
  const desc = ensureDescription(doc);
  const previous = child(desc, NS.info, 'conf-uris');
  const passwords: XElement[] = [];
  if (previous)
    for (const node of walk(previous))
      if (node.ns === NS.xcon && node.name === 'conference-password') passwords.push(node);
  const subject = text(child(desc, NS.info, 'subject')) || text(child(desc, NS.info, 'display-text'));
  const entry = el(NS.info, 'entry', {}, [
    textEl(NS.info, 'uri', joinUri),
    ...(subject ? [textEl(NS.info, 'display-text', subject)] : []),
    textEl(NS.info, 'purpose', 'participation'),
    ...passwords,
  ]);
  setChild(desc, NS.info, 'conf-uris', el(NS.info, 'conf-uris', {}, [entry]));
}

/**
 * iCalendar needs CRLF line ends; clients send CRLF, LF or XML-normalised text. The indentation of
 * the surrounding markup (RFC 6504's examples) is removed: an indented line would read as folded.
 */
export function normalizeCalendar(doc: XElement): void {
  const desc = description(doc);
  const time = desc ? child(desc, NS.xcon, 'conference-time') : undefined;
  if (!time) return;
  for (const entry of children(time, NS.xcon, 'entry')) {
    const base = child(entry, NS.xcon, 'base');
    if (!base) continue;
    const [head = '', ...rest] = rawText(base)
      .trim()
      .split(/\r\n|\r|\n/)
      .filter((line) => line.trim() !== '');
    const indent = Math.min(...rest.map((line) => line.search(/[^ \t]/)));
    const lines = [head, ...(Number.isFinite(indent) ? rest.map((line) => line.slice(indent)) : rest)];
    const value = lines.join('\r\n');
    base.children = value === '' ? [] : [`${value}\r\n`];
  }
}

/**
 * Trims the text of every element that holds only text (RFC 6504's examples wrap values in line
 * breaks and indentation, which the data model's types do not allow). iCalendar text is left to
 * normalizeCalendar.
 */
export function trimValues(doc: XElement): void {
  for (const node of walk(doc)) {
    if (node.ns === NS.xcon && node.name === 'base') continue;
    if (node.children.length === 0 || node.children.some(isElement)) continue;
    const value = rawText(node).trim();
    node.children = value === '' ? [] : [value];
  }
}

/** Removes what a clone must not inherit: sidebars, the join URI, previous parent links. */
export function stripForClone(doc: XElement): void {
  removeChildren(doc, NS.info, 'sidebars-by-val');
  removeChildren(doc, NS.info, 'sidebars-by-ref');
  const desc = description(doc);
  if (!desc) return;
  removeChildren(desc, NS.xcon, 'cloning-parent');
  removeChildren(desc, NS.xcon, 'sidebar-parent');
  const uris = child(desc, NS.info, 'conf-uris');
  if (uris) {
    const passwords = [...walk(uris)].filter((n) => n.ns === NS.xcon && n.name === 'conference-password');
    setChild(
      desc,
      NS.info,
      'conf-uris',
      passwords.length ? el(NS.info, 'conf-uris', {}, [el(NS.info, 'entry', {}, passwords)]) : undefined,
    );
  }
}

export function setParentLink(
  doc: XElement,
  name: 'cloning-parent' | 'sidebar-parent',
  parentUri: string,
): void {
  setChild(ensureDescription(doc), NS.xcon, name, textEl(NS.xcon, name, parentUri));
}

export function removePasswords(doc: XElement): void {
  for (const node of walk(doc)) {
    node.children = node.children.filter(
      (c) => !(isElement(c) && c.ns === NS.xcon && c.name === 'conference-password'),
    );
  }
}

/**
 * Checks a delta against the elements the server manages: parent links and sidebar lists may
 * not be changed by clients (426); conf-uris may only carry passwords. Returns the delta with
 * conf-uris reduced to its password change, if any.
 */
export function screenDelta(
  current: XElement,
  delta: XElement,
): { delta: XElement; password?: string | null } {
  const d = clone(delta);
  for (const name of ['sidebars-by-val', 'sidebars-by-ref']) {
    if (child(d, NS.info, name))
      throw new ForbiddenChangeProtected(`${name} is managed through sidebar requests`);
  }
  const desc = child(d, NS.info, 'conference-description');
  let password: string | null | undefined;
  if (desc) {
    const cur = description(current);
    let screened = false;
    for (const name of ['cloning-parent', 'sidebar-parent'] as const) {
      const given = child(desc, NS.xcon, name);
      if (!given) continue;
      const existing = cur ? text(child(cur, NS.xcon, name)) : '';
      if (text(given).toLowerCase() !== existing.toLowerCase())
        throw new ForbiddenChangeProtected(`${name} cannot be changed`);
      removeChildren(desc, NS.xcon, name);
      screened = true;
    }
    const uris = child(desc, NS.info, 'conf-uris');
    if (uris) {
      const pw = [...walk(uris)].find((n) => n.ns === NS.xcon && n.name === 'conference-password');
      if (pw) password = text(pw) === '' ? null : text(pw);
      removeChildren(desc, NS.info, 'conf-uris');
      screened = true;
    }
    // Left empty by the screening, it changes nothing (an empty element would remove the whole description).
    if (screened && desc.attrs.length === 0 && desc.children.every((c) => !isElement(c) && c.trim() === '')) {
      removeChildren(d, NS.info, 'conference-description');
    }
  }
  return password === undefined ? { delta: d } : { delta: d, password };
}

/** Applies a password change from a delta: a value sets it, null (an empty element) removes it. */
export function applyPassword(doc: XElement, password: string | null): void {
  const desc = ensureDescription(doc);
  let uris = child(desc, NS.info, 'conf-uris');
  if (!uris) {
    uris = el(NS.info, 'conf-uris', {}, [el(NS.info, 'entry')]);
    desc.children.push(uris);
  }
  removePasswords(uris);
  if (password === null) return;
  const entry = child(uris, NS.info, 'entry') ?? el(NS.info, 'entry');
  if (!uris.children.includes(entry)) uris.children.push(entry);
  entry.children.push(textEl(NS.xcon, 'conference-password', password));
}

const INTEGER_FIELDS: [string, string][] = [
  [NS.info, 'maximum-user-count'],
  [NS.info, 'user-count'],
];
const BOOLEAN_FIELDS: [string, string][] = [
  [NS.info, 'active'],
  [NS.info, 'locked'],
  [NS.xcon, 'allow-sidebars'],
  [NS.xcon, 'allow-conference-event-subscription'],
];

/** Value checks on a whole document: the RFC 6503 §4.2 rule is to validate all before applying. */
export function validateDocument(doc: XElement): void {
  checkStructure(doc);
  const entity = attr(doc, 'entity');
  if (!entity || !parseXconUri(entity))
    throw new BadRequest(`conference entity "${entity ?? ''}" is not an XCON-URI`);
  const labels = new Set<string>();
  for (const node of walk(doc)) {
    if (
      INTEGER_FIELDS.some(([ns, n]) => node.ns === ns && node.name === n) &&
      !/^[0-9]{1,9}$/.test(text(node))
    ) {
      throw new BadRequest(`${node.name} must be a non-negative integer, not "${text(node)}"`);
    }
    if (
      BOOLEAN_FIELDS.some(([ns, n]) => node.ns === ns && node.name === n) &&
      !/^(true|false|1|0)$/.test(text(node))
    ) {
      throw new BadRequest(`${node.name} must be true or false, not "${text(node)}"`);
    }
    if (node.ns === NS.info && node.name === 'available-media') {
      for (const e of children(node, NS.info, 'entry')) {
        const label = attr(e, 'label');
        if (!label) throw new BadRequest('every available-media entry needs a label');
        if (labels.has(label)) throw new BadRequest(`media label "${label}" is used twice`);
        labels.add(label);
      }
    }
    if (node.ns === NS.info && node.name === 'user' && !attr(node, 'entity'))
      throw new BadRequest('every user needs an entity');
  }
}
