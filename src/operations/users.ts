/**
 * @module usersRequest (RFC 6503 §5.3.5) and userRequest (§5.3.6).
 *
 * Both work on the `<users>` of a conference or sidebar and bump its version. userRequest/create
 * covers the four cases of the RFC: the requester joins, adds a known user, joins without an
 * XCON-USERID yet, or adds someone whose XCON-USERID it does not know (AUTO_GENERATE), in which case
 * an existing identity is reused when the signalling URI is known.
 */
import type { CcmpResponse } from '../ccmp/encode.ts';
import { ENVELOPE_NAMESPACES } from '../ccmp/encode.ts';
import type { Ctx } from '../core/types.ts';
import {
  BadRequest,
  Conflict,
  ForbiddenChangeProtected,
  InvalidDomain,
  NotImplemented,
  Unauthorized,
  UserNotFound,
} from '../errors.ts';
import { hasPlaceholder } from '../model/autogen.ts';
import { applyDelta } from '../model/delta.ts';
import { parseStored } from '../model/document.ts';
import { normalizeId, parseXconUserId } from '../model/ids.ts';
import {
  admissionPolicy,
  findUserElement,
  removeUser,
  rolesOf,
  setTargets,
  targetsOf,
  usersOf,
} from '../model/users.ts';
import { actorForRole, type Actor } from '../auth/permissions.ts';
import type { ParticipantMedia } from '../../connectors/types.ts';
import type { StoredObject } from '../store/types.ts';
import { NS } from '../xml/namespaces.ts';
import { serialize } from '../xml/serialize.ts';
import {
  attr,
  child,
  children,
  clone,
  el,
  ensureChild,
  isElement,
  setAttr,
  text,
  textEl,
  walk,
  type XElement,
} from '../xml/tree.ts';
import {
  actorOf,
  authorize,
  byOperation,
  backend,
  checkIfMatch,
  checkPassword,
  connectorFor,
  exclusive,
  handleOf,
  load,
  operationOf,
  required,
  success,
  visibleDocument,
} from './common.ts';
import { updateDocument } from './conf.ts';
import { resolveSignallingUri } from './participants.ts';
import { randomId } from '../platform.ts';
import { parentWrites } from './sidebars.ts';

const KINDS = ['conference', 'sidebar-by-val', 'sidebar-by-ref'] as const;

interface Target {
  obj: StoredObject;
  parent?: StoredObject;
  actor: Actor;
}

async function loadTarget(ctx: Ctx): Promise<Target> {
  const obj = await load(ctx, required(ctx.request.confObjID, '<confObjID>'), [...KINDS]);
  const parent = obj.parentUri ? await ctx.deps.store.get(obj.parentUri) : undefined;
  return { obj, actor: actorOf(ctx, obj, parent), ...(parent ? { parent } : {}) };
}

/** Runs a change of the users under the conference's lock; sidebars refresh their parent. */
async function changeUsers(
  ctx: Ctx,
  target: Target,
  change: (doc: XElement) => Promise<void>,
): Promise<StoredObject> {
  const updated = await updateDocument(ctx, target.obj, change, (u) => parentWrites(ctx, u));
  return updated;
}

function lockKey(t: Target): string {
  return t.obj.parentUri ?? t.obj.uri;
}

export async function usersRequest(ctx: Ctx): Promise<CcmpResponse> {
  const op = operationOf(ctx, ['retrieve', 'update', 'create', 'delete']);
  const peek = await loadTarget(ctx);
  authorize(ctx, op, peek.actor, peek.obj.uri);
  if (op === 'retrieve') {
    checkPassword(ctx, peek.obj);
    const doc = parseStored(visibleDocument(peek.obj, peek.actor));
    const users = usersOf(doc) ?? el(NS.info, 'users');
    return success(ctx, {
      version: peek.obj.version,
      body: serialize(users, { type: 'users', rename: 'usersInfo', declared: ENVELOPE_NAMESPACES }),
    });
  }
  const delta = required(ctx.request.info, '<usersInfo> with the changes');
  return exclusive(ctx, lockKey(peek), async () => {
    const target = await loadTarget(ctx);
    authorize(ctx, 'update', target.actor, target.obj.uri);
    checkPassword(ctx, target.obj);
    checkIfMatch(ctx, target.obj);
    const updated = await changeUsers(ctx, target, async (doc) => {
      applyDelta(ensureChild(doc, NS.info, 'users'), delta);
    });
    return success(ctx, { version: updated.version });
  });
}

export const userRequest = byOperation({
  create: (ctx) => createUser(ctx),
  retrieve: (ctx) => retrieveUser(ctx),
  update: (ctx) => updateUser(ctx),
  delete: (ctx) => deleteUser(ctx),
});

/** The target user of a request: userInfo/@entity, or the requester. */
function targetUserId(ctx: Ctx): string {
  const entity = ctx.request.info ? attr(ctx.request.info, 'entity')?.trim() : undefined;
  return entity === undefined || entity === '' ? ctx.userId : normalizeId(entity);
}

function userInfoBody(user: XElement): string {
  return serialize(user, { type: 'user', rename: 'userInfo', declared: ENVELOPE_NAMESPACES });
}

async function createUser(ctx: Ctx): Promise<CcmpResponse> {
  const info = ctx.request.info;
  const entity = info ? attr(info, 'entity')?.trim() : undefined;
  if (info && (entity === undefined || entity === ''))
    throw new BadRequest('userInfo needs an entity (an XCON-USERID or AUTO_GENERATE_n)');
  if (entity !== undefined && hasPlaceholder(entity)) {
    // Whoever joins (case 3 included), a placeholder must name an XCON-USERID of a domain served here.
    const parsed = parseXconUserId(entity);
    if (!parsed) throw new BadRequest(`userInfo entity "${entity}" is not an XCON-USERID`);
    if (!ctx.deps.config.domains.has(parsed.host)) {
      throw new InvalidDomain(`${entity}: domain "${parsed.host}" is not served by this conference server`);
    }
  }
  let joinSelf = entity === undefined || normalizeId(entity) === ctx.userId;
  // Case 3: no confUserID; the authenticated identity is this user's XCON-USERID (RFC 6503 §10.2).
  if (ctx.request.confUserID === undefined && entity !== undefined && hasPlaceholder(entity)) joinSelf = true;

  const peek = await loadTarget(ctx);
  return exclusive(ctx, lockKey(peek), async () => {
    const target = await loadTarget(ctx);
    const grant = authorize(ctx, 'create', target.actor, target.obj.uri);
    if (!joinSelf && grant !== 'allow' && !mayInvite(ctx, target.obj)) {
      throw new Unauthorized(`${ctx.userId} may not add other users to ${target.obj.uri}`);
    }
    if (joinSelf && grant === 'policy') {
      const policy = admissionPolicy(parseStored(target.obj.document));
      if (policy !== 'openAuthenticated' && policy !== 'anonymous') {
        throw new Unauthorized(`${target.obj.uri} admits only the users it lists (${policy ?? 'closed'})`);
      }
    }
    checkPassword(ctx, target.obj);
    checkIfMatch(ctx, target.obj);

    let userId: string;
    const facts: { sipUri?: string; displayName?: string } = {};
    if (joinSelf) {
      userId = ctx.principal.userId;
      if (ctx.principal.sipUri) facts.sipUri = ctx.principal.sipUri;
      if (ctx.principal.displayName) facts.displayName = ctx.principal.displayName;
    } else if (entity !== undefined && hasPlaceholder(entity)) {
      const contact = contactUri(info);
      const resolved = contact
        ? await resolveSignallingUri(ctx, contact)
        : { userId: `xcon-userid:${randomId(ctx.deps.platform)}@${ctx.deps.config.domain}` };
      userId = resolved.userId;
      if (resolved.sipUri) facts.sipUri = resolved.sipUri;
      if ('displayName' in resolved && resolved.displayName) facts.displayName = resolved.displayName;
    } else {
      const known = await ctx.deps.directory.findUser(entity ?? '');
      if (known) {
        userId = known.userId;
        if (known.sipUri) facts.sipUri = known.sipUri;
        if (known.displayName) facts.displayName = known.displayName;
      } else if (await ctx.deps.store.isAllocatedUser(normalizeId(entity ?? ''))) {
        userId = normalizeId(entity ?? '');
      } else {
        throw new UserNotFound(`${entity ?? ''} is not a known user`);
      }
    }

    const privileged = target.actor === 'administrator' || target.actor === 'moderator';
    let userXml = '';
    const updated = await changeUsers(ctx, target, async (doc) => {
      const existing = findUserElement(doc, userId);
      if (existing && children(existing, NS.info, 'endpoint').length > 0) {
        throw new Conflict(`${userId} is already a user of ${target.obj.uri}`);
      }
      const supplied = info ? clone(info) : el(NS.info, 'user');
      supplied.ns = NS.info;
      supplied.name = 'user';
      setAttr(supplied, 'entity', userId);
      if (!privileged)
        supplied.children = supplied.children.filter(
          (c) => !(isElement(c) && c.ns === NS.info && c.name === 'roles'),
        );
      let user = existing;
      if (user) applyDelta(user, supplied);
      else {
        user = supplied;
        const users = ensureChild(doc, NS.info, 'users');
        users.children.unshift(user);
      }
      if (facts.displayName && !child(user, NS.info, 'display-text'))
        user.children.unshift(textEl(NS.info, 'display-text', facts.displayName));
      if (facts.sipUri && !child(user, NS.info, 'associated-aors')) {
        user.children.push(
          el(NS.info, 'associated-aors', {}, [
            el(NS.info, 'entry', {}, [textEl(NS.info, 'uri', facts.sipUri)]),
          ]),
        );
      }
      if (rolesOf(user).length === 0)
        user.children.push(el(NS.info, 'roles', {}, [textEl(NS.info, 'entry', 'participant')]));
      const targets = targetsOf(doc);
      if (!targets.some((t) => normalizeId(t.uri) === userId))
        setTargets(doc, [...targets, { uri: userId, method: 'dial-in' }]);
      userXml = userInfoBody(user);
    });
    return success(ctx, {
      ...(ctx.request.confUserID === undefined ? { confUserID: userId } : {}),
      version: updated.version,
      body: userXml,
    });
  });
}

function mayInvite(ctx: Ctx, obj: StoredObject): boolean {
  const me = findUserElement(parseStored(obj.document), ctx.userId);
  return text(me ? child(me, NS.xcon, 'allow-invite-users-dynamically') : undefined) === 'true';
}

function contactUri(info: XElement | undefined): string | undefined {
  if (!info) return undefined;
  for (const endpoint of children(info, NS.info, 'endpoint')) {
    const e = attr(endpoint, 'entity')?.trim();
    if (e) return e;
  }
  const aors = child(info, NS.info, 'associated-aors');
  const first = aors ? child(aors, NS.info, 'entry') : undefined;
  const uri = first ? text(child(first, NS.info, 'uri')) : '';
  return uri === '' ? undefined : uri;
}

async function retrieveUser(ctx: Ctx): Promise<CcmpResponse> {
  const target = await loadTarget(ctx);
  authorize(ctx, 'retrieve', target.actor, target.obj.uri);
  checkPassword(ctx, target.obj);
  const userId = targetUserId(ctx);
  const full = userId === ctx.userId || target.actor === 'administrator' || target.actor === 'moderator';
  const doc = parseStored(full ? target.obj.document : visibleDocument(target.obj, target.actor));
  const user = findUserElement(doc, userId);
  if (!user) throw new UserNotFound(`${userId} is not a user of ${target.obj.uri}`);
  return success(ctx, { version: target.obj.version, body: userInfoBody(user) });
}

const MODERATOR_ONLY = new Set([`${NS.info} roles`]);

async function updateUser(ctx: Ctx): Promise<CcmpResponse> {
  const info = required(ctx.request.info, '<userInfo> with the changes');
  const userId = targetUserId(ctx);
  const peek = await loadTarget(ctx);
  return exclusive(ctx, lockKey(peek), async () => {
    const target = await loadTarget(ctx);
    const grant = authorize(ctx, 'update', target.actor, target.obj.uri);
    if (grant === 'self' && userId !== ctx.userId) {
      throw new ForbiddenChangeProtected(`only moderators may change other users (${userId})`);
    }
    if (
      grant === 'self' &&
      info.children.some((c) => isElement(c) && MODERATOR_ONLY.has(`${c.ns} ${c.name}`))
    ) {
      throw new ForbiddenChangeProtected('only moderators may change roles');
    }
    checkPassword(ctx, target.obj);
    checkIfMatch(ctx, target.obj);
    const touchesMedia = [...walk(info)].some((n) => n.ns === NS.info && n.name === 'media');
    const connector = connectorFor(ctx, target.obj);
    if (touchesMedia && !connector.setParticipantMedia) {
      throw new NotImplemented(
        `the conferencing backend "${connector.name}" cannot change a participant's media`,
      );
    }
    let media: ParticipantMedia[] = [];
    const updated = await changeUsers(ctx, target, async (doc) => {
      const user = findUserElement(doc, userId);
      if (!user) throw new UserNotFound(`${userId} is not a user of ${target.obj.uri}`);
      const delta = clone(info);
      delta.attrs = delta.attrs.filter((a) => a.name !== 'entity');
      applyDelta(user, delta);
      media = mediaOf(user);
    });
    const handle = handleOf(updated);
    if (touchesMedia && handle && connector.setParticipantMedia) {
      const set = connector.setParticipantMedia.bind(connector);
      await backend(ctx, connector, 'changing participant media', () => set(handle, userId, media));
    }
    return success(ctx, { version: updated.version });
  });
}

function mediaOf(user: XElement): ParticipantMedia[] {
  const out: ParticipantMedia[] = [];
  for (const endpoint of children(user, NS.info, 'endpoint')) {
    for (const m of children(endpoint, NS.info, 'media')) {
      const status = text(child(m, NS.info, 'status'));
      const item: ParticipantMedia = {
        id: attr(m, 'id') ?? '',
        status: (['sendrecv', 'sendonly', 'recvonly', 'inactive'].includes(status)
          ? status
          : 'sendrecv') as ParticipantMedia['status'],
      };
      const type = text(child(m, NS.info, 'type'));
      if (type) item.type = type;
      const label = text(child(m, NS.info, 'label'));
      if (label) item.label = label;
      out.push(item);
    }
  }
  return out;
}

async function deleteUser(ctx: Ctx): Promise<CcmpResponse> {
  const userId = targetUserId(ctx);
  const peek = await loadTarget(ctx);
  return exclusive(ctx, lockKey(peek), async () => {
    const target = await loadTarget(ctx);
    const grant = authorize(ctx, 'delete', target.actor, target.obj.uri);
    if (grant === 'self' && userId !== ctx.userId)
      throw new Unauthorized(`only moderators may remove other users (${userId})`);
    checkPassword(ctx, target.obj);
    checkIfMatch(ctx, target.obj);
    const updated = await changeUsers(ctx, target, async (doc) => {
      const found = findUserElement(doc, userId);
      const invited = targetsOf(doc).some((t) => normalizeId(t.uri) === userId);
      if (!found && !invited) throw new UserNotFound(`${userId} is not a user of ${target.obj.uri}`);
      removeUser(doc, userId);
      if (invited)
        setTargets(
          doc,
          targetsOf(doc).filter((t) => normalizeId(t.uri) !== userId),
        );
    });
    return success(ctx, { version: updated.version });
  });
}

export const _roles = { actorForRole };
