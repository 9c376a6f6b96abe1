/**
 * @module test/worker/_ccmp
 * CCMP requests and responses for the Workers tests, runtime-neutral (no Node-only module), plus the one
 * way the tests send requests: `send()` posts to a Worker handler and has every CCMP response it gets
 * checked against the schemas by the `VALIDATE` binding, which runs xmllint on the Node side.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { DOMParser, onErrorStopParsing } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';

export const DOMAIN = 'example.com';
export const CCMP_NS = 'urn:ietf:params:xml:ns:xcon-ccmp';
export const INFO_NS = 'urn:ietf:params:xml:ns:conference-info';
const XCON_NS = 'urn:ietf:params:xml:ns:xcon-conference-info';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export const userId = (login: string): string => `xcon-userid:${login}@${DOMAIN}`;
export const basic = (login: string, password = login): string => `Basic ${btoa(`${login}:${password}`)}`;

// ---------------------------------------------------------------------------------------------
// Requests

export interface Fields {
  /** Default: the sender's XCON-USERID. */
  confUserID?: string;
  confObjID?: string;
  operation?: 'create' | 'retrieve' | 'update' | 'delete';
  version?: number;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xmlAttr = (s: string): string => xmlText(s).replace(/"/g, '&quot;');

/** A request envelope; `body` goes inside `ccmp:<type>Request` (left out for options). */
export function request(type: string, fields: Fields, body?: string): string {
  const common = [
    fields.confUserID !== undefined ? `<confUserID>${xmlText(fields.confUserID)}</confUserID>` : '',
    fields.confObjID !== undefined ? `<confObjID>${xmlText(fields.confObjID)}</confObjID>` : '',
    fields.operation !== undefined ? `<operation>${fields.operation}</operation>` : '',
    fields.version !== undefined ? `<version>${fields.version}</version>` : '',
  ].join('');
  const specialized =
    type === 'options'
      ? ''
      : body
        ? `<ccmp:${type}Request>${body}</ccmp:${type}Request>`
        : `<ccmp:${type}Request/>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ccmp:ccmpRequest xmlns:ccmp="${CCMP_NS}" xmlns:info="${INFO_NS}" xmlns:xcon="${XCON_NS}" ` +
    `xmlns:xsi="${XSI_NS}"><ccmpRequest xsi:type="ccmp:ccmp-${type}-request-message-type">` +
    `${common}${specialized}</ccmpRequest></ccmp:ccmpRequest>`
  );
}

export const confInfo = (entity: string, content: string): string =>
  `<confInfo entity="${xmlAttr(entity)}">${content}</confInfo>`;

export const subject = (text: string): string =>
  `<info:conference-description><info:subject>${xmlText(text)}</info:subject></info:conference-description>`;

export const targets = (uris: string[]): string =>
  '<info:users><xcon:allowed-users-list>' +
  uris.map((uri) => `<xcon:target uri="${xmlAttr(uri)}" method="dial-in"/>`).join('') +
  '</xcon:allowed-users-list></info:users>';

export const confCreate = (login: string, content = subject('created on the edge')): string =>
  request(
    'conf',
    { confUserID: userId(login), operation: 'create' },
    confInfo(`xcon:AUTO_GENERATE_1@${DOMAIN}`, content),
  );

export const confUpdateSubject = (login: string, uri: string, text: string): string =>
  request(
    'conf',
    { confUserID: userId(login), confObjID: uri, operation: 'update' },
    confInfo(uri, subject(text)),
  );

export const confRetrieve = (login: string, uri: string): string =>
  request('conf', { confUserID: userId(login), confObjID: uri, operation: 'retrieve' });

/** userRequest/create of a third party known only by a SIP URI. */
export const userCreateThirdParty = (login: string, uri: string, sipUri: string): string =>
  request(
    'user',
    { confUserID: userId(login), confObjID: uri, operation: 'create' },
    `<userInfo entity="xcon-userid:AUTO_GENERATE_1@${DOMAIN}"><info:endpoint entity="${xmlAttr(sipUri)}"/></userInfo>`,
  );

// ---------------------------------------------------------------------------------------------
// Sending

/** Anything with a Worker's fetch: the default export, or a handler from `createWorker()`. */
export interface Target {
  fetch(request: Request, env: object, ctx: ExecutionContext): Promise<Response>;
}

/** How many CCMP responses the schemas accepted so far (tests assert their flows were all checked). */
export const validated = { count: 0 };

/** Checks a CCMP response against the RFC 6503 XSD and the RFC 6501 RELAX NG (on the Node side). */
export async function validate(xml: string): Promise<void> {
  const res = await env.VALIDATE.fetch('http://validate.invalid/', { method: 'POST', body: xml });
  const verdict = await res.text();
  if (!res.ok) throw new Error(verdict);
  validated.count++;
}

export interface HttpOptions {
  /** Default: HTTP Basic as alice; null: no Authorization header. */
  authorization?: string | null;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** The Worker's bindings; default: those of the test configuration. */
  env?: object;
}

/** One HTTP request to the Worker, with the test bindings. */
export function http(target: Target, body: string | null, options: HttpOptions = {}): Promise<Response> {
  const authorization = options.authorization === undefined ? basic('alice') : options.authorization;
  const headers: Record<string, string> = { 'content-type': 'application/ccmp+xml', ...options.headers };
  if (authorization !== null) headers.authorization = authorization;
  const init: RequestInit = { method: options.method ?? 'POST', headers };
  if (body !== null) init.body = body;
  const url = `https://gateway.example.com${options.path ?? '/ccmp'}`;
  return target.fetch(new Request(url, init), options.env ?? env, createExecutionContext());
}

/** Sends a CCMP request; requires HTTP 200, validates the CCMP response and reads it. */
export async function send(target: Target, body: string, options: HttpOptions = {}): Promise<Reply> {
  const res = await http(target, body, options);
  const xml = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status} instead of 200: ${xml}`);
  if (!/^application\/ccmp\+xml/.test(res.headers.get('content-type') ?? '')) {
    throw new Error(`not a CCMP content type: ${res.headers.get('content-type') ?? '(none)'}`);
  }
  await validate(xml);
  return read(xml, res.headers);
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface Reply {
  xml: string;
  headers: Headers;
  code: number;
  responseString: string | undefined;
  messageType: string;
  confUserID: string | undefined;
  confObjID: string | undefined;
  operation: string | undefined;
  version: number | undefined;
  /** `info:conference-description/info:subject` of the embedded conference document. */
  subject: string | undefined;
  /** `entity` of every `info:user` in the response. */
  users: string[];
  /** `userInfo/@entity`. */
  userInfoEntity: string | undefined;
  /** The unqualified payload element with that name (confInfo, blueprintsInfo, ...), anywhere. */
  payload(name: string): Element | undefined;
}

export function read(xml: string, headers = new Headers()): Reply {
  const doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (root?.namespaceURI !== CCMP_NS || root.localName !== 'ccmpResponse') {
    throw new Error(`not a CCMP response:\n${xml}`);
  }
  const inner = children(root).find((e) => e.namespaceURI === null && e.localName === 'ccmpResponse');
  if (!inner) throw new Error(`no inner ccmpResponse:\n${xml}`);
  const field = (name: string) =>
    children(inner)
      .find((e) => e.namespaceURI === null && e.localName === name)
      ?.textContent?.trim();
  const everything = [...descendants(inner)];
  const find = (ns: string | null, name: string) =>
    everything.filter((e) => e.namespaceURI === ns && e.localName === name);
  const version = field('version');
  return {
    xml,
    headers,
    code: Number(field('response-code')),
    responseString: field('response-string'),
    messageType: (inner.getAttributeNS(XSI_NS, 'type') ?? '').replace(/^.*:/, ''),
    confUserID: field('confUserID'),
    confObjID: field('confObjID'),
    operation: field('operation'),
    version: version === undefined ? undefined : Number(version),
    subject: find(INFO_NS, 'subject')
      .find((e) => (e.parentNode as Element | null)?.localName === 'conference-description')
      ?.textContent?.trim(),
    users: find(INFO_NS, 'user').map((e) => e.getAttribute('entity') ?? ''),
    userInfoEntity: find(null, 'userInfo')[0]?.getAttribute('entity') ?? undefined,
    payload: (name) => find(null, name)[0],
  };
}

/** Throws with the whole response unless it carries the expected response-code. */
export function expectCode(reply: Reply, code: number): Reply {
  if (reply.code !== code) {
    throw new Error(
      `expected response-code ${code}, got ${reply.code} (${reply.responseString ?? ''})\n${reply.xml}`,
    );
  }
  return reply;
}

export function children(el: Element): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === n.ELEMENT_NODE);
}

export function* descendants(el: Element): Generator<Element> {
  for (const child of children(el)) {
    yield child;
    yield* descendants(child);
  }
}
