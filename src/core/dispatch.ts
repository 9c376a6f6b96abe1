/**
 * @module From a request body to a CCMP response: parse, decode, authenticate, check the
 * requester's identity, run the operation, and turn any failure into the right response code.
 */
import type { Authenticator } from '../auth/authenticate.ts';
import type { AuthRequest } from '../auth/types.ts';
import { decodeRequest, DecodeError, NotCcmpError } from '../ccmp/decode.ts';
import { encodeResponse, type CcmpResponse } from '../ccmp/encode.ts';
import type { CcmpRequest, MessageType, PartialRequest } from '../ccmp/messages.ts';
import { BadRequest, HttpError, InvalidConfUserId, Unauthorized, toCcmpFailure } from '../errors.ts';
import { normalizeId, parseXconUserId, userIdFromSipUri } from '../model/ids.ts';
import { blueprintRequest, blueprintsRequest } from '../operations/blueprints.ts';
import { confRequest, confsRequest } from '../operations/conf.ts';
import { extendedRequest, extensionNameBody } from '../operations/extended.ts';
import { optionsRequest } from '../operations/options.ts';
import { sidebarRequest, sidebarsListRequest } from '../operations/sidebars.ts';
import { userRequest, usersRequest } from '../operations/users.ts';
import { parseXml, XmlError } from '../xml/parse.ts';
import type { Ctx, Deps } from './types.ts';

const HANDLERS: Record<MessageType, (ctx: Ctx) => Promise<CcmpResponse>> = {
  options: optionsRequest,
  blueprints: blueprintsRequest,
  blueprint: blueprintRequest,
  confs: confsRequest,
  conf: confRequest,
  users: usersRequest,
  user: userRequest,
  sidebarsByVal: sidebarsListRequest,
  sidebarsByRef: sidebarsListRequest,
  sidebarByVal: sidebarRequest,
  sidebarByRef: sidebarRequest,
  extended: extendedRequest,
};

export interface CcmpExchange {
  xml: string;
  response: CcmpResponse;
  request?: CcmpRequest;
}

export interface ExchangeInput {
  body: string;
  auth: Omit<AuthRequest, 'subject'>;
  requestId: string;
  ifMatch?: number;
  /** An XCON-USERID the request must be made as (REST-style binding `/<XCON-USERID>`). */
  pathUserId?: string;
}

/**
 * Wraps the operation step, after authentication and the identity check: it may answer by itself
 * (federation forwards requests for other sites' conferences) or call `next`, the local handler.
 */
export type OperationHook = (ctx: Ctx, next: () => Promise<CcmpResponse>) => Promise<CcmpResponse>;

/** Runs one CCMP exchange. Throws HttpError when there is no CCMP message to answer. */
export async function exchange(
  deps: Deps,
  auth: Authenticator,
  input: ExchangeInput,
  hook?: OperationHook,
): Promise<CcmpExchange> {
  let request: CcmpRequest;
  try {
    request = decodeRequest(parseXml(input.body));
  } catch (err) {
    if (err instanceof XmlError || err instanceof NotCcmpError) throw new HttpError(400, err.message);
    if (err instanceof DecodeError)
      return failure(deps, err.partial, new BadRequest(err.message), input.requestId);
    throw err;
  }
  request = withFromHint(request, input.auth.header('from'));
  try {
    if (
      input.pathUserId !== undefined &&
      normalizeId(input.pathUserId) !== normalizeId(request.confUserID ?? '')
    ) {
      throw new BadRequest(`the XCON-USERID of the request path (${input.pathUserId}) is not the confUserID`);
    }
    const { principal } = await auth.authenticate({
      ...input.auth,
      ...(request.subject ? { subject: request.subject } : {}),
    });
    await checkIdentity(deps, request, principal.userId);
    const ctx: Ctx = {
      deps,
      request,
      principal,
      userId: normalizeId(principal.userId),
      isAdmin: principal.systemRoles.includes('administrator'),
      clientAddress: input.auth.clientAddress,
      requestId: input.requestId,
      ...(input.ifMatch !== undefined ? { ifMatch: input.ifMatch } : {}),
    };
    const run = () => HANDLERS[request.type](ctx);
    const response = hook ? await hook(ctx, run) : await run();
    return { xml: encodeResponse(response), response, request };
  } catch (err) {
    if (err instanceof HttpError) throw err;
    return { ...failure(deps, request, err, input.requestId), request };
  }
}

/**
 * Linphone names its account in `From` (a bare SIP URI) on every request. A request without a
 * confUserID is made as the XCON-USERID derived from it (`sip:` → `xcon-userid:`), as Linphone itself
 * derives its confUserID; a first userRequest/create still goes without one.
 */
function withFromHint(request: CcmpRequest, from: string | undefined): CcmpRequest {
  if (request.confUserID !== undefined || from === undefined) return request;
  if (request.type === 'user' && request.operation === 'create') return request;
  const userId = userIdFromSipUri(/<([^>]*)>/.exec(from)?.[1] ?? from);
  return userId && parseXconUserId(userId)?.host ? { ...request, confUserID: userId } : request;
}

/** The confUserID must be the authenticated user (401), and a known one (421). */
async function checkIdentity(deps: Deps, request: CcmpRequest, principalId: string): Promise<void> {
  if (request.confUserID === undefined) {
    if (request.type === 'user' && request.operation === 'create') return;
    throw new BadRequest('<confUserID> is required');
  }
  const claimed = normalizeId(request.confUserID);
  if (claimed === normalizeId(principalId)) return;
  const known = (await deps.directory.findUser(claimed)) ?? (await deps.store.isAllocatedUser(claimed));
  if (!known) throw new InvalidConfUserId(`${request.confUserID} is not a user of this server`);
  throw new Unauthorized(`authenticated as ${principalId}, not as ${request.confUserID}`);
}

function failure(deps: Deps, partial: PartialRequest, err: unknown, requestId: string): CcmpExchange {
  const f = toCcmpFailure(err);
  if (f.internal) {
    deps.logger.log('error', 'ccmp.internal_error', {
      requestId,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
  const type = partial.type ?? 'options';
  const withOperation = type !== 'blueprints' && type !== 'confs' && type !== 'options';
  const response: CcmpResponse = {
    type,
    confUserID: partial.confUserID ?? '',
    code: f.code,
    responseString: f.message,
    ...(partial.confObjID !== undefined && type !== 'blueprints' && type !== 'confs'
      ? { confObjID: partial.confObjID }
      : {}),
    ...(withOperation && partial.operation !== undefined ? { operation: partial.operation } : {}),
    ...(f.version !== undefined ? { version: f.version } : {}),
  };
  if (type === 'extended') {
    const name = 'extensionName' in partial ? ((partial as CcmpRequest).extensionName ?? '') : '';
    response.body = extensionNameBody(name);
  }
  return { xml: encodeResponse(response), response };
}
