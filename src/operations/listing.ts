/**
 * @module Lists of conference objects (confs, blueprints, sidebars) and their xpathFilter.
 *
 * The filter is evaluated only over the documents the requester may read, in the view the
 * requester would get, with a bounded cost (see src/xpath/filter.ts).
 */
import { BadRequest, RequestTimeout } from '../errors.ts';
import { escapeText } from '../xml/serialize.ts';
import { compileXPathFilter, filterDocuments, XPathFilterError } from '../xpath/filter.ts';
import type { StoredObject } from '../store/types.ts';
import type { Ctx } from '../core/types.ts';
import { actorOf, visibleDocument } from './common.ts';

export interface ListEntry {
  obj?: StoredObject;
  uri: string;
  xml: string;
}

/** Builds uris-type entries, applying the request's xpathFilter if any. */
export async function listFiltered(
  ctx: Ctx,
  uris: string[],
  describe: (obj: StoredObject) => { displayText?: string; purpose?: string } = () => ({}),
  needObjects = false,
): Promise<ListEntry[]> {
  const filter = ctx.request.xpathFilter;
  if (filter === undefined && !needObjects) return uris.map((uri) => ({ uri, xml: uriEntry(uri, {}) }));
  let objects = await ctx.deps.store.getMany(uris);
  if (filter !== undefined)
    objects = applyFilter(ctx, filter, objects, (o) => visibleDocument(o, actorOf(ctx, o)));
  return objects.map((obj) => ({ obj, uri: obj.uri, xml: uriEntry(displayUri(obj), describe(obj)) }));
}

export function applyFilter<T>(_ctx: Ctx, expression: string, items: T[], xmlOf: (item: T) => string): T[] {
  try {
    return filterDocuments(compileXPathFilter(expression), items, xmlOf);
  } catch (err) {
    if (err instanceof XPathFilterError) {
      if (err.kind === 'budget') throw new RequestTimeout(err.message);
      throw new BadRequest(err.message);
    }
    throw err;
  }
}

/** The entity as written in the document (keeps the case the creator chose). */
export function displayUri(obj: StoredObject): string {
  const m = /\sentity="([^"]*)"/.exec(obj.document.slice(0, 400));
  return m?.[1] ?? obj.uri;
}

export function uriEntry(uri: string, extra: { displayText?: string; purpose?: string }): string {
  let out = `<info:entry><info:uri>${escapeText(uri)}</info:uri>`;
  if (extra.displayText) out += `<info:display-text>${escapeText(extra.displayText)}</info:display-text>`;
  if (extra.purpose) out += `<info:purpose>${escapeText(extra.purpose)}</info:purpose>`;
  return `${out}</info:entry>`;
}
