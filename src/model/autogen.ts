/**
 * @module AUTO_GENERATE_X placeholders (RFC 6503 §4.3).
 *
 * Clients put `AUTO_GENERATE_<n>` where they cannot know a value: the conference entity, media
 * labels, media ids, third-party XCON-USERIDs. Each distinct placeholder gets one fresh value used
 * everywhere in the document. A placeholder outside a value is 400; one in an XCON-URI or
 * XCON-USERID of a domain this server does not serve is 427.
 */
import { BadRequest, InvalidDomain } from '../errors.ts';
import { walk, type XElement } from '../xml/tree.ts';
import { parseXconUri, parseXconUserId } from './ids.ts';

const TOKEN = /AUTO_GENERATE_[0-9]+/g;
const HAS_TOKEN = /AUTO_GENERATE_/;

export interface AutogenOptions {
  /** Domains this server is responsible for (lower case). */
  domains: ReadonlySet<string>;
  /** A fresh, unguessable object id (the local part of an XCON-URI). */
  newObjectId: () => string;
  /** A fresh XCON-USERID local part. */
  newUserId: () => string;
}

export interface AutogenResult {
  /** Placeholder → value given. */
  replaced: Map<string, string>;
}

/** Replaces every placeholder in place; numbers avoid those already used in `existing`. */
export function replacePlaceholders(
  doc: XElement,
  options: AutogenOptions,
  existing?: XElement,
): AutogenResult {
  const replaced = new Map<string, string>();
  let nextNumber = Math.max(maxNumber(doc), existing ? maxNumber(existing) : 0) + 1;
  const valueFor = (token: string, kind: 'object' | 'user' | 'plain'): string => {
    let v = replaced.get(token);
    if (v === undefined) {
      v =
        kind === 'object'
          ? options.newObjectId()
          : kind === 'user'
            ? options.newUserId()
            : String(nextNumber++);
      replaced.set(token, v);
    }
    return v;
  };
  const replaceValue = (value: string): string => {
    if (!HAS_TOKEN.test(value)) return value;
    const trimmed = value.trim();
    const uri = parseXconUri(trimmed);
    const user = uri ? undefined : parseXconUserId(trimmed);
    const id = uri ?? user;
    if (id && HAS_TOKEN.test(id.local)) {
      if (!options.domains.has(id.host)) {
        throw new InvalidDomain(`${trimmed}: domain "${id.host}" is not served by this conference server`);
      }
      return trimmed.replace(TOKEN, (t) => valueFor(t, uri ? 'object' : 'user'));
    }
    return value.replace(TOKEN, (t) => valueFor(t, 'plain'));
  };
  for (const node of walk(doc)) {
    if (HAS_TOKEN.test(node.name))
      throw new BadRequest(`AUTO_GENERATE placeholder used as an element name (${node.name})`);
    for (const a of node.attrs) {
      if (HAS_TOKEN.test(a.name))
        throw new BadRequest(`AUTO_GENERATE placeholder used as an attribute name (${a.name})`);
      a.value = replaceValue(a.value);
    }
    node.children = node.children.map((c) => (typeof c === 'string' ? replaceValue(c) : c));
  }
  return { replaced };
}

export function hasPlaceholder(value: string | undefined): boolean {
  return value !== undefined && HAS_TOKEN.test(value);
}

/** Largest numeric label or id already used, so generated numbers never collide with them. */
function maxNumber(doc: XElement): number {
  let max = 0;
  for (const node of walk(doc)) {
    for (const a of node.attrs) {
      if ((a.name === 'label' || a.name === 'id') && /^[0-9]{1,9}$/.test(a.value))
        max = Math.max(max, Number(a.value));
    }
  }
  return max;
}
