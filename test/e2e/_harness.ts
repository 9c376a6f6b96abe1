/**
 * @module End-to-end harness: a gateway on the memory store, the demo directory and the mock
 * connector, driven through its HTTP app (`app.request('/ccmp', ...)`).
 *
 * Every CCMP response that comes back is validated against the RFC 6503 XSD and the RFC 6501 RELAX NG
 * (`validateCcmpResponse`) before the test sees it, so every test checks schema validity.
 */
import { readFileSync } from 'node:fs';
import { DOMParser, onErrorStopParsing } from '@xmldom/xmldom';
import type { Document, Element } from '@xmldom/xmldom';
import { expect } from 'vitest';
import mockConnector, { type MockConnector, type MockConnectorOptions } from '../../connectors/mock.ts';
import type { Connector } from '../../connectors/types.ts';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import type { Directory, Principal } from '../../src/auth/types.ts';
import type { Extension } from '../../src/core/extensions.ts';
import type { MessageType, Operation } from '../../src/ccmp/messages.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.ts';
import { memoryLogger } from '../../src/log.ts';
import { memoryStore } from '../../src/store/memory.ts';
import type { ConferenceStore, StoredObject } from '../../src/store/types.ts';
import { validateCcmpResponse } from '../helpers/validate.ts';

export const NS = {
  ccmp: 'urn:ietf:params:xml:ns:xcon-ccmp',
  ccmp6504: 'urn:ietf:params:xml:ns:xcon:ccmp',
  info: 'urn:ietf:params:xml:ns:conference-info',
  xcon: 'urn:ietf:params:xml:ns:xcon-conference-info',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const DOMAIN = 'example.com';
export const ALICE = 'xcon-userid:alice@example.com';
export const BOB = 'xcon-userid:bob@example.com';
export const CAROL = 'xcon-userid:carol@example.com';

/** The XCON-USERID of a demo-directory login. */
export const idOf = (login: string, domain = DOMAIN): string => `xcon-userid:${login}@${domain}`;

export function fixture(path: string): string {
  return readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface RequestSpec {
  type: MessageType;
  /** Default: the sender's XCON-USERID; null leaves the element out. */
  confUserID?: string | null;
  confObjID?: string;
  operation?: Operation;
  conferencePassword?: string;
  subject?: { username?: string; password?: string };
  /** Content of the specialized element (`ccmp:<type>Request`). */
  body?: string;
  /** Leave the specialized element out (always left out for options). */
  noSpecialized?: boolean;
}

const ROOT_NAMESPACES = `xmlns:ccmp="${NS.ccmp}" xmlns:info="${NS.info}" xmlns:xcon="${NS.xcon}" xmlns:xsi="${NS.xsi}"`;

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A request envelope with the RFC 6503 prefixes (ccmp, info, xcon) declared on the root. */
export function envelope(spec: RequestSpec): string {
  let inner = '';
  if (spec.subject) {
    inner += '<subject>';
    if (spec.subject.username !== undefined)
      inner += `<username>${escapeXml(spec.subject.username)}</username>`;
    if (spec.subject.password !== undefined)
      inner += `<password>${escapeXml(spec.subject.password)}</password>`;
    inner += '</subject>';
  }
  if (spec.confUserID) inner += `<confUserID>${escapeXml(spec.confUserID)}</confUserID>`;
  if (spec.confObjID !== undefined) inner += `<confObjID>${escapeXml(spec.confObjID)}</confObjID>`;
  if (spec.operation !== undefined) inner += `<operation>${spec.operation}</operation>`;
  if (spec.conferencePassword !== undefined) {
    inner += `<conference-password>${escapeXml(spec.conferencePassword)}</conference-password>`;
  }
  if (spec.type !== 'options' && !spec.noSpecialized) {
    const name = `ccmp:${spec.type}Request`;
    inner += spec.body ? `<${name}>${spec.body}</${name}>` : `<${name}/>`;
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ccmp:ccmpRequest ${ROOT_NAMESPACES}>` +
    `<ccmpRequest xsi:type="ccmp:ccmp-${spec.type}-request-message-type">${inner}</ccmpRequest>` +
    '</ccmp:ccmpRequest>'
  );
}

/** `<confInfo entity=...>` (or another conference-type payload) around the given content. */
export function confInfo(
  content: string,
  entity = `xcon:AUTO_GENERATE_1@${DOMAIN}`,
  name = 'confInfo',
): string {
  return `<${name} entity="${entity}">${content}</${name}>`;
}

export function description(content: string): string {
  return `<info:conference-description>${content}</info:conference-description>`;
}

export function targets(list: [uri: string, method?: string][]): string {
  const items = list.map(([uri, method = 'dial-in']) => `<xcon:target uri="${uri}" method="${method}"/>`);
  return `<info:users><xcon:allowed-users-list>${items.join('')}</xcon:allowed-users-list></info:users>`;
}

// ---------------------------------------------------------------------------------------------
// Responses

/** A CCMP response, read with a namespace-aware DOM parser. */
export interface Reply {
  xml: string;
  headers: Headers;
  document: Document;
  /** Local name of the inner element's xsi:type, e.g. `ccmp-conf-response-message-type`. */
  xsiType: string;
  /** Namespace URI the xsi:type prefix is bound to. */
  xsiTypeNamespace: string;
  confUserID: string;
  confObjID: string | undefined;
  operation: string | undefined;
  code: number;
  responseString: string | undefined;
  version: number | undefined;
  /** The specialized element, `ccmp:<type>Response`. */
  specialized: Element | undefined;
  /** The unqualified payload child of the specialized element (confInfo, userInfo, options, ...). */
  payload(name: string): Element | undefined;
}

const PREFIXES: Record<string, string> = { ccmp: NS.ccmp, info: NS.info, xcon: NS.xcon, '': '' };

function qname(step: string): [string, string] {
  const colon = step.indexOf(':');
  if (colon === -1) return ['', step];
  const ns = PREFIXES[step.slice(0, colon)];
  if (ns === undefined) throw new Error(`unknown prefix in "${step}"`);
  return [ns, step.slice(colon + 1)];
}

function sameNs(el: Element, ns: string): boolean {
  return (el.namespaceURI ?? '') === ns;
}

export function childElements(el: Element): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === n.ELEMENT_NODE);
}

/** All elements reached by a path of child steps such as `info:conference-description/info:subject`. */
export function all(el: Element | undefined, path: string): Element[] {
  if (!el) return [];
  let current = [el];
  for (const step of path.split('/')) {
    const [ns, name] = qname(step);
    current = current.flatMap((c) =>
      childElements(c).filter((k) => sameNs(k, ns) && (name === '*' || k.localName === name)),
    );
  }
  return current;
}

/** The first element reached by a path of child steps. */
export function one(el: Element | undefined, path: string): Element | undefined {
  return all(el, path)[0];
}

/** Every descendant with that qualified name. */
export function descendants(el: Element | undefined, step: string): Element[] {
  if (!el) return [];
  const [ns, name] = qname(step);
  const out: Element[] = [];
  const visit = (e: Element) => {
    for (const k of childElements(e)) {
      if (sameNs(k, ns) && k.localName === name) out.push(k);
      visit(k);
    }
  };
  visit(el);
  return out;
}

/** Trimmed text content of the element at the path (or of the element itself with no path). */
export function text(el: Element | undefined, path?: string): string | undefined {
  const target = path === undefined ? el : one(el, path);
  return target ? (target.textContent ?? '').trim() : undefined;
}

export function attr(el: Element | undefined, name: string): string | undefined {
  if (!el?.hasAttribute(name)) return undefined;
  return el.getAttribute(name) ?? undefined;
}

export function parseXml(xml: string): Document {
  return new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, 'text/xml');
}

/** Parses and validates a CCMP response body (the only way tests get to see one). */
export function readReply(xml: string, headers: Headers = new Headers()): Reply {
  validateCcmpResponse(xml);
  const document = parseXml(xml);
  const root = document.documentElement;
  if (!root || root.namespaceURI !== NS.ccmp || root.localName !== 'ccmpResponse') {
    throw new Error(`not a ccmpResponse:\n${xml}`);
  }
  const inner = childElements(root)[0];
  if (!inner) throw new Error('empty ccmpResponse');
  const type = inner.getAttributeNS(NS.xsi, 'type') ?? '';
  const colon = type.indexOf(':');
  const prefix = colon === -1 ? null : type.slice(0, colon);
  const read = (name: string) => text(one(inner, name));
  const version = read('version');
  const specialized = childElements(inner).find((e) => e.namespaceURI === NS.ccmp);
  return {
    xml,
    headers,
    document,
    xsiType: colon === -1 ? type : type.slice(colon + 1),
    xsiTypeNamespace: inner.lookupNamespaceURI(prefix) ?? '',
    confUserID: read('confUserID') ?? '',
    confObjID: read('confObjID'),
    operation: read('operation'),
    code: Number(read('response-code')),
    responseString: read('response-string'),
    version: version === undefined ? undefined : Number(version),
    specialized,
    payload: (name) => one(specialized, name),
  };
}

/** Throws with the whole response when the code is not the expected one. */
export function expectCode(reply: Reply, code: number): Reply {
  if (reply.code !== code) {
    throw new Error(
      `expected response-code ${code}, got ${reply.code} (${reply.responseString ?? ''})\n${reply.xml}`,
    );
  }
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Gateways

export interface TestGateway {
  app: Gateway;
  mock: MockConnector;
  store: ConferenceStore;
  logger: ReturnType<typeof memoryLogger>;
  /** POSTs a body to /ccmp and returns the raw HTTP response. */
  http(
    body: string,
    init?: { as?: string | null; headers?: Record<string, string>; method?: string },
  ): Promise<Response>;
  /** POSTs a body as a user (HTTP Basic, password = login) and reads the CCMP response (HTTP 200 required). */
  send(as: string | null, body: string, headers?: Record<string, string>): Promise<Reply>;
  /** Builds a request (confUserID defaults to the sender's XCON-USERID) and sends it. */
  ccmp(as: string | null, spec: RequestSpec, headers?: Record<string, string>): Promise<Reply>;
  /** Creates a conference (confRequest/create) and returns its XCON-URI. */
  createConference(as: string, content?: { confInfo?: string; confObjID?: string }): Promise<string>;
  stored(uri: string): Promise<StoredObject>;
}

export interface TestGatewayOptions extends Partial<Omit<GatewayOptions, 'connectors'>> {
  connectors?: Connector[];
  /** Password of a login when it is not the login itself. */
  passwords?: Record<string, string>;
  /** Options of the mock connector (when `connectors` is not given). */
  mock?: MockConnectorOptions;
}

export function basic(login: string, password = login): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
}

export function testGateway(options: TestGatewayOptions = {}): TestGateway {
  const mock = mockConnector(options.mock);
  const store = options.store ?? memoryStore();
  const logger = memoryLogger();
  const domain = options.config?.domain ?? DOMAIN;
  const gatewayOptions: TestGatewayOptions = { ...options };
  delete gatewayOptions.passwords;
  delete gatewayOptions.mock;
  const app = createGateway({
    directory: demoDirectory(domain),
    logger,
    ...gatewayOptions,
    store,
    connectors: options.connectors ?? [mock],
  });
  const passwords = options.passwords ?? {};
  const loginOf = (id: string) => id.replace(/^xcon-userid:/, '').replace(/@.*$/, '');

  const gw: TestGateway = {
    app,
    mock,
    store,
    logger,
    async http(body, init = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/ccmp+xml', ...init.headers };
      if (init.as) headers.authorization = basic(init.as, passwords[init.as] ?? init.as);
      return app.request('/ccmp', { method: init.method ?? 'POST', body, headers });
    },
    async send(as, body, headers = {}) {
      const res = await gw.http(body, { as, headers });
      const xml = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} instead of 200: ${xml}`);
      expect(res.headers.get('content-type')).toMatch(/^application\/ccmp\+xml/);
      return readReply(xml, res.headers);
    },
    async ccmp(as, spec, headers) {
      const confUserID =
        spec.confUserID === undefined ? (as ? idOf(loginOf(as), domain) : null) : spec.confUserID;
      return gw.send(as, envelope({ ...spec, confUserID }), headers);
    },
    async createConference(as, content = {}) {
      const reply = expectCode(
        await gw.ccmp(as, {
          type: 'conf',
          operation: 'create',
          ...(content.confObjID ? { confObjID: content.confObjID } : {}),
          ...(content.confInfo ? { body: content.confInfo } : {}),
        }),
        200,
      );
      if (!reply.confObjID) throw new Error(`no confObjID in\n${reply.xml}`);
      return reply.confObjID;
    },
    async stored(uri) {
      const found = await store.get(uri.toLowerCase());
      if (!found) throw new Error(`${uri} is not stored`);
      return found;
    },
  };
  return gw;
}

/** A copy of a connector without the sidebar capability (no createSidebar). */
export function withoutSidebars(connector: Connector): Connector {
  const copy: Connector = { ...connector, capabilities: { ...connector.capabilities, sidebars: false } };
  delete copy.createSidebar;
  return copy;
}

/** A directory from a table (passwords = logins), for users outside the demo directory. */
export function tableDirectory(
  domain: string,
  users: { login: string; displayName?: string; admin?: boolean }[],
): Directory {
  const principals = new Map<string, Principal>(
    users.map((u) => [
      u.login,
      {
        userId: `xcon-userid:${u.login}@${domain}`,
        username: u.login,
        ...(u.displayName ? { displayName: u.displayName } : {}),
        sipUri: `sip:${u.login}@${domain}`,
        systemRoles: u.admin ? ['administrator'] : [],
      },
    ]),
  );
  const byName = (value: string): Principal | undefined => {
    const local = value
      .trim()
      .toLowerCase()
      .replace(/^(sips?:|xcon-userid:)/, '')
      .replace(/[;?>].*$/, '');
    const [login, host] = local.split('@');
    if (host !== undefined && host !== domain) return undefined;
    return login === undefined ? undefined : principals.get(login);
  };
  return {
    name: 'table',
    verifyPassword: (username, password) => {
      const found = byName(username);
      return Promise.resolve(found && found.username === password ? found : undefined);
    },
    findUser: (userId) =>
      Promise.resolve(userId.toLowerCase().startsWith('xcon-userid:') ? byName(userId) : undefined),
    findByLogin: (username) => Promise.resolve(byName(username)),
    findByUri: (uri) => Promise.resolve(/^sips?:/i.test(uri.trim()) ? byName(uri) : undefined),
  };
}

/** A test extension in the style of RFC 6503 §6.9: a short summary of a conference. */
export const summaryExtension: Extension = {
  name: 'confSummaryRequest',
  operations: ['retrieve'],
  schemaDef: 'http://example.com/ccmp-extension-schema.xsd',
  description: 'a short summary of a conference',
  handle(ctx) {
    const uri = ctx.request.confObjID ?? '';
    return Promise.resolve({
      ...(uri ? { confObjID: uri } : {}),
      body:
        '<example:confSummary xmlns:example="http://example.com/ccmp-extension">' +
        `<example:title>summary of ${uri}</example:title><example:public>true</example:public>` +
        '</example:confSummary>',
    });
  },
};
