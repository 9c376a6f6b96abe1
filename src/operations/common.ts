/**
 * @module Steps shared by the operation handlers: loading, authorization, passwords, locking,
 * backend calls with a time limit, and turning a document into a stored object.
 */
import type { ConferenceHandle, Connector } from '../../connectors/types.ts';
import { ConnectorError } from '../../connectors/types.ts';
import { actorForRole, permission, strongest, type Actor } from '../auth/permissions.ts';
import type { Operation } from '../ccmp/messages.ts';
import type { CcmpResponse } from '../ccmp/encode.ts';
import {
  BadRequest,
  CcmpError,
  Conflict,
  ForbiddenChangeProtected,
  InvalidPassword,
  ObjectNotFound,
  PasswordRequired,
  RequestTimeout,
  Unauthorized,
  Forbidden,
} from '../errors.ts';
import { normalizeId } from '../model/ids.ts';
import { serializeDocument } from '../model/document.ts';
import { membersOf } from '../model/users.ts';
import { publicView } from '../model/views.ts';
import { passwordOf } from '../model/spec.ts';
import { timingSafeEqual } from '../platform.ts';
import type { ObjectKind, StoredObject } from '../store/types.ts';
import { StoreConflict } from '../store/types.ts';
import { QueueFull } from '../util/keyed-mutex.ts';
import type { XElement } from '../xml/tree.ts';
import type { Ctx } from '../core/types.ts';

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === '') throw new BadRequest(`${what} is required`);
  return value;
}

/** A message handler that dispatches on the four CCMP operations. */
export function byOperation(
  handlers: Record<Operation, (ctx: Ctx) => Promise<CcmpResponse>>,
): (ctx: Ctx) => Promise<CcmpResponse> {
  return (ctx) => handlers[operationOf(ctx, ['retrieve', 'create', 'update', 'delete'])](ctx);
}

/** List requests carry no operation (RFC 6503 §5.3.1, §5.3.2); `retrieve` is tolerated. */
export function listOnly(ctx: Ctx): void {
  const op = ctx.request.operation;
  if (op !== undefined && op !== 'retrieve')
    throw new Forbidden(`operation ${op} is not valid for ${ctx.request.type}Request`);
}

export function operationOf(ctx: Ctx, allowed: readonly Operation[]): Operation {
  const op = required(ctx.request.operation, `<operation> (one of ${allowed.join(', ')})`);
  if (!allowed.includes(op))
    throw new Forbidden(`operation ${op} is not valid for ${ctx.request.type}Request`);
  return op;
}

const KIND_NAMES: Record<ObjectKind, string> = {
  blueprint: 'blueprint',
  conference: 'conference',
  'sidebar-by-val': 'sidebar by value',
  'sidebar-by-ref': 'sidebar by reference',
};

/** Loads an object of one of the kinds; any other object, or none, is 404. */
export async function load(ctx: Ctx, uri: string, kinds: ObjectKind[]): Promise<StoredObject> {
  const found = await ctx.deps.store.get(normalizeId(uri));
  if (!found || !kinds.includes(found.kind)) {
    throw new ObjectNotFound(
      `${uri} is not a ${kinds.map((k) => KIND_NAMES[k]).join(' or ')} of this server`,
    );
  }
  return found;
}

/** The requester's actor class for an object (its member role, or its parent's for sidebars). */
export function actorOf(ctx: Ctx, obj: StoredObject, parent?: StoredObject): Actor {
  if (ctx.isAdmin) return 'administrator';
  const actors: Actor[] = [];
  for (const m of obj.members) if (m.userId === ctx.userId) actors.push(actorForRole(m.role));
  if (normalizeId(obj.owner) === ctx.userId) actors.push('moderator');
  if (parent) {
    const inParent = actorOf(ctx, parent);
    if (inParent === 'moderator') actors.push('moderator');
  }
  return strongest(actors);
}

export type Grant = 'allow' | 'self' | 'policy';

/** Looks the permission table up; refusals throw the table's code. */
export function authorize(ctx: Ctx, operation: Operation, actor: Actor, what: string): Grant {
  const access = permission(ctx.request.type, operation, actor);
  if (access === undefined)
    throw new Forbidden(`operation ${operation} is not valid for ${ctx.request.type}Request`);
  switch (access) {
    case 'allow':
    case 'self':
    case 'policy':
      return access;
    case 401:
      throw new Unauthorized(`${ctx.userId} is not authorized to ${operation} ${what}`);
    case 403:
      throw new Forbidden(
        `${operation} is not allowed on ${what} for ${actor === 'none' ? 'this user' : `role ${actor}`}`,
      );
    case 426:
      throw new ForbiddenChangeProtected(`role ${actor} may not change ${what}`);
  }
}

/** conference-password rules (RFC 6503 §5.1): 423 when missing, 422 when wrong, throttled. */
export function checkPassword(ctx: Ctx, obj: StoredObject): void {
  if (obj.password === undefined || ctx.isAdmin) return;
  const given = ctx.request.conferencePassword;
  if (given === undefined) throw new PasswordRequired('conference password required');
  const throttle = ctx.deps.passwordThrottle;
  const keys = [`${obj.uri}|${ctx.clientAddress}`, `${obj.uri}|${ctx.userId}`];
  const locked = keys.map((k) => throttle.check(k)).find((s) => s.locked);
  if (locked) {
    throw new InvalidPassword(
      `too many wrong conference passwords: try again in ${Math.ceil(locked.retryAfterMs / 1000)} s`,
    );
  }
  if (!timingSafeEqual(given, obj.password)) {
    const lockedNow = keys.map((k) => throttle.fail(k)).some(Boolean);
    ctx.deps.logger.log(lockedNow ? 'warn' : 'info', 'conference.password.failed', {
      conference: obj.uri,
      user: ctx.userId,
      client: ctx.clientAddress,
      lockedOut: lockedNow,
      requestId: ctx.requestId,
    });
    throw new InvalidPassword('invalid conference password');
  }
  for (const k of keys) throttle.succeed(k);
}

/** Optimistic concurrency on top of the RFC: If-Match names the version the client last saw. */
export function checkIfMatch(ctx: Ctx, obj: StoredObject): void {
  if (ctx.ifMatch !== undefined && ctx.ifMatch !== obj.version) {
    throw new Conflict(`the object is at version ${obj.version}, not ${ctx.ifMatch} (If-Match)`, {
      version: obj.version,
    });
  }
}

/** Runs a modifying operation with the conference's queue held. */
export async function exclusive<T>(ctx: Ctx, key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await ctx.deps.mutex.run(normalizeId(key), work);
  } catch (err) {
    if (err instanceof QueueFull)
      throw new RequestTimeout('too many operations are waiting on this conference');
    throw err;
  }
}

export function connectorFor(ctx: Ctx, obj?: StoredObject): Connector {
  if (obj?.connector) {
    const found = ctx.deps.connectors.get(obj.connector);
    if (!found) throw new CcmpError(500, `conferencing backend "${obj.connector}" is not configured`);
    return found;
  }
  return ctx.deps.defaultConnector;
}

/**
 * A backend call with the configured time limit (510 when exceeded).
 *
 * The call cannot be cancelled: a backend may still finish after the client was told 510. `undo`
 * then gets the late result, so that the backend is brought back to what the store holds: a
 * conference made too late is taken away again, a change applied too late is replaced.
 */
export async function backend<T>(
  ctx: Ctx,
  connector: Connector,
  what: string,
  call: () => Promise<T>,
  undo?: (late: T) => Promise<unknown>,
): Promise<T> {
  const ms = ctx.deps.config.backendTimeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new ConnectorError(connector.name, 'timeout', `${what} took longer than ${ms} ms`));
    }, ms);
  });
  const pending = call();
  if (undo) {
    pending.then(
      (late) => {
        if (timedOut) undoLate(ctx, connector, what, () => undo(late));
      },
      () => undefined,
    );
  }
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    ctx.deps.logger.log('warn', 'backend.failed', {
      connector: connector.name,
      what,
      error: err instanceof Error ? err.message : String(err),
      requestId: ctx.requestId,
    });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function undoLate(ctx: Ctx, connector: Connector, what: string, undo: () => Promise<unknown>): void {
  const fields = { connector: connector.name, what, requestId: ctx.requestId };
  undo().then(
    () => {
      ctx.deps.logger.log('warn', 'backend.late_result_undone', fields);
    },
    (err: unknown) => {
      ctx.deps.logger.log('error', 'backend.late_result_kept', {
        ...fields,
        error: err instanceof Error ? err.message : String(err),
      });
    },
  );
}

export function handleOf(obj: StoredObject): ConferenceHandle | undefined {
  return obj.backendId !== undefined && obj.joinUri !== undefined
    ? { backendId: obj.backendId, joinUri: obj.joinUri }
    : undefined;
}

/** Builds the stored form of a document: canonical XML, public view, members, password. */
export function toStored(
  ctx: Ctx,
  base: Omit<StoredObject, 'document' | 'publicDocument' | 'members' | 'password' | 'updatedAt'>,
  doc: XElement,
): StoredObject {
  const view = publicView(doc, ctx.deps.config.domain);
  const password = base.kind === 'blueprint' ? undefined : passwordOf(doc);
  const stored: StoredObject = {
    ...base,
    document: serializeDocument(doc),
    members: base.kind === 'blueprint' ? [] : membersOf(doc, base.owner),
    updatedAt: ctx.deps.platform.now(),
  };
  // Callers pass the previous object as base: its view and password describe the old document.
  delete stored.publicDocument;
  delete stored.password;
  if (view) stored.publicDocument = serializeDocument(view);
  if (password !== undefined) stored.password = password;
  return stored;
}

/** The document the requester may see. */
export function visibleDocument(obj: StoredObject, actor: Actor): string {
  if (actor === 'administrator' || actor === 'moderator') return obj.document;
  return obj.publicDocument ?? obj.document;
}

/** Commits writes, turning a lost compare-and-set race into 409 with the current version. */
export async function commit(ctx: Ctx, writes: Parameters<Ctx['deps']['store']['commit']>[0]): Promise<void> {
  try {
    await ctx.deps.store.commit(writes);
  } catch (err) {
    if (err instanceof StoreConflict) {
      throw new Conflict(`${err.uri} was changed concurrently; retrieve it and try again`, {
        ...(err.currentVersion !== undefined ? { version: err.currentVersion } : {}),
      });
    }
    throw err;
  }
}

/** The success response for the current request. */
export function success(ctx: Ctx, fields: Partial<CcmpResponse> = {}): CcmpResponse {
  const r: CcmpResponse = {
    type: ctx.request.type,
    confUserID: ctx.request.confUserID ?? ctx.principal.userId,
    code: 200,
    responseString: 'success',
    ...fields,
  };
  if (r.confObjID === undefined && ctx.request.confObjID !== undefined) r.confObjID = ctx.request.confObjID;
  if (r.operation === undefined && ctx.request.operation !== undefined) r.operation = ctx.request.operation;
  return r;
}
