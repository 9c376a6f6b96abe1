/**
 * @module Encoding CCMP responses.
 *
 * The envelope is written directly as text in schema order (confUserID, confObjID, operation,
 * response-code, response-string, version, then the specialized element), with the prefixes
 * `ccmp`, `info`, `xcon` declared once on the root and no default namespace (Linphone needs
 * unqualified elements to stay unqualified). Payloads arrive already serialized, so that stored
 * documents can be embedded without being parsed again.
 */
import { NS } from '../xml/namespaces.ts';
import { escapeText } from '../xml/serialize.ts';
import type { ResponseCode } from './codes.ts';
import type { MessageType, Operation } from './messages.ts';

export interface CcmpResponse {
  type: MessageType;
  /** Empty string when the request had none and none was allocated. */
  confUserID: string;
  confObjID?: string;
  operation?: Operation;
  code: ResponseCode;
  responseString?: string;
  version?: number;
  /** Content of the specialized element, serialized with the envelope's prefixes. */
  body?: string;
}

/** Namespaces declared on the response root; payload serializers may rely on them. */
export const ENVELOPE_NAMESPACES: ReadonlySet<string> = new Set([NS.ccmp, NS.info, NS.xcon, NS.xsi]);

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  `<ccmp:ccmpResponse xmlns:ccmp="${NS.ccmp}" xmlns:info="${NS.info}" xmlns:xcon="${NS.xcon}" xmlns:xsi="${NS.xsi}">`;

export function encodeResponse(r: CcmpResponse): string {
  const specialized = `ccmp:${r.type}Response`;
  let out = `${HEAD}<ccmpResponse xsi:type="ccmp:ccmp-${r.type}-response-message-type">`;
  out += `<confUserID>${escapeText(r.confUserID)}</confUserID>`;
  if (r.confObjID !== undefined) out += `<confObjID>${escapeText(r.confObjID)}</confObjID>`;
  if (r.operation !== undefined) out += `<operation>${r.operation}</operation>`;
  out += `<response-code>${r.code}</response-code>`;
  if (r.responseString !== undefined)
    out += `<response-string>${escapeText(r.responseString)}</response-string>`;
  if (r.version !== undefined) out += `<version>${r.version}</version>`;
  out += r.body ? `<${specialized}>${r.body}</${specialized}>` : `<${specialized}/>`;
  return `${out}</ccmpResponse></ccmp:ccmpResponse>\n`;
}
