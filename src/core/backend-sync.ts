/**
 * @module Conferences that exist on a backend but were not created through the gateway.
 *
 * A backend that can list its conferences (`Connector.listConferences`) may hold conferences made
 * elsewhere: on the Flexisip conference server, Linphone clients create them over SIP, and other
 * tools write its database. The sync makes each of them a CCMP conference object, so that they
 * appear in confsRequest and can be retrieved, updated and deleted like the gateway's own:
 *
 * - **Import.** A backend conference the store does not know (matched by the XCON-URI the backend
 *   row names, else by its backend ID) becomes a conference document built from its spec: subject,
 *   description, schedule as `xcon:conference-time` iCalendar, media, one `<user>` per participant
 *   (associated-aors, roles) with allowed-users-list targets = their XCON-USERIDs, and the join URI as
 *   the single conf-uris entry. Its owner is the organizer, and it starts at version 1. Its XCON-URI is
 *   derived from the backend ID (the same on every gateway instance sharing the store, so two
 *   instances never import one conference twice) and written back to the backend row
 *   (`updateConference`), so the backend's `ccmp_uri` names it from then on.
 * - **Refresh.** When the backend row of an imported conference changes, its document is built again.
 *   If what the backend can hold (subject, description, schedule, media, who is invited in which
 *   role, organizer, join URI) differs from the stored document, those parts are taken from the
 *   backend, the rest of the stored document is kept, and the version goes up. A change the gateway
 *   made itself (a CCMP update) therefore bumps nothing.
 * - **Drop.** When the row of an imported conference disappears (cancelled or removed on the backend),
 *   the object is deleted after the backend confirms the row is gone.
 *
 * Conferences created through CCMP are never rewritten or dropped by the sync: for them the store is
 * the reference, and their rows carry their XCON-URI. Imported objects are those without a cloning
 * origin: every CCMP-created conference is cloned from a blueprint or a conference (RFC 5239 §7.1).
 *
 * The sync runs lazily, when a confsRequest arrives or a confRequest retrieves an unknown XCON-URI,
 * at most once per `minIntervalMs`, and never twice at the same time (callers arriving meanwhile wait
 * for the run in progress). It never fails the request that triggered it: problems are logged.
 */
import type { BackendConference, Connector } from '../../connectors/types.ts';
import { backend, exclusive, toStored } from '../operations/common.ts';
import { normalizeCalendar, setConferenceUri, validateDocument } from '../operations/document-steps.ts';
import { reconcileParticipants } from '../operations/participants.ts';
import { description, ensureDescription, parseDocument } from '../model/document.ts';
import { buildConferenceIcs } from '../model/ical.ts';
import { normalizeId, parseXconUri, parseXconUserId } from '../model/ids.ts';
import { specOf } from '../model/spec.ts';
import {
  rolesOf,
  setTargets,
  sipUriOf,
  upsertUser,
  userElements,
  usersOf,
  type Target,
} from '../model/users.ts';
import { StoreConflict, type StoredObject } from '../store/types.ts';
import { NS } from '../xml/namespaces.ts';
import {
  attr,
  child,
  clone,
  el,
  ensureChild,
  isElement,
  setChild,
  textEl,
  type XElement,
} from '../xml/tree.ts';
import type { Ctx, Deps } from './types.ts';

export interface BackendSyncOptions {
  /** false turns the sync off. Default true. */
  enabled?: boolean;
  /** Least time between the starts of two runs, in ms. Default 10 000; 0 runs at every trigger. */
  minIntervalMs?: number;
  /**
   * How long a backend row that names an XCON-URI the store does not hold must stay unknown before
   * it is imported under that URI. The gateway writes a new conference's row before its object, so a
   * row seen once may belong to a create in progress. Default: twice the backend time limit.
   */
  adoptAfterMs?: number;
}

/** What one run changed, by XCON-URI. */
export interface SyncReport {
  imported: string[];
  refreshed: string[];
  dropped: string[];
  /** Connectors whose listing failed. */
  failed: string[];
}

interface Link {
  uri: string;
  imported: boolean;
}

interface SyncState {
  options: BackendSyncOptions;
  running?: Promise<SyncReport>;
  lastStarted?: number;
  /** Store objects by backend key (connector, backend ID). */
  links: Map<string, Link>;
  /** Fingerprint of each backend conference at the last run, and the object's version then. */
  seen: Map<string, { fingerprint: string; version: number }>;
  /** Rows naming an unknown XCON-URI: when they were first seen. */
  unknownSince: Map<string, number>;
}

const DEFAULT_INTERVAL_MS = 10_000;
const CHUNK = 200;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

// One state per gateway: the key is the gateway's dependency set, so nothing outlives it.
const states = new WeakMap<Deps, SyncState>();

function stateOf(deps: Deps): SyncState {
  let state = states.get(deps);
  if (!state) {
    state = { options: {}, links: new Map(), seen: new Map(), unknownSince: new Map() };
    states.set(deps, state);
  }
  return state;
}

/** Sets the sync options of a gateway (`gateway.deps`); unset options keep their defaults. */
export function configureBackendSync(deps: Deps, options: BackendSyncOptions): void {
  const state = stateOf(deps);
  state.options = { ...state.options, ...options };
}

const listingConnectors = (deps: Deps): Connector[] =>
  [...deps.connectors.values()].filter((c) => c.capabilities.listing && c.listConferences !== undefined);

/**
 * Brings the store up to date with the listing backends, unless a run started less than
 * `minIntervalMs` ago (then it returns undefined at once). A run in progress is joined, not repeated.
 */
export async function syncBackends(ctx: Ctx): Promise<SyncReport | undefined> {
  const state = stateOf(ctx.deps);
  if (state.options.enabled === false) return undefined;
  if (state.running) return state.running;
  if (listingConnectors(ctx.deps).length === 0) return undefined;
  const now = ctx.deps.platform.now();
  const interval = state.options.minIntervalMs ?? DEFAULT_INTERVAL_MS;
  if (state.lastStarted !== undefined && now - state.lastStarted < interval) return undefined;
  state.lastStarted = now;
  const running = runSync(ctx, state).finally(() => {
    state.running = undefined;
  });
  state.running = running;
  return running;
}

async function runSync(ctx: Ctx, state: SyncState): Promise<SyncReport> {
  const report: SyncReport = { imported: [], refreshed: [], dropped: [], failed: [] };
  const started = ctx.deps.platform.now();
  try {
    await linkRequesterConferences(ctx, state);
  } catch (err) {
    ctx.deps.logger.log('warn', 'backend_sync.failed', { stage: 'store', error: messageOf(err) });
    return report;
  }
  for (const connector of listingConnectors(ctx.deps)) {
    try {
      await syncConnector(ctx, state, connector, report);
    } catch (err) {
      report.failed.push(connector.name);
      ctx.deps.logger.log('warn', 'backend_sync.failed', {
        connector: connector.name,
        error: messageOf(err),
        requestId: ctx.requestId,
      });
    }
  }
  const changed = report.imported.length + report.refreshed.length + report.dropped.length;
  ctx.deps.logger.log(changed > 0 ? 'info' : 'debug', 'backend_sync.done', {
    imported: report.imported.length,
    refreshed: report.refreshed.length,
    dropped: report.dropped.length,
    failed: report.failed,
    ms: ctx.deps.platform.now() - started,
  });
  return report;
}

/**
 * Links the conferences of the requester's own list. Rows seen since the process started are linked
 * as they are seen; this also covers imported conferences whose row went away while the gateway was
 * down, without reading the whole store: they are found when someone who takes part lists them.
 */
async function linkRequesterConferences(ctx: Ctx, state: SyncState): Promise<void> {
  if (ctx.request.type !== 'confs') return;
  const names = new Set(listingConnectors(ctx.deps).map((c) => c.name));
  const options = { kinds: ['conference' as const], limit: ctx.deps.config.limits.maxListEntries };
  const uris = ctx.isAdmin
    ? await ctx.deps.store.listAll(options)
    : await ctx.deps.store.listByMember(ctx.userId, options);
  for (let i = 0; i < uris.length; i += CHUNK) {
    for (const obj of await ctx.deps.store.getMany(uris.slice(i, i + CHUNK))) {
      if (obj.connector === undefined || obj.backendId === undefined || !names.has(obj.connector)) continue;
      const key = backendKey(obj.connector, obj.backendId);
      if (!state.links.has(key)) state.links.set(key, { uri: obj.uri, imported: isImported(obj) });
    }
  }
}

async function syncConnector(
  ctx: Ctx,
  state: SyncState,
  connector: Connector,
  report: SyncReport,
): Promise<void> {
  if (!connector.listConferences) return;
  const all = await backend(ctx, connector, 'listing conferences', async () => {
    return (await connector.listConferences?.()) ?? [];
  });
  const listed = all.filter((bc) => !isSidebar(bc));
  const live = new Set(listed.map((bc) => backendKey(connector.name, bc.handle.backendId)));

  // The objects the rows name, fetched in one go.
  const named = listed.flatMap((bc) => (bc.spec.uri ? [normalizeId(bc.spec.uri)] : []));
  const byUri = new Map((await ctx.deps.store.getMany(named)).map((o) => [o.uri, o]));

  for (const bc of listed) {
    try {
      await syncOne(ctx, state, connector, bc, byUri, report);
    } catch (err) {
      ctx.deps.logger.log('warn', 'backend_sync.conference_failed', {
        connector: connector.name,
        backendId: bc.handle.backendId,
        error: messageOf(err),
        requestId: ctx.requestId,
      });
    }
  }

  for (const [key, link] of state.links) {
    if (!key.startsWith(`${connector.name}\u0000`) || live.has(key)) continue;
    if (!link.imported) {
      // A CCMP-created conference whose row is gone: the store stays the reference for it.
      state.links.delete(key);
      continue;
    }
    try {
      if (await dropIfGone(ctx, connector, key.slice(connector.name.length + 1), link.uri)) {
        report.dropped.push(link.uri);
      }
      state.links.delete(key);
      state.seen.delete(key);
    } catch (err) {
      ctx.deps.logger.log('warn', 'backend_sync.conference_failed', {
        connector: connector.name,
        conference: link.uri,
        error: messageOf(err),
        requestId: ctx.requestId,
      });
    }
  }
  for (const key of state.unknownSince.keys()) {
    if (key.startsWith(`${connector.name}\u0000`) && !live.has(key)) state.unknownSince.delete(key);
  }
}

async function syncOne(
  ctx: Ctx,
  state: SyncState,
  connector: Connector,
  bc: BackendConference,
  byUri: ReadonlyMap<string, StoredObject>,
  report: SyncReport,
): Promise<void> {
  const { store } = ctx.deps;
  const key = backendKey(connector.name, bc.handle.backendId);
  const belongs = (o: StoredObject | undefined): o is StoredObject =>
    o !== undefined && o.connector === connector.name && o.backendId === bc.handle.backendId;

  // Where the store holds it: under the URI the row names, a URI linked before, or the derived URI.
  let obj: StoredObject | undefined = bc.spec.uri ? byUri.get(normalizeId(bc.spec.uri)) : undefined;
  if (!belongs(obj)) {
    const link = state.links.get(key);
    obj = link ? await store.get(link.uri) : undefined;
  }
  let derived: string | undefined;
  if (!belongs(obj)) {
    derived = await derivedUri(ctx, connector.name, bc.handle.backendId);
    obj = await store.get(derived);
  }

  if (belongs(obj)) {
    state.unknownSince.delete(key);
    const imported = isImported(obj);
    state.links.set(key, { uri: obj.uri, imported });
    if (!imported || obj.kind !== 'conference') return;
    const fingerprint = await fingerprintOf(ctx, bc);
    const last = state.seen.get(key);
    if (last?.fingerprint === fingerprint && last.version === obj.version) return;
    const current = await refresh(ctx, connector, bc, obj);
    if (current === undefined) {
      state.links.delete(key);
      return;
    }
    if (current.version !== obj.version) report.refreshed.push(current.uri);
    state.seen.set(key, { fingerprint, version: current.version });
    return;
  }

  // Not in the store. A row naming an XCON-URI of ours may be a create in progress: give it time.
  let uri = derived ?? (await derivedUri(ctx, connector.name, bc.handle.backendId));
  if (bc.spec.uri) {
    const parsed = parseXconUri(bc.spec.uri);
    const free = byUri.get(normalizeId(bc.spec.uri)) === undefined;
    if (parsed && ctx.deps.config.domains.has(parsed.host) && free) uri = normalizeId(bc.spec.uri);
    const now = ctx.deps.platform.now();
    const wait = state.options.adoptAfterMs ?? 2 * ctx.deps.config.backendTimeoutMs;
    const since = state.unknownSince.get(key) ?? now;
    state.unknownSince.set(key, since);
    if (now - since < wait) return;
  }
  state.unknownSince.delete(key);
  const created = await importConference(ctx, connector, bc, uri);
  if (!created) return;
  report.imported.push(created.uri);
  state.links.set(key, { uri: created.uri, imported: true });
  state.seen.set(key, { fingerprint: await fingerprintOf(ctx, bc), version: created.version });
}

/** Stores a new object for a backend conference; undefined when another writer stored it first. */
async function importConference(
  ctx: Ctx,
  connector: Connector,
  bc: BackendConference,
  uri: string,
): Promise<StoredObject | undefined> {
  return exclusive(ctx, uri, async () => {
    if (await ctx.deps.store.get(uri)) return undefined;
    const { doc, owner } = await documentOf(ctx, bc, uri);
    const stored = toStored(
      ctx,
      {
        uri,
        kind: 'conference',
        version: 1,
        owner,
        connector: connector.name,
        backendId: bc.handle.backendId,
        joinUri: bc.handle.joinUri,
        createdAt: ctx.deps.platform.now(),
      },
      doc,
    );
    try {
      await ctx.deps.store.commit([{ op: 'put', object: stored }]);
    } catch (err) {
      if (err instanceof StoreConflict) return undefined;
      throw err;
    }
    ctx.deps.logger.log('info', 'backend_sync.imported', {
      connector: connector.name,
      backendId: bc.handle.backendId,
      conference: uri,
      owner,
      requestId: ctx.requestId,
    });
    // Under the lock: a CCMP update of the new object waits, and cannot be overwritten by this write.
    if (normalizeId(bc.spec.uri ?? '') !== uri) await writeBack(ctx, connector, bc, stored);
    return stored;
  });
}

/**
 * Brings an imported object in line with its backend conference. Returns the object as it now
 * stands (unchanged when the backend holds nothing new), or undefined when it left the store.
 */
async function refresh(
  ctx: Ctx,
  connector: Connector,
  bc: BackendConference,
  obj: StoredObject,
): Promise<StoredObject | undefined> {
  return exclusive(ctx, obj.uri, async () => {
    const current = await ctx.deps.store.get(obj.uri);
    if (!current) return undefined;
    const { doc: rebuilt, owner } = await documentOf(ctx, bc, current.uri);
    const before = parseDocument(current.document);
    const same =
      owner === normalizeId(current.owner) &&
      current.joinUri === bc.handle.joinUri &&
      projection(rebuilt, owner) === projection(before, current.owner);
    let result = current;
    if (!same) {
      const doc = mergeDocument(before, rebuilt, bc.handle.joinUri);
      validateDocument(doc);
      const updated = toStored(
        ctx,
        {
          ...current,
          owner,
          version: current.version + 1,
          backendId: bc.handle.backendId,
          joinUri: bc.handle.joinUri,
        },
        doc,
      );
      try {
        await ctx.deps.store.commit([{ op: 'put', object: updated, expectedVersion: current.version }]);
      } catch (err) {
        if (err instanceof StoreConflict) return current;
        throw err;
      }
      ctx.deps.logger.log('info', 'backend_sync.refreshed', {
        connector: connector.name,
        conference: current.uri,
        version: updated.version,
        requestId: ctx.requestId,
      });
      result = updated;
    }
    if (normalizeId(bc.spec.uri ?? '') !== result.uri) await writeBack(ctx, connector, bc, result);
    return result;
  });
}

/**
 * The stored document with what the backend holds taken from the rebuilt one: subject, free text,
 * media, schedule, join URI, and who is invited with which role. The rest of the stored document
 * (display texts, passwords, per-user details, other settings) is kept.
 */
function mergeDocument(stored: XElement, rebuilt: XElement, joinUri: string): XElement {
  const doc = clone(stored);
  const from = description(rebuilt);
  const to = ensureDescription(doc);
  const replaced = [
    [NS.info, 'subject'],
    [NS.info, 'free-text'],
    [NS.info, 'available-media'],
    [NS.xcon, 'conference-time'],
  ] as const;
  for (const [ns, name] of replaced) {
    const value = from ? child(from, ns, name) : undefined;
    setChild(to, ns, name, value ? clone(value) : undefined);
  }
  setConferenceUri(doc, joinUri);

  const users = ensureChild(doc, NS.info, 'users');
  const previous = new Map(userElements(doc).map((u) => [normalizeId(attr(u, 'entity') ?? ''), u]));
  const merged = userElements(rebuilt).map((user) => {
    const entity = normalizeId(attr(user, 'entity') ?? '');
    const old = previous.get(entity);
    if (!old) return clone(user);
    const kept = clone(old);
    if (roleClass(rolesOf(kept)) !== roleClass(rolesOf(user))) {
      const roles = child(user, NS.info, 'roles');
      setChild(kept, NS.info, 'roles', roles ? clone(roles) : undefined);
    }
    const sip = sipUriOf(user);
    if (sip && sipUriOf(kept)?.toLowerCase() !== sip.toLowerCase()) {
      const aors = child(user, NS.info, 'associated-aors');
      setChild(kept, NS.info, 'associated-aors', aors ? clone(aors) : undefined);
    }
    return kept;
  });
  const others = users.children.filter(
    (c) => isElement(c) && !(c.ns === NS.info && c.name === 'user') && !isTargetList(c),
  );
  const list = usersOf(rebuilt)?.children.filter((c) => isElement(c) && isTargetList(c)) ?? [];
  users.children = [...merged, ...others, ...list.map((c) => clone(c))];
  return doc;
}

function isTargetList(node: XElement): boolean {
  return node.ns === NS.xcon && node.name === 'allowed-users-list';
}

/** Deletes an imported object once the backend confirms its conference is gone. */
async function dropIfGone(ctx: Ctx, connector: Connector, backendId: string, uri: string): Promise<boolean> {
  return exclusive(ctx, uri, async () => {
    const obj = await ctx.deps.store.get(uri);
    if (!obj || obj.backendId !== backendId || !isImported(obj)) return false;
    const stillThere = connector.getConference
      ? await backend(ctx, connector, 'reading a conference', async () =>
          connector.getConference?.(backendId),
        )
      : undefined;
    if (stillThere) return false;
    const sidebars = await ctx.deps.store.listChildren(obj.uri);
    if (sidebars.length > 0) return false;
    try {
      await ctx.deps.store.commit([{ op: 'delete', uri: obj.uri, expectedVersion: obj.version }]);
    } catch (err) {
      if (err instanceof StoreConflict) return false;
      throw err;
    }
    ctx.deps.logger.log('info', 'backend_sync.dropped', {
      connector: connector.name,
      backendId,
      conference: obj.uri,
      requestId: ctx.requestId,
    });
    return true;
  });
}

/** Records the object's XCON-URI (and its users' XCON-USERIDs) in the backend conference. */
async function writeBack(
  ctx: Ctx,
  connector: Connector,
  bc: BackendConference,
  obj: StoredObject,
): Promise<void> {
  const doc = parseDocument(obj.document);
  const spec = specOf(doc, { uri: obj.uri, kind: 'conference', owner: obj.owner });
  try {
    await backend(ctx, connector, 'recording the XCON-URI of a conference', () =>
      connector.updateConference(bc.handle, spec),
    );
  } catch (err) {
    // The object stays usable; the next change of the row retries.
    ctx.deps.logger.log('warn', 'backend_sync.write_back_failed', {
      connector: connector.name,
      backendId: bc.handle.backendId,
      conference: obj.uri,
      error: messageOf(err),
      requestId: ctx.requestId,
    });
  }
}

/** The conference document of a backend conference, and its owner (the organizer's XCON-USERID). */
async function documentOf(
  ctx: Ctx,
  bc: BackendConference,
  uri: string,
): Promise<{ doc: XElement; owner: string }> {
  const { spec } = bc;
  const doc = el(NS.info, 'conference-info', { entity: uri });
  const desc = el(NS.info, 'conference-description');
  doc.children.push(desc);
  if (spec.displayText) desc.children.push(textEl(NS.info, 'display-text', spec.displayText));
  if (spec.subject) desc.children.push(textEl(NS.info, 'subject', spec.subject));
  if (spec.description) desc.children.push(textEl(NS.info, 'free-text', spec.description));
  if (spec.media.length > 0) {
    // RFC 6501 types media labels as numbers.
    const entries = spec.media.map((m, i) =>
      el(NS.info, 'entry', { label: String(i + 1) }, [
        textEl(NS.info, 'display-text', m.displayText ?? m.type),
        textEl(NS.info, 'type', m.type),
        textEl(NS.info, 'status', m.status),
      ]),
    );
    desc.children.push(el(NS.info, 'available-media', {}, entries));
  }
  const schedule = spec.schedule ?? {};
  const ics = buildConferenceIcs({
    uid: `${parseXconUri(uri)?.local ?? 'conference'}@${ctx.deps.config.domain}`,
    ...(schedule.start !== undefined ? { start: schedule.start } : {}),
    ...(schedule.durationMinutes !== undefined ? { durationMinutes: schedule.durationMinutes } : {}),
    ...(schedule.rrule !== undefined ? { rrule: schedule.rrule } : {}),
    now: new Date(ctx.deps.platform.now()),
  });
  desc.children.push(
    el(NS.xcon, 'conference-time', {}, [el(NS.xcon, 'entry', {}, [textEl(NS.xcon, 'base', ics)])]),
  );
  setConferenceUri(doc, bc.handle.joinUri);

  // Participants under the XCON-USERID the directory gives their SIP address, else the backend's.
  const organizerKey = spec.organizer ? normalizeId(spec.organizer) : undefined;
  let owner: string | undefined;
  const targets: Target[] = [];
  const people = [...spec.participants].sort(
    (a, b) => Number(b.roles.includes('organizer')) - Number(a.roles.includes('organizer')),
  );
  for (const p of people) {
    const principal = p.sipUri ? await ctx.deps.directory.findByUri(p.sipUri) : undefined;
    const userId = normalizeId(principal?.userId ?? p.userId);
    if (!parseXconUserId(userId)) continue;
    const displayName = p.displayName ?? principal?.displayName;
    const isOrganizer = p.roles.includes('organizer') || normalizeId(p.userId) === organizerKey;
    if (isOrganizer) owner ??= userId;
    upsertUser(doc, userId, {
      ...(displayName ? { displayName } : {}),
      ...(p.sipUri ? { sipUri: p.sipUri } : {}),
      roles: p.roles.length > 0 ? p.roles : ['participant'],
    });
    if (!targets.some((t) => t.uri === userId)) targets.push({ uri: userId, method: p.method });
  }
  owner ??= organizerKey;
  if (!owner || !parseXconUserId(owner)) throw new Error('the backend conference has no organizer');
  if (!targets.some((t) => t.uri === owner)) {
    upsertUser(doc, owner, { roles: ['organizer'] });
    targets.unshift({ uri: owner, method: 'dial-in' });
  }
  setTargets(doc, targets);
  await reconcileParticipants(ctx, doc, owner, new Set());
  normalizeCalendar(doc);
  validateDocument(doc);
  return { doc, owner };
}

/**
 * What a backend can hold of a conference, as a comparable string: a stored document differs from
 * the backend's when these differ, whatever else it carries (display texts, labels, passwords).
 */
function projection(doc: XElement, owner: string): string {
  const spec = specOf(doc, { uri: '', kind: 'conference', owner: normalizeId(owner) });
  const on = (type: string) => spec.media.some((m) => m.type === type && m.status !== 'inactive');
  return JSON.stringify({
    subject: spec.subject ?? '',
    description: spec.description ?? '',
    start: spec.schedule?.start ?? '',
    minutes: spec.schedule?.durationMinutes ?? 0,
    media: ['audio', 'video', 'text'].map(on),
    organizer: spec.organizer ?? '',
    participants: spec.participants
      .map((p) => `${p.userId} ${(p.sipUri ?? '').toLowerCase()} ${roleClass(p.roles)}`)
      .sort(),
  });
}

/** The roles a backend tells apart. */
function roleClass(roles: readonly string[]): string {
  const lower = roles.map((r) => r.toLowerCase());
  return lower.includes('organizer') ? 'organizer' : lower.includes('observer') ? 'observer' : 'participant';
}

/** The XCON-URI of an imported conference: derived from its backend ID, 80 bits in [a-z2-7]. */
async function derivedUri(ctx: Ctx, connector: string, backendId: string): Promise<string> {
  const hex = await ctx.deps.platform.sha256(`${connector}\u0000${backendId}`);
  let id = '';
  for (let i = 0; i < 32; i += 2) id += BASE32.charAt(parseInt(hex.slice(i, i + 2), 16) & 31);
  return normalizeId(`xcon:${id}@${ctx.deps.config.domain}`);
}

async function fingerprintOf(ctx: Ctx, bc: BackendConference): Promise<string> {
  return ctx.deps.platform.sha256(JSON.stringify([bc.handle, bc.spec]));
}

function backendKey(connector: string, backendId: string): string {
  return `${connector}\u0000${backendId}`;
}

/** Objects the sync made: CCMP-created conferences always name what they were cloned from. */
function isImported(obj: StoredObject): boolean {
  return obj.kind === 'conference' && obj.clonedFrom === undefined;
}

function isSidebar(bc: BackendConference): boolean {
  const kind = (bc.spec as { kind?: unknown }).kind;
  return kind === 'sidebar' || bc.spec.parentUri !== undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
