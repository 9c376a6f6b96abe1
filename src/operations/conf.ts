/**
 * @module confRequest (RFC 6503 §5.3.4): create in its four modes, retrieve, update as a delta,
 * delete; and confsRequest (§5.3.2), the requester's conference list.
 */
import { hasPlaceholder, replacePlaceholders } from '../model/autogen.ts';
import { applyDelta } from '../model/delta.ts';
import { description, embedDocument, entityOf, parseStored, setEntity } from '../model/document.ts';
import { normalizeId, parseXconUri } from '../model/ids.ts';
import { specOf } from '../model/spec.ts';
import { setTargets, targetsOf, upsertUser } from '../model/users.ts';
import { BadRequest, Conflict, ForbiddenDeleteParent, InvalidDomain, Unauthorized } from '../errors.ts';
import type { CcmpResponse } from '../ccmp/encode.ts';
import { randomId } from '../platform.ts';
import type { StoredObject } from '../store/types.ts';
import type { ConferenceHandle, ConferenceSpec } from '../../connectors/types.ts';
import { NS } from '../xml/namespaces.ts';
import { attr, child, children, clone, el, isElement, path, text, walk, type XElement } from '../xml/tree.ts';
import type { Ctx } from '../core/types.ts';
import { DEFAULT_BLUEPRINT_ID } from '../model/blueprints.ts';
import {
  actorOf,
  authorize,
  byOperation,
  listOnly,
  backend,
  checkIfMatch,
  checkPassword,
  commit,
  connectorFor,
  exclusive,
  handleOf,
  load,
  required,
  success,
  toStored,
  visibleDocument,
} from './common.ts';
import {
  applyPassword,
  inheritDefaults,
  newObjectUri,
  normalizeCalendar,
  screenDelta,
  trimValues,
  setConferenceUri,
  setParentLink,
  stripForClone,
  validateDocument,
} from './document-steps.ts';
import { reconcileParticipants, targetSet } from './participants.ts';
import { listFiltered } from './listing.ts';
import { checkCreateLimits, countCreation } from './limits.ts';
import { syncBackends } from '../core/backend-sync.ts';

export const confRequest = byOperation({
  create: (ctx) => create(ctx),
  retrieve: (ctx) => retrieve(ctx),
  update: (ctx) => update(ctx),
  delete: (ctx) => remove(ctx),
});

/** Placeholder settings for documents supplied by clients. */
export function autogenOptions(ctx: Ctx) {
  return {
    domains: ctx.deps.config.domains,
    newObjectId: () => randomId(ctx.deps.platform),
    newUserId: () => randomId(ctx.deps.platform),
  };
}

/** Turns a client-supplied conference-type element into a document with a fresh entity. */
export async function suppliedDocument(ctx: Ctx, info: XElement): Promise<{ doc: XElement; uri: string }> {
  const doc = clone(info);
  doc.ns = NS.info;
  doc.name = 'conference-info';
  const entity = doc.attrs.find((a) => a.name === 'entity' && a.ns === '')?.value.trim();
  replacePlaceholders(doc, autogenOptions(ctx));
  let uri: string;
  if (entity === undefined || entity === '' || hasPlaceholder(entity)) {
    uri =
      entity && hasPlaceholder(entity)
        ? (doc.attrs.find((a) => a.name === 'entity')?.value ?? '')
        : newObjectUri(ctx);
  } else {
    const parsed = parseXconUri(entity);
    if (!parsed) throw new BadRequest(`entity "${entity}" is not an XCON-URI`);
    if (!ctx.deps.config.domains.has(parsed.host)) {
      throw new InvalidDomain(
        `entity ${entity}: domain "${parsed.host}" is not served by this conference server`,
      );
    }
    if (await ctx.deps.store.get(normalizeId(entity))) throw new Conflict(`${entity} already exists`);
    uri = entity;
  }
  setEntity(doc, uri);
  // The RFC 4575 state and version attributes are not used in XCON documents (RFC 6501 §4.1).
  for (const node of walk(doc)) {
    if (node.ns === NS.info)
      node.attrs = node.attrs.filter((a) => !(a.ns === '' && (a.name === 'state' || a.name === 'version')));
  }
  return { doc, uri };
}

async function create(ctx: Ctx): Promise<CcmpResponse> {
  authorize(ctx, 'create', ctx.isAdmin ? 'administrator' : 'none', 'conferences');
  const { confObjID, info } = ctx.request;
  if (confObjID !== undefined && info)
    throw new BadRequest('confInfo must not be sent together with a confObjID to clone');
  await checkCreateLimits(ctx);

  let doc: XElement;
  let uri: string;
  let clonedFrom: string;
  if (confObjID !== undefined) {
    const source = await load(ctx, confObjID, ['blueprint', 'conference']);
    let sourceXml = source.document;
    if (source.kind === 'conference') {
      const actor = actorOf(ctx, source);
      if (actor === 'none') throw new Unauthorized(`${ctx.userId} may not clone ${confObjID}`);
      checkPassword(ctx, source);
      // The clone's owner sees all of it: start from what the requester may see of the source.
      sourceXml = visibleDocument(source, actor);
    }
    doc = parseStored(sourceXml);
    // The parent as its document names it (XCON-URIs compare case-insensitively; keep the creator's case).
    const parentEntity = entityOf(doc) || source.uri;
    stripForClone(doc);
    uri = newObjectUri(ctx);
    setEntity(doc, uri);
    setParentLink(doc, 'cloning-parent', parentEntity);
    clonedFrom = source.uri;
  } else {
    const base = await load(ctx, `xcon:${DEFAULT_BLUEPRINT_ID}@${ctx.deps.config.domain}`, ['blueprint']);
    clonedFrom = base.uri;
    if (info) {
      const supplied = await suppliedDocument(ctx, info);
      const defaults = parseStored(base.document);
      // The blueprint's own title and purpose describe the blueprint, not the new conference.
      const desc = description(defaults);
      if (desc)
        desc.children = desc.children.filter(
          (c) => !(isElement(c) && c.ns === NS.info && (c.name === 'display-text' || c.name === 'free-text')),
        );
      doc = inheritDefaults(defaults, supplied.doc);
      uri = supplied.uri;
    } else {
      doc = parseStored(base.document);
      uri = newObjectUri(ctx);
      setEntity(doc, uri);
    }
  }
  return createFromDocument(ctx, doc, { uri, clonedFrom, kind: 'conference' });
}

/** Shared by conference and sidebar creation: organizer, invitees, backend, store. */
export async function createFromDocument(
  ctx: Ctx,
  doc: XElement,
  facts: { uri: string; clonedFrom?: string; kind: StoredObject['kind']; parent?: StoredObject },
  extraWrites: (
    created: StoredObject,
  ) => Promise<Parameters<Ctx['deps']['store']['commit']>[0]> = async () => [],
): Promise<CcmpResponse> {
  const owner = ctx.userId;
  trimValues(doc);
  normalizeCalendar(doc);
  const p = ctx.principal;
  upsertUser(doc, owner, {
    ...(p.displayName ? { displayName: p.displayName } : {}),
    ...(p.sipUri ? { sipUri: p.sipUri } : {}),
    roles: ['organizer', 'moderator'],
  });
  const targets = targetsOf(doc);
  if (!targets.some((t) => normalizeId(t.uri) === owner))
    setTargets(doc, [{ uri: owner, method: 'dial-in' }, ...targets]);
  await reconcileParticipants(ctx, doc, owner, new Set());
  validateDocument(doc);

  const connector = facts.parent ? connectorFor(ctx, facts.parent) : ctx.deps.defaultConnector;
  const spec = specOf(doc, {
    uri: facts.uri,
    kind: facts.kind === 'conference' ? 'conference' : 'sidebar',
    owner,
    ...(facts.parent ? { parentUri: facts.parent.uri } : {}),
  });
  const parentHandle = facts.parent ? handleOf(facts.parent) : undefined;
  // A conference the backend makes after the client got 510 is deleted again: nothing points at it.
  const deleteLate = (late: ConferenceHandle) => connector.deleteConference(late);
  const handle =
    facts.kind === 'conference' || !parentHandle
      ? await backend(
          ctx,
          connector,
          'creating the conference',
          () => connector.createConference(spec),
          deleteLate,
        )
      : await backend(
          ctx,
          connector,
          'creating the sidebar',
          () => {
            if (!connector.createSidebar) throw new Error('unreachable: capability checked by the caller');
            return connector.createSidebar(parentHandle, spec);
          },
          deleteLate,
        );
  setConferenceUri(doc, handle.joinUri);
  const now = ctx.deps.platform.now();
  const stored = toStored(
    ctx,
    {
      uri: normalizeId(facts.uri),
      kind: facts.kind,
      version: 1,
      owner,
      connector: connector.name,
      backendId: handle.backendId,
      joinUri: handle.joinUri,
      createdAt: now,
      ...(facts.clonedFrom ? { clonedFrom: facts.clonedFrom } : {}),
      ...(facts.parent ? { parentUri: facts.parent.uri } : {}),
    },
    doc,
  );
  try {
    await commit(ctx, [{ op: 'put', object: stored }, ...(await extraWrites(stored))]);
  } catch (err) {
    // Nothing was stored: take the backend conference away again so no orphan is left.
    await connector.deleteConference(handle).catch(() => undefined);
    throw err;
  }
  countCreation(ctx);
  return success(ctx, {
    confObjID: facts.uri,
    version: 1,
    body: embedDocument(stored.document, infoElementName(ctx)),
  });
}

export function infoElementName(ctx: Ctx): string {
  return ctx.request.type === 'sidebarByVal'
    ? 'sidebarByValInfo'
    : ctx.request.type === 'sidebarByRef'
      ? 'sidebarByRefInfo'
      : 'confInfo';
}

async function retrieve(ctx: Ctx): Promise<CcmpResponse> {
  const confObjID = required(ctx.request.confObjID, '<confObjID>');
  // A conference made on the backend (over SIP, say) gets its XCON-URI when a sync imports it.
  const known = await ctx.deps.store.get(normalizeId(confObjID));
  if (!known) await syncBackends(ctx);
  const obj = known?.kind === 'conference' ? known : await load(ctx, confObjID, ['conference']);
  const actor = actorOf(ctx, obj);
  authorize(ctx, 'retrieve', actor, obj.uri);
  checkPassword(ctx, obj);
  return success(ctx, { version: obj.version, body: embedDocument(visibleDocument(obj, actor), 'confInfo') });
}

/**
 * Sends the stored state of an object to its backend again, under the lock of its conference, so
 * that a backend which finished a change too late (510) ends up where the store is, even when
 * other changes were made in the meantime. An object deleted since needs nothing: its delete
 * removed the backend conference.
 */
async function restoreBackend(ctx: Ctx, lockKey: string, uri: string): Promise<void> {
  await exclusive(ctx, lockKey, async () => {
    const current = await ctx.deps.store.get(uri);
    const handle = current ? handleOf(current) : undefined;
    if (!current || !handle || current.kind === 'blueprint') return;
    await connectorFor(ctx, current).updateConference(
      handle,
      storedSpec(current, parseStored(current.document)),
    );
  });
}

/** What the backend is told of a stored conference or sidebar, given one of its documents. */
function storedSpec(obj: StoredObject, doc: XElement): ConferenceSpec {
  return specOf(doc, {
    uri: obj.uri,
    kind: obj.kind === 'conference' ? 'conference' : 'sidebar',
    owner: obj.owner,
    ...(obj.parentUri ? { parentUri: obj.parentUri } : {}),
  });
}

/** Applies a delta to an object's document under the conference lock, then backend and store. */
export async function updateDocument(
  ctx: Ctx,
  obj: StoredObject,
  change: (doc: XElement) => Promise<void>,
  extraWrites: (
    updated: StoredObject,
  ) => Promise<Parameters<Ctx['deps']['store']['commit']>[0]> = async () => [],
): Promise<StoredObject> {
  const doc = parseStored(obj.document);
  const before = targetSet(doc);
  await change(doc);
  trimValues(doc);
  normalizeCalendar(doc);
  await reconcileParticipants(ctx, doc, obj.owner, before);
  validateDocument(doc);
  const connector = connectorFor(ctx, obj);
  const handle = handleOf(obj);
  const spec = storedSpec(obj, doc);
  let newHandle = handle;
  if (handle && obj.kind !== 'blueprint') {
    newHandle = await backend(
      ctx,
      connector,
      'updating the conference',
      () => connector.updateConference(handle, spec),
      // Applied after the client got 510, so never stored: put back on the backend what is stored.
      () => restoreBackend(ctx, obj.parentUri ?? obj.uri, obj.uri),
    );
    // conf-uris is server-managed: always exactly the join URI (a delta may not take it away).
    setConferenceUri(doc, newHandle.joinUri);
  }
  const updated = toStored(
    ctx,
    {
      ...obj,
      version: obj.version + 1,
      ...(newHandle ? { backendId: newHandle.backendId, joinUri: newHandle.joinUri } : {}),
    },
    doc,
  );
  try {
    await commit(ctx, [
      { op: 'put', object: updated, expectedVersion: obj.version },
      ...(await extraWrites(updated)),
    ]);
  } catch (err) {
    if (handle && obj.kind !== 'blueprint') {
      const previous = storedSpec(obj, parseStored(obj.document));
      await connector.updateConference(handle, previous).catch(() => undefined);
    }
    throw err;
  }
  return updated;
}

/** The delta of a confRequest/sidebarBy*Request update, applied to the whole document. */
export function applyConferenceDelta(ctx: Ctx, info: XElement, doc: XElement): void {
  const entity = info.attrs.find((a) => a.name === 'entity' && a.ns === '')?.value;
  const confObjID = ctx.request.confObjID ?? '';
  if (entity !== undefined && entity.trim() !== '' && normalizeId(entity) !== normalizeId(confObjID)) {
    throw new BadRequest(`the entity of the delta (${entity}) is not the confObjID (${confObjID})`);
  }
  const screened = screenDelta(doc, info);
  reuseMediaLabels(doc, screened.delta);
  replacePlaceholders(screened.delta, autogenOptions(ctx), doc);
  applyDelta(doc, screened.delta);
  if (screened.password !== undefined) applyPassword(doc, screened.password);
}

/**
 * Linphone sends the whole media list again on every update, labelled AUTO_GENERATE_n as on create.
 * When a delta's media list has only placeholder labels and pairs one to one, by type, with the
 * stored list, it restates that list: the placeholders take the stored labels instead of adding
 * the same media a second time. Any other placeholder entry is a new medium.
 */
function reuseMediaLabels(doc: XElement, delta: XElement): void {
  const media = [NS.info, 'available-media'] as const;
  const given = path(delta, [NS.info, 'conference-description'], media);
  const stored = path(doc, [NS.info, 'conference-description'], media);
  if (!given || !stored) return;
  const entries = children(given, NS.info, 'entry');
  const free = children(stored, NS.info, 'entry');
  if (entries.length === 0 || entries.length !== free.length) return;
  const labels = new Map<string, string>();
  for (const entry of entries) {
    const token = attr(entry, 'label')?.trim() ?? '';
    if (!/^AUTO_GENERATE_[0-9]+$/.test(token) || labels.has(token)) return;
    const type = text(child(entry, NS.info, 'type'));
    const index = free.findIndex((s) => text(child(s, NS.info, 'type')) === type);
    const label = index === -1 ? undefined : attr(free[index] as XElement, 'label');
    if (label === undefined) return;
    free.splice(index, 1);
    labels.set(token, label);
  }
  for (const node of walk(delta)) {
    for (const a of node.attrs) a.value = labels.get(a.value.trim()) ?? a.value;
    node.children = node.children.map((c) => (typeof c === 'string' ? (labels.get(c.trim()) ?? c) : c));
  }
}

async function update(ctx: Ctx): Promise<CcmpResponse> {
  const confObjID = required(ctx.request.confObjID, '<confObjID>');
  const info = required(ctx.request.info, '<confInfo> with the changes');
  return exclusive(ctx, confObjID, async () => {
    const obj = await load(ctx, confObjID, ['conference']);
    const actor = actorOf(ctx, obj);
    authorize(ctx, 'update', actor, obj.uri);
    checkPassword(ctx, obj);
    checkIfMatch(ctx, obj);
    const updated = await updateDocument(ctx, obj, async (doc) => applyConferenceDelta(ctx, info, doc));
    return success(ctx, {
      version: updated.version,
      body: embedDocument(visibleDocument(updated, actor), 'confInfo'),
    });
  });
}

async function remove(ctx: Ctx): Promise<CcmpResponse> {
  const confObjID = required(ctx.request.confObjID, '<confObjID>');
  return exclusive(ctx, confObjID, async () => {
    const obj = await load(ctx, confObjID, ['conference']);
    authorize(ctx, 'delete', actorOf(ctx, obj), obj.uri);
    checkPassword(ctx, obj);
    checkIfMatch(ctx, obj);
    const sidebars = await ctx.deps.store.listChildren(obj.uri);
    if (sidebars.length > 0) {
      throw new ForbiddenDeleteParent(
        `${confObjID} is the parent of ${sidebars.length} sidebar(s); delete them first`,
      );
    }
    const connector = connectorFor(ctx, obj);
    const handle = handleOf(obj);
    if (handle)
      await backend(ctx, connector, 'deleting the conference', () => connector.deleteConference(handle));
    await commit(ctx, [{ op: 'delete', uri: obj.uri, expectedVersion: obj.version }]);
    return success(ctx, { confObjID });
  });
}

export async function confsRequest(ctx: Ctx): Promise<CcmpResponse> {
  if (ctx.request.confObjID !== undefined) throw new BadRequest('confsRequest must not carry a confObjID');
  listOnly(ctx);
  authorize(ctx, 'retrieve', ctx.isAdmin ? 'administrator' : 'none', 'the conference list');
  // Conferences made on the backends themselves are listed too, once imported (rate-limited).
  await syncBackends(ctx);
  const limit = ctx.deps.config.limits.maxListEntries;
  const uris = ctx.isAdmin
    ? await ctx.deps.store.listAll({ kinds: ['conference'], limit })
    : await ctx.deps.store.listByMember(ctx.userId, { kinds: ['conference'], limit });
  const entries = await listFiltered(ctx, uris);
  // uris-type needs at least one entry: an empty list is answered without confsInfo.
  const body =
    entries.length > 0 ? `<confsInfo>${entries.map((e) => e.xml).join('')}</confsInfo>` : undefined;
  return success(ctx, { operation: undefined, ...(body ? { body } : {}) });
}

export const _internal = { el };
