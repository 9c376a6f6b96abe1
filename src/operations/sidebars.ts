/**
 * @module Sidebars (RFC 6503 §5.3.7–5.3.10): sidebarsByVal/sidebarsByRef lists, and sidebarByVal/
 * sidebarByRef create, retrieve, update, delete.
 *
 * A sidebar is stored as its own object linked to its main conference both ways: the sidebar's
 * `xcon:sidebar-parent` names the parent, and the parent lists the sidebar — by value (the whole
 * sidebar document as an entry of `sidebars-by-val`) or by reference (its XCON-URI in
 * `sidebars-by-ref`). Every sidebar change rewrites the parent's entry in the same atomic commit
 * and bumps the parent's version.
 */
import type { CcmpResponse } from '../ccmp/encode.ts';
import type { Ctx } from '../core/types.ts';
import { BadRequest, NotImplemented, ResourcesNotAvailable, Unauthorized } from '../errors.ts';
import { description, embedDocument, parseStored, setEntity } from '../model/document.ts';
import { normalizeId } from '../model/ids.ts';
import type { ObjectKind, StoredObject, Write } from '../store/types.ts';
import { NS } from '../xml/namespaces.ts';
import { serialize } from '../xml/serialize.ts';
import { child, children, el, isElement, setChild, text, textEl, type XElement } from '../xml/tree.ts';
import { ENVELOPE_NAMESPACES } from '../ccmp/encode.ts';
import {
  actorOf,
  authorize,
  byOperation,
  backend,
  checkIfMatch,
  checkPassword,
  commit,
  connectorFor,
  exclusive,
  handleOf,
  load,
  operationOf,
  required,
  success,
  toStored,
  visibleDocument,
} from './common.ts';
import { applyConferenceDelta, createFromDocument, suppliedDocument, updateDocument } from './conf.ts';
import { newObjectUri, setParentLink, stripForClone } from './document-steps.ts';
import { applyFilter } from './listing.ts';

type SidebarKind = Extract<ObjectKind, 'sidebar-by-val' | 'sidebar-by-ref'>;

function kindOf(ctx: Ctx): SidebarKind {
  return ctx.request.type === 'sidebarByVal' || ctx.request.type === 'sidebarsByVal'
    ? 'sidebar-by-val'
    : 'sidebar-by-ref';
}

/** The parent's document with this sidebar's entry added, replaced or removed. */
function withSidebarEntry(parentDoc: XElement, sidebar: StoredObject, remove: boolean): XElement {
  const listName = sidebar.kind === 'sidebar-by-val' ? 'sidebars-by-val' : 'sidebars-by-ref';
  let list = child(parentDoc, NS.info, listName);
  if (!list) {
    list = el(NS.info, listName);
    parentDoc.children.push(list);
  }
  const key = sidebar.uri;
  list.children = list.children.filter((c) => {
    if (!isElement(c) || c.name !== 'entry') return true;
    const id =
      sidebar.kind === 'sidebar-by-val'
        ? (c.attrs.find((a) => a.name === 'entity')?.value ?? '')
        : text(child(c, NS.info, 'uri'));
    return normalizeId(id) !== key;
  });
  if (!remove) {
    const sidebarDoc = parseStored(sidebar.document);
    if (sidebar.kind === 'sidebar-by-val') {
      list.children.push({ ...sidebarDoc, ns: NS.info, name: 'entry' });
    } else {
      const desc = description(sidebarDoc);
      const title = desc
        ? text(child(desc, NS.info, 'display-text')) || text(child(desc, NS.info, 'subject'))
        : '';
      const entity = sidebarDoc.attrs.find((a) => a.name === 'entity')?.value ?? sidebar.uri;
      list.children.push(
        el(NS.info, 'entry', {}, [
          textEl(NS.info, 'uri', entity),
          ...(title ? [textEl(NS.info, 'display-text', title)] : []),
        ]),
      );
    }
  }
  if (list.children.length === 0) setChild(parentDoc, NS.info, listName, undefined);
  return parentDoc;
}

/** The write that bumps the parent and refreshes its entry for a changed sidebar. */
export async function parentWrites(ctx: Ctx, sidebar: StoredObject, remove = false): Promise<Write[]> {
  if (!sidebar.parentUri) return [];
  const parent = await ctx.deps.store.get(sidebar.parentUri);
  if (!parent) return [];
  const doc = withSidebarEntry(parseStored(parent.document), sidebar, remove);
  const updated = toStored(ctx, { ...parent, version: parent.version + 1 }, doc);
  return [{ op: 'put', object: updated, expectedVersion: parent.version }];
}

export async function sidebarsListRequest(ctx: Ctx): Promise<CcmpResponse> {
  if (ctx.request.operation !== undefined && ctx.request.operation !== 'retrieve') {
    operationOf(ctx, ['retrieve']);
  }
  const parent = await load(ctx, required(ctx.request.confObjID, '<confObjID> (the main conference)'), [
    'conference',
  ]);
  const actor = actorOf(ctx, parent);
  authorize(ctx, 'retrieve', actor, parent.uri);
  checkPassword(ctx, parent);
  const doc = parseStored(visibleDocument(parent, actor));
  const kind = kindOf(ctx);
  const listName = kind === 'sidebar-by-val' ? 'sidebars-by-val' : 'sidebars-by-ref';
  const infoName = kind === 'sidebar-by-val' ? 'sidebarsByValInfo' : 'sidebarsByRefInfo';
  const list = child(doc, NS.info, listName) ?? el(NS.info, listName);
  const filter = ctx.request.xpathFilter;
  if (filter !== undefined) {
    const entries = children(list, NS.info, 'entry');
    if (kind === 'sidebar-by-val') {
      const kept = applyFilter(ctx, filter, entries, (e) =>
        serialize({ ...e, ns: NS.info, name: 'conference-info' }, { type: 'conference' }),
      );
      list.children = kept;
    } else {
      const sidebars = await ctx.deps.store.getMany(
        entries.map((e) => normalizeId(text(child(e, NS.info, 'uri')))),
      );
      const keep = new Set(
        applyFilter(ctx, filter, sidebars, (s) => visibleDocument(s, actorOf(ctx, s, parent))).map(
          (s) => s.uri,
        ),
      );
      list.children = entries.filter((e) => keep.has(normalizeId(text(child(e, NS.info, 'uri')))));
    }
  }
  // uris-type needs at least one entry: no sidebars by reference is answered without sidebarsByRefInfo.
  if (kind === 'sidebar-by-ref' && children(list, NS.info, 'entry').length === 0) {
    return success(ctx, { version: parent.version });
  }
  const body = serialize(list, {
    type: kind === 'sidebar-by-val' ? 'sidebars-by-val' : 'uris',
    rename: infoName,
    declared: ENVELOPE_NAMESPACES,
  });
  return success(ctx, { version: parent.version, body });
}

export const sidebarRequest = byOperation({
  create: (ctx) => create(ctx),
  retrieve: (ctx) => retrieve(ctx),
  update: (ctx) => update(ctx),
  delete: (ctx) => remove(ctx),
});

async function create(ctx: Ctx): Promise<CcmpResponse> {
  const parentUri = required(ctx.request.confObjID, '<confObjID> (the main conference)');
  const kind = kindOf(ctx);
  return exclusive(ctx, parentUri, async () => {
    const parent = await load(ctx, parentUri, ['conference']);
    const actor = actorOf(ctx, parent);
    const grant = authorize(ctx, 'create', actor, parent.uri);
    if (grant === 'policy') {
      const desc = description(parseStored(parent.document));
      if (text(desc ? child(desc, NS.xcon, 'allow-sidebars') : undefined) !== 'true') {
        throw new Unauthorized(
          `${ctx.userId} may not create sidebars of ${parent.uri}: allow-sidebars is not true`,
        );
      }
    }
    checkPassword(ctx, parent);
    checkIfMatch(ctx, parent);
    const connector = connectorFor(ctx, parent);
    if (!connector.createSidebar) {
      throw new NotImplemented(`the conferencing backend "${connector.name}" does not support sidebars`);
    }
    const existing = await ctx.deps.store.listChildren(parent.uri);
    if (existing.length >= ctx.deps.config.limits.maxSidebarsPerConference) {
      throw new ResourcesNotAvailable(
        `a conference may have at most ${ctx.deps.config.limits.maxSidebarsPerConference} sidebars`,
      );
    }
    let doc: XElement;
    let uri: string;
    if (ctx.request.info) {
      ({ doc, uri } = await suppliedDocument(ctx, ctx.request.info));
    } else {
      // The sidebar's owner sees all of it: clone what the requester may see of the parent.
      doc = parseStored(visibleDocument(parent, actor));
      stripForClone(doc);
      uri = newObjectUri(ctx);
      setEntity(doc, uri);
    }
    const parentEntity =
      parseStored(parent.document).attrs.find((a) => a.name === 'entity')?.value ?? parent.uri;
    setParentLink(doc, 'sidebar-parent', parentEntity);
    return createFromDocument(ctx, doc, { uri, kind, parent }, (created) => parentWrites(ctx, created));
  });
}

async function loadSidebar(ctx: Ctx): Promise<{ sidebar: StoredObject; parent?: StoredObject }> {
  const sidebar = await load(ctx, required(ctx.request.confObjID, '<confObjID> (the sidebar)'), [
    kindOf(ctx),
  ]);
  const parent = sidebar.parentUri ? await ctx.deps.store.get(sidebar.parentUri) : undefined;
  return parent ? { sidebar, parent } : { sidebar };
}

async function retrieve(ctx: Ctx): Promise<CcmpResponse> {
  const { sidebar, parent } = await loadSidebar(ctx);
  const actor = actorOf(ctx, sidebar, parent);
  authorize(ctx, 'retrieve', actor, sidebar.uri);
  checkPassword(ctx, sidebar);
  const name = kindOf(ctx) === 'sidebar-by-val' ? 'sidebarByValInfo' : 'sidebarByRefInfo';
  return success(ctx, {
    version: sidebar.version,
    body: embedDocument(visibleDocument(sidebar, actor), name),
  });
}

async function update(ctx: Ctx): Promise<CcmpResponse> {
  const info = required(
    ctx.request.info,
    `<${kindOf(ctx) === 'sidebar-by-val' ? 'sidebarByValInfo' : 'sidebarByRefInfo'}> with the changes`,
  );
  const peek = await loadSidebar(ctx);
  return exclusive(ctx, peek.sidebar.parentUri ?? peek.sidebar.uri, async () => {
    const { sidebar, parent } = await loadSidebar(ctx);
    authorize(ctx, 'update', actorOf(ctx, sidebar, parent), sidebar.uri);
    checkPassword(ctx, sidebar);
    checkIfMatch(ctx, sidebar);
    const updated = await updateDocument(
      ctx,
      sidebar,
      async (doc) => applyConferenceDelta(ctx, info, doc),
      (u) => parentWrites(ctx, u),
    );
    return success(ctx, { version: updated.version });
  });
}

async function remove(ctx: Ctx): Promise<CcmpResponse> {
  const peek = await loadSidebar(ctx);
  return exclusive(ctx, peek.sidebar.parentUri ?? peek.sidebar.uri, async () => {
    const { sidebar, parent } = await loadSidebar(ctx);
    authorize(ctx, 'delete', actorOf(ctx, sidebar, parent), sidebar.uri);
    checkPassword(ctx, sidebar);
    checkIfMatch(ctx, sidebar);
    const connector = connectorFor(ctx, sidebar);
    const handle = handleOf(sidebar);
    if (handle)
      await backend(ctx, connector, 'deleting the sidebar', () => connector.deleteConference(handle));
    await commit(ctx, [
      { op: 'delete', uri: sidebar.uri, expectedVersion: sidebar.version },
      ...(await parentWrites(ctx, sidebar, true)),
    ]);
    return success(ctx, {});
  });
}

export function assertNoInfo(ctx: Ctx): void {
  if (ctx.request.info) throw new BadRequest('unexpected payload');
}
