/**
 * @module CCMP documents between gateways: the request sent to a peer, rebuilt from the decoded
 * request, and the peer's response, parsed and turned back into a CcmpResponse for our encoder.
 *
 * The forwarded request carries what the operation needs (confUserID, confObjID, operation,
 * conference-password and the specialized element) and never the client's `<subject>`: the user's
 * credentials stay at the site that checked them, the peer trusts the site token instead.
 * The response keeps the peer's codes, IDs, versions and payload; it is re-emitted in our canonical
 * form (prefixes ccmp/info/xcon, schema order), so clients see one gateway whatever site answered.
 */
import { ConnectorError } from '../../connectors/types.ts';
import { ENVELOPE_NAMESPACES, type CcmpResponse } from '../ccmp/encode.ts';
import { RESPONSE_CODES, type ResponseCode } from '../ccmp/codes.ts';
import {
  MESSAGE_TYPES,
  OPERATIONS,
  type CcmpRequest,
  type MessageType,
  type Operation,
} from '../ccmp/messages.ts';
import { isCcmpNamespace, NS } from '../xml/namespaces.ts';
import { parseXml, XmlError } from '../xml/parse.ts';
import { escapeText, serialize } from '../xml/serialize.ts';
import { attr, child, isElement, text, type XElement } from '../xml/tree.ts';

const ROOT = `<ccmp:ccmpRequest xmlns:ccmp="${NS.ccmp}" xmlns:info="${NS.info}" xmlns:xcon="${NS.xcon}" xmlns:xsi="${NS.xsi}">`;

/** The request as it is sent to a peer: our canonical form, without `<subject>`. */
export function encodeRequest(request: CcmpRequest): string {
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n${ROOT}`;
  out += `<ccmpRequest xsi:type="ccmp:ccmp-${request.type}-request-message-type">`;
  if (request.confUserID !== undefined) out += `<confUserID>${escapeText(request.confUserID)}</confUserID>`;
  if (request.confObjID !== undefined) out += `<confObjID>${escapeText(request.confObjID)}</confObjID>`;
  if (request.operation !== undefined) out += `<operation>${request.operation}</operation>`;
  if (request.conferencePassword !== undefined) {
    out += `<conference-password>${escapeText(request.conferencePassword)}</conference-password>`;
  }
  if (request.type !== 'options') {
    // The RFC 6504 namespace variant is accepted on input; the peer gets the RFC 6503 one.
    const body: XElement = request.body
      ? { ...request.body, ns: NS.ccmp }
      : { ns: NS.ccmp, name: `${request.type}Request`, attrs: [], children: [] };
    out += serialize(body, { declared: ENVELOPE_NAMESPACES });
  }
  return `${out}</ccmpRequest></ccmp:ccmpRequest>\n`;
}

/** A peer response read back: the envelope fields and the specialized element's children. */
export interface PeerResponse {
  response: CcmpResponse;
  /** Children of the specialized element (whitespace dropped), as parsed. */
  payload: XElement[];
}

const TYPE_BY_XSI = new Map<string, MessageType>(
  MESSAGE_TYPES.map((t) => [`ccmp-${t}-response-message-type`, t]),
);

/**
 * Parses a peer's CCMP response. Anything that is not a readable CCMP response is a failure of the
 * peer (ConnectorError 'unavailable', answered 500 naming the peer); a response code outside the
 * registry is answered as 500 too (RFC 6503 §5.4: unknown codes are handled like 500), the peer's
 * code kept in the response-string.
 */
export function readPeerResponse(xml: string, connector: string, site: string): PeerResponse {
  const broken = (why: string, cause?: unknown) =>
    new ConnectorError(connector, 'unavailable', `peer site ${site} sent an invalid CCMP response (${why})`, {
      cause,
    });
  let root: XElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    if (err instanceof XmlError) throw broken('not well-formed', err);
    throw err;
  }
  if (!isCcmpNamespace(root.ns) || root.name !== 'ccmpResponse') throw broken('no ccmpResponse root');
  const inner = root.children.filter(isElement);
  const message = inner[0];
  if (inner.length !== 1 || !message || message.ns !== '' || message.name !== 'ccmpResponse') {
    throw broken('no inner ccmpResponse');
  }
  const xsiType = attr(message, 'type', NS.xsi) ?? '';
  const m = /^\{([^}]*)\}(.*)$/.exec(xsiType);
  const type = m && isCcmpNamespace(m[1] ?? '') ? TYPE_BY_XSI.get(m[2] ?? '') : undefined;
  if (!type) throw broken('unknown xsi:type');

  const codeText = text(child(message, '', 'response-code'));
  if (!/^[0-9]{3}$/.test(codeText)) throw broken('no response-code');
  const peerCode = Number(codeText);
  const registered = Object.hasOwn(RESPONSE_CODES, peerCode);
  const responseString = child(message, '', 'response-string');
  const versionText = text(child(message, '', 'version'));
  if (versionText !== '' && !/^[0-9]{1,15}$/.test(versionText)) throw broken('version is not a number');
  const operationText = text(child(message, '', 'operation'));
  if (operationText !== '' && !(OPERATIONS as readonly string[]).includes(operationText)) {
    throw broken('unknown operation');
  }
  const confObjID = child(message, '', 'confObjID');

  const specialized = message.children.find(
    (c): c is XElement => isElement(c) && isCcmpNamespace(c.ns) && c.name === `${type}Response`,
  );
  const payload = specialized ? specialized.children.filter(isElement) : [];
  const body = payload.map((e) => serialize(e, { declared: ENVELOPE_NAMESPACES })).join('');

  const response: CcmpResponse = {
    type,
    confUserID: text(child(message, '', 'confUserID')),
    code: registered ? (peerCode as ResponseCode) : 500,
    ...(confObjID ? { confObjID: text(confObjID) } : {}),
    ...(operationText !== '' ? { operation: operationText as Operation } : {}),
    ...(versionText !== '' && Number(versionText) > 0 ? { version: Number(versionText) } : {}),
    ...(body !== '' ? { body } : {}),
  };
  if (!registered) {
    response.responseString = `peer site ${site} answered response-code ${peerCode}${
      responseString ? `: ${text(responseString)}` : ''
    }`;
  } else if (responseString) {
    response.responseString = text(responseString);
  }
  return { response, payload };
}
