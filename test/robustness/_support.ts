/**
 * @module test/robustness/_support
 * Shared by the HTTP binding and robustness tests: an in-process gateway, CCMP request builders, a
 * namespace-aware reader for responses, and a child process running the real Node entry on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type Agent } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DOMParser, onErrorStopParsing } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import mockConnector from '../../connectors/mock.ts';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { memoryStore } from '../../src/store/memory.ts';
import type { ConferenceStore } from '../../src/store/types.ts';

export const DOMAIN = 'example.com';
export const CCMP_NS = 'urn:ietf:params:xml:ns:xcon-ccmp';
export const INFO_NS = 'urn:ietf:params:xml:ns:conference-info';
export const CCMP_TYPE = 'application/ccmp+xml';
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const basic = (user: string, password = user): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const ALICE = basic('alice');
export const userId = (user: string): string => `xcon-userid:${user}@${DOMAIN}`;

export interface AppOptions {
  store?: ConferenceStore;
  maxBodyBytes?: number;
  logger?: Logger;
}

/** The gateway with the demo directory (alice, bob, carol) and the mock connector, seeded. */
export async function makeApp(options: AppOptions = {}): Promise<Gateway> {
  const app = createGateway({
    store: options.store ?? memoryStore(),
    directory: demoDirectory(DOMAIN),
    connectors: [mockConnector()],
    logger: options.logger ?? silentLogger,
    // Tests make many requests from one "client": keep failed logins from slowing them down.
    authThrottle: { freeFailures: 1_000, lockoutFailures: 10_000 },
    ...(options.maxBodyBytes !== undefined ? { config: { maxBodyBytes: options.maxBodyBytes } } : {}),
  });
  await app.ready;
  return app;
}

/** POST /ccmp in process, as alice unless told otherwise (`null`: no Authorization header). */
export function post(app: Gateway, body: string, authorization: string | null = ALICE): Promise<Response> {
  return Promise.resolve(
    app.request('/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': CCMP_TYPE, ...(authorization ? { authorization } : {}) },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Request builders

export interface Common {
  confUserID?: string;
  confObjID?: string;
  operation?: string;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xmlAttr = (s: string): string => xmlText(s).replace(/"/g, '&quot;');

/** A CCMP request envelope: `type` as in `ccmp-<type>-request-message-type`, `body` inside `ccmp:<type>Request`. */
export function ccmpRequest(type: string, common: Common, body?: string): string {
  const fields = [
    common.confUserID !== undefined ? `<confUserID>${xmlText(common.confUserID)}</confUserID>` : '',
    common.confObjID !== undefined ? `<confObjID>${xmlText(common.confObjID)}</confObjID>` : '',
    common.operation !== undefined ? `<operation>${common.operation}</operation>` : '',
  ].join('');
  const specialized =
    type === 'options'
      ? ''
      : body
        ? `<ccmp:${type}Request>${body}</ccmp:${type}Request>`
        : `<ccmp:${type}Request/>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ccmp:ccmpRequest xmlns:ccmp="${CCMP_NS}" xmlns:info="${INFO_NS}" ` +
    'xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<ccmpRequest xsi:type="ccmp:ccmp-${type}-request-message-type">${fields}${specialized}</ccmpRequest>` +
    '</ccmp:ccmpRequest>'
  );
}

export const optionsRequest = (user = 'alice'): string =>
  ccmpRequest('options', { confUserID: userId(user) });

export const confCreate = (subject: string, user = 'alice'): string =>
  ccmpRequest(
    'conf',
    { confUserID: userId(user), operation: 'create' },
    '<confInfo entity="xcon:AUTO_GENERATE_1@example.com"><info:conference-description>' +
      `<info:subject>${xmlText(subject)}</info:subject></info:conference-description></confInfo>`,
  );

export const confRetrieve = (confObjID: string, user = 'alice'): string =>
  ccmpRequest('conf', { confUserID: userId(user), confObjID, operation: 'retrieve' });

export const confUpdateSubject = (confObjID: string, subject: string, user = 'alice'): string =>
  ccmpRequest(
    'conf',
    { confUserID: userId(user), confObjID, operation: 'update' },
    `<confInfo entity="${xmlAttr(confObjID)}"><info:conference-description>` +
      `<info:subject>${xmlText(subject)}</info:subject></info:conference-description></confInfo>`,
  );

/** userRequest/create of a third party the requester knows only by a SIP URI (RFC 6503 §5.3.6, case 4). */
export const userCreateThirdParty = (confObjID: string, sipUri: string, user = 'alice'): string =>
  ccmpRequest(
    'user',
    { confUserID: userId(user), confObjID, operation: 'create' },
    `<userInfo entity="xcon-userid:AUTO_GENERATE_1@${DOMAIN}"><info:endpoint entity="${xmlAttr(sipUri)}"/></userInfo>`,
  );

// ---------------------------------------------------------------------------------------------
// Reading responses

export interface CcmpAnswer {
  code: number;
  responseString?: string;
  messageType?: string;
  confUserID?: string;
  confObjID?: string;
  operation?: string;
  version?: number;
  /** `info:conference-description/info:subject` of the embedded conference document, if any. */
  subject?: string;
  /** `entity` of every `info:user` of the embedded conference document. */
  users: string[];
  /** `userInfo/@entity`, if any. */
  userInfoEntity?: string;
}

/** Characters outside the XML Char production (xmldom lets them through). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Reads a CCMP response by namespace URI; throws unless it is a well-formed `ccmp:ccmpResponse`. */
export function readCcmpResponse(xml: string): CcmpAnswer {
  const bad = NOT_XML_CHAR.exec(xml);
  if (bad)
    throw new Error(
      `the response holds U+${(bad[0].codePointAt(0) ?? 0).toString(16)}, not an XML character`,
    );
  const doc = new DOMParser({ onError: onErrorStopParsing, locator: false }).parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (root?.namespaceURI !== CCMP_NS || root.localName !== 'ccmpResponse') {
    throw new Error(`not a CCMP response: <${root?.nodeName ?? ''}>`);
  }
  const inner = elementChildren(root).find((e) => e.namespaceURI === null && e.localName === 'ccmpResponse');
  if (!inner) throw new Error('no inner ccmpResponse');
  const field = (name: string) =>
    elementChildren(inner).find((e) => e.namespaceURI === null && e.localName === name);
  const codeText = field('response-code')?.textContent?.trim() ?? '';
  if (!/^[0-9]{3}$/.test(codeText)) throw new Error(`no response-code in the response: "${codeText}"`);
  const all = [...descendants(inner)];
  const subject = all.find(
    (e) =>
      e.namespaceURI === INFO_NS && e.localName === 'subject' && parentName(e) === 'conference-description',
  );
  const userInfo = all.find((e) => e.namespaceURI === null && e.localName === 'userInfo');
  const answer: CcmpAnswer = {
    code: Number(codeText),
    users: all
      .filter((e) => e.namespaceURI === INFO_NS && e.localName === 'user')
      .map((e) => e.getAttribute('entity') ?? ''),
  };
  const set = (key: 'responseString' | 'confUserID' | 'confObjID' | 'operation', name: string) => {
    const value = field(name)?.textContent?.trim();
    if (value !== undefined) answer[key] = value;
  };
  set('responseString', 'response-string');
  set('confUserID', 'confUserID');
  set('confObjID', 'confObjID');
  set('operation', 'operation');
  const type = inner.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type');
  if (type) answer.messageType = type.replace(/^.*:/, '');
  const version = field('version')?.textContent?.trim();
  if (version !== undefined) answer.version = Number(version);
  if (subject) answer.subject = subject.textContent ?? '';
  const entity = userInfo?.getAttribute('entity');
  if (entity) answer.userInfoEntity = entity;
  return answer;
}

function elementChildren(el: Element): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === n.ELEMENT_NODE);
}

function* descendants(el: Element): Generator<Element> {
  for (const c of elementChildren(el)) {
    yield c;
    yield* descendants(c);
  }
}

function parentName(el: Element): string | undefined {
  const p = el.parentNode;
  return p && p.nodeType === p.ELEMENT_NODE ? ((p as Element).localName ?? undefined) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The real Node entry in a child process

/** A port nobody listens on right now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request, on its own connection unless an agent is given (no pooled socket outlives a killed server). */
export function httpCall(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
  agent: Agent | false = false,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: { ...headers, ...(payload ? { 'content-length': String(payload.byteLength) } : {}) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** POST /ccmp to a gateway process, as alice. */
export function postCcmp(port: number, body: string, authorization = ALICE): Promise<HttpAnswer> {
  return httpCall(port, 'POST', '/ccmp', body, { 'content-type': CCMP_TYPE, authorization });
}

export interface GatewayProcess {
  port: number;
  child: ChildProcess;
  /** What the process wrote to stderr (warnings and errors, one JSON object per line). */
  stderr: () => string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `src/node.ts` with the SQLite store in `dataDir` and waits until /health answers 200. */
export async function startGateway(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      CCMP_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const proc: GatewayProcess = { port, child, stderr: () => stderr, exited };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the gateway exited during start (${child.exitCode ?? child.signalCode}):\n${stderr}`);
    }
    try {
      const health = await httpCall(port, 'GET', '/health', undefined, {}, 2_000);
      if (health.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the gateway did not answer /health within 30 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills a gateway process this test started, if it still runs, and waits for its exit. */
export async function killGateway(proc: GatewayProcess | undefined): Promise<void> {
  if (!proc) return;
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}
