/**
 * @module Decoding a parsed CCMP request envelope.
 *
 * Dispatch is on the inner element's `xsi:type`, resolved by namespace URI (any prefix, default
 * namespace, or the RFC 6504 namespace variant). Values are trimmed. Structural problems raise
 * DecodeError carrying whatever was readable, so the 400 answer can still echo the request.
 */
import { isCcmpNamespace, NS } from '../xml/namespaces.ts';
import { attr, child, isElement, text, type XElement } from '../xml/tree.ts';
import {
  INFO_ELEMENT,
  MESSAGE_TYPES,
  OPERATIONS,
  type CcmpRequest,
  type MessageType,
  type Operation,
  type PartialRequest,
} from './messages.ts';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly partial: PartialRequest,
  ) {
    super(message);
  }
}

/** Thrown when the document is XML but not a CCMP request at all (answered at HTTP level). */
export class NotCcmpError extends Error {
  override readonly name = 'NotCcmpError';
}

const TYPE_BY_XSI = new Map<string, MessageType>(
  MESSAGE_TYPES.map((t) => [`ccmp-${t}-request-message-type`, t]),
);

export function decodeRequest(root: XElement): CcmpRequest {
  if (!isCcmpNamespace(root.ns) || root.name !== 'ccmpRequest') {
    throw new NotCcmpError(`the root element must be ccmpRequest in namespace ${NS.ccmp}`);
  }
  const inner = root.children.filter(isElement);
  const message = inner[0];
  if (inner.length !== 1 || !message || message.name !== 'ccmpRequest' || message.ns !== '') {
    throw new DecodeError('ccmpRequest must hold exactly one unqualified ccmpRequest element', {});
  }
  const partial = readCommon(message);
  const xsiType = attr(message, 'type', NS.xsi);
  const specialized = message.children.find(
    (c): c is XElement => isElement(c) && isCcmpNamespace(c.ns) && c.name.endsWith('Request'),
  );
  if (xsiType === undefined) {
    const guess = specialized
      ? TYPE_BY_XSI.get(`ccmp-${specialized.name.slice(0, -7)}-request-message-type`)
      : undefined;
    throw new DecodeError('the inner ccmpRequest has no xsi:type naming the message type', {
      ...partial,
      type: guess,
    });
  }
  const m = /^\{([^}]*)\}(.*)$/.exec(xsiType);
  const type = m && isCcmpNamespace(m[1] ?? '') ? TYPE_BY_XSI.get(m[2] ?? '') : undefined;
  if (!type)
    throw new DecodeError(
      `xsi:type "${xsiType.replace(/^\{[^}]*\}/, '')}" is not a CCMP request type`,
      partial,
    );
  const withType: PartialRequest = { ...partial, type };

  const request: CcmpRequest = { type };
  if (partial.confUserID !== undefined) request.confUserID = partial.confUserID;
  if (partial.confObjID !== undefined) request.confObjID = partial.confObjID;

  const opElement = child(message, '', 'operation');
  if (opElement) {
    const op = text(opElement);
    if (!(OPERATIONS as readonly string[]).includes(op)) {
      throw new DecodeError(`operation "${op}" is not one of ${OPERATIONS.join(', ')}`, withType);
    }
    request.operation = op as Operation;
  }
  const subject = child(message, '', 'subject');
  if (subject) {
    const username = child(subject, '', 'username');
    const password = child(subject, '', 'password');
    request.subject = {
      ...(username ? { username: text(username) } : {}),
      ...(password ? { password: text(password) } : {}),
    };
  }
  const password = child(message, '', 'conference-password');
  if (password) request.conferencePassword = text(password);

  if (type === 'options') return request;
  const expected = `${type}Request`;
  const body = message.children.find(
    (c): c is XElement => isElement(c) && isCcmpNamespace(c.ns) && c.name === expected,
  );
  if (!body) throw new DecodeError(`the ${type} request has no ccmp:${expected} element`, withType);
  request.body = body;
  const infoName = INFO_ELEMENT[type];
  if (infoName) {
    const info = child(body, '', infoName);
    if (info) request.info = info;
  }
  const filter = child(body, '', 'xpathFilter');
  if (filter && text(filter) !== '') request.xpathFilter = text(filter);
  if (type === 'extended') {
    const name = child(body, '', 'extensionName');
    if (!name || text(name) === '')
      throw new DecodeError('extendedRequest requires an extensionName', withType);
    request.extensionName = text(name);
  }
  return request;
}

function readCommon(message: XElement): PartialRequest {
  const out: PartialRequest = {};
  const user = text(child(message, '', 'confUserID'));
  if (user !== '') out.confUserID = user;
  const obj = text(child(message, '', 'confObjID'));
  if (obj !== '') out.confObjID = obj;
  const op = text(child(message, '', 'operation'));
  if ((OPERATIONS as readonly string[]).includes(op)) out.operation = op as Operation;
  return out;
}
