/**
 * @module A Linphone client as the gateway sees it, and the response rules it depends on.
 *
 * `LinphoneClient` sends requests the way liblinphone and belle-sip do (linphone-client.md §1):
 * POST to the account's ccmp_server_url with `From: <account identity>` as a bare URI, no Accept
 * header, and HTTP Digest on a 401 (username = the SIP user part, realm from the challenge, HA1 from
 * the SIP password, `uri=` the path only, a nonce count kept per nonce, at most two attempts). Every
 * answer is validated against the RFC 6503 XSD and the RFC 6501 RELAX NG before a test sees it.
 * The `check*` functions are the rules of linphone-client.md §3.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { expect } from 'vitest';
import type { Gateway } from '../../src/gateway.ts';
import {
  NS,
  all,
  attr,
  descendants,
  expectCode,
  fixture,
  one,
  readReply,
  text,
  type Reply,
} from '../e2e/_harness.ts';

export const DOMAIN = 'sip.example.org';
export const FOCUS = `sip:conference-focus@${DOMAIN}`;
/** The XCON-URI the fixtures use; replaced by the one the gateway allocated. */
export const FIXTURE_URI = 'xcon:7f3c2a91@sip.example.org';
export const xconId = (user: string): string => `xcon-userid:${user}@${DOMAIN}`;
export const sipOf = (user: string): string => `sip:${user}@${DOMAIN}`;

export type Algorithm = 'MD5' | 'SHA-256';

export function hash(algorithm: Algorithm, value: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(value, 'utf8')
    .digest('hex');
}

/** The fields of one `WWW-Authenticate: Digest …` challenge. */
export interface Challenge {
  realm: string;
  nonce: string;
  opaque?: string;
  qop: string;
  algorithm: string;
  stale?: string;
}

/** The Digest challenges of a 401 (several WWW-Authenticate headers arrive joined by commas). */
export function challengesOf(res: Response): Challenge[] {
  const header = res.headers.get('www-authenticate') ?? '';
  return header
    .split(/,\s*(?=Digest\s)/i)
    .filter((c) => /^Digest\s/i.test(c))
    .map((c) => {
      const fields: Record<string, string> = {};
      for (const m of c.slice(7).matchAll(/([a-zA-Z0-9-]+)=(?:"([^"]*)"|([^,\s]+))/g)) {
        fields[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
      }
      return {
        realm: fields.realm ?? '',
        nonce: fields.nonce ?? '',
        qop: fields.qop ?? '',
        algorithm: fields.algorithm ?? 'MD5',
        ...(fields.opaque !== undefined ? { opaque: fields.opaque } : {}),
        ...(fields.stale !== undefined ? { stale: fields.stale } : {}),
      };
    });
}

/** An `Authorization: Digest …` answer, computed from the password as RFC 7616 §3.4 says. */
export function digestAnswer(p: {
  challenge: Challenge;
  username: string;
  password: string;
  method: string;
  uri: string;
  nc: number;
  cnonce?: string;
}): string {
  const algorithm = p.challenge.algorithm.toUpperCase() as Algorithm;
  const nc = p.nc.toString(16).padStart(8, '0');
  const cnonce = p.cnonce ?? randomBytes(8).toString('hex');
  const ha1 = hash(algorithm, `${p.username}:${p.challenge.realm}:${p.password}`);
  const ha2 = hash(algorithm, `${p.method}:${p.uri}`);
  const response = hash(algorithm, `${ha1}:${p.challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  const fields = [
    `username="${p.username}"`,
    `realm="${p.challenge.realm}"`,
    `nonce="${p.challenge.nonce}"`,
    `uri="${p.uri}"`,
    `algorithm=${algorithm}`,
    `response="${response}"`,
    ...(p.challenge.opaque !== undefined ? [`opaque="${p.challenge.opaque}"`] : []),
    'qop=auth',
    `nc=${nc}`,
    `cnonce="${cnonce}"`,
  ];
  return `Digest ${fields.join(', ')}`;
}

export interface LinphoneAccount {
  /** The SIP user part: belle-sip takes the Digest username from From. */
  user: string;
  password: string;
}

export interface Exchange {
  /** HTTP statuses of the attempts, e.g. [401, 200]. */
  statuses: number[];
  reply: Reply;
}

/**
 * A Linphone account with `ccmp_server_url` pointing at the gateway. Like belle-sip, it answers the
 * first challenge, then keeps using that nonce with increasing counts until a new challenge comes.
 */
export class LinphoneClient {
  private challenge: Challenge | undefined;
  private nc = 0;

  constructor(
    private readonly app: Gateway,
    readonly account: LinphoneAccount,
    private readonly options: { url?: string; method?: 'POST' | 'PUT'; algorithm?: Algorithm } = {},
  ) {}

  get identity(): string {
    return sipOf(this.account.user);
  }

  /** Sends a body; the answer must end in HTTP 200 with a valid ccmpResponse. */
  async send(body: string): Promise<Exchange> {
    const url = this.options.url ?? 'http://ccmp.sip.example.org/ccmp';
    const method = this.options.method ?? 'POST';
    const path = new URL(url).pathname;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = {
        From: this.identity,
        'Content-Type': 'application/ccmp+xml',
        'User-Agent': 'LinphoneiOS/6.0 (belle-sip/5.4)',
      };
      if (this.challenge) {
        headers.Authorization = digestAnswer({
          challenge: this.challenge,
          username: this.account.user,
          password: this.account.password,
          method,
          uri: path,
          nc: ++this.nc,
        });
      }
      const res = await this.app.request(url, { method, body, headers });
      statuses.push(res.status);
      const xml = await res.text();
      if (res.status === 401) {
        this.challenge = this.pick(challengesOf(res));
        this.nc = 0;
        continue;
      }
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${xml}`);
      expect(res.headers.get('content-type')).toMatch(/^application\/ccmp\+xml/);
      return { statuses, reply: readReply(xml, res.headers) };
    }
    throw new Error(`still HTTP 401 after two attempts (${statuses.join(', ')})`);
  }

  /** Sends one of the fixtures of test/fixtures/linphone/, as this account, about `uri`. */
  async fixture(name: string, uri?: string): Promise<Reply> {
    return (await this.send(linphoneRequest(name, this.account.user, uri))).reply;
  }

  private pick(challenges: Challenge[]): Challenge | undefined {
    const wanted = this.options.algorithm ?? 'MD5';
    return challenges.find((c) => c.algorithm.toUpperCase() === wanted);
  }
}

/**
 * A fixture request as `user` would send it: the fixtures are Marie's (Pauline's for list and
 * retrieve); the sender's identity and the conference's XCON-URI are put in.
 */
export function linphoneRequest(name: string, user: string, uri?: string): string {
  let body = fixture(`linphone/${name}`);
  const sender = /<confUserID>xcon-userid:([^@<]+)@/.exec(body)?.[1] ?? user;
  body = body.replaceAll(
    `<confUserID>${xconId(sender)}</confUserID>`,
    `<confUserID>${xconId(user)}</confUserID>`,
  );
  if (uri) body = body.replaceAll(FIXTURE_URI, uri);
  return body;
}

// ---------------------------------------------------------------------------------------------
// linphone-client.md §3

/** Rules that hold for every answer. */
export function checkEnvelope(reply: Reply, type: 'conf' | 'confs', confUserID: string): void {
  expectCode(reply, 200);
  expect(reply.xsiType).toBe(`ccmp-${type}-response-message-type`);
  expect(reply.xsiTypeNamespace).toBe(NS.ccmp);
  expect(reply.confUserID).toBe(confUserID);
  // The operation-specific element, qualified, even when empty (delete).
  expect(reply.specialized?.localName).toBe(`${type}Response`);
  expect(reply.specialized?.namespaceURI).toBe(NS.ccmp);
  // No default namespace: confInfo and confsInfo stay unqualified.
  expect(reply.xml).not.toMatch(/xmlns="/);
  const order = ['confUserID', 'confObjID', 'operation', 'response-code', 'response-string', 'version'];
  const positions = order.filter((n) => reply.xml.includes(`<${n}>`)).map((n) => reply.xml.indexOf(`<${n}>`));
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  if (reply.version !== undefined) expect(reply.version).toBeGreaterThan(0);
}

/** Rules for a conference document the client reads (create, update and retrieve answers). */
export function checkDocument(reply: Reply, organizer: string): Element {
  const info = reply.payload('confInfo');
  if (!info) throw new Error(`no confInfo in\n${reply.xml}`);
  // xcon-conference-info is bound to the prefix xcon (the client compares node names), and only to it.
  expect(reply.xml).toContain(`xmlns:xcon="${NS.xcon}"`);
  expect(reply.xml.match(new RegExp(`xmlns:[\\w-]+="${NS.xcon}"`, 'g'))).toHaveLength(1);
  for (const node of descendants(info, 'xcon:conference-time'))
    expect(node.nodeName).toBe('xcon:conference-time');
  for (const node of descendants(info, 'xcon:allowed-users-list'))
    expect(node.nodeName).toBe('xcon:allowed-users-list');
  // Exactly one conf-uris entry: the focus URI with the conference's conf-id.
  const uris = all(info, 'info:conference-description/info:conf-uris/info:entry');
  expect(uris).toHaveLength(1);
  expect(text(uris[0], 'info:uri')).toMatch(/^sip:conference-focus@sip\.example\.org;conf-id=[^;\s]+$/);
  // A status on every available-media entry.
  const media = all(info, 'info:conference-description/info:available-media/info:entry');
  expect(media.length).toBeGreaterThan(0);
  for (const entry of media)
    expect(text(entry, 'info:status')).toMatch(/^(sendrecv|sendonly|recvonly|inactive)$/);
  // Every target is exactly the entity of a user with a SIP URI in associated-aors.
  const users = all(info, 'info:users/info:user');
  for (const u of users) expect(attr(u, 'entity')).toBeTruthy();
  const withSip = new Set(
    users
      .filter((u) =>
        all(u, 'info:associated-aors/info:entry/info:uri').some((e) => /^sips?:/.test(text(e) ?? '')),
      )
      .map((u) => attr(u, 'entity')),
  );
  const targets = all(info, 'info:users/xcon:allowed-users-list/xcon:target');
  expect(targets.length).toBeGreaterThan(0);
  for (const t of targets) expect(withSip).toContain(attr(t, 'uri'));
  // One organizer, marked by its role.
  const organizers = users.filter((u) =>
    all(u, 'info:roles/info:entry').some((e) => text(e) === 'organizer'),
  );
  expect(organizers.map((u) => attr(u, 'entity'))).toEqual([organizer]);
  return info;
}

/** The iCalendar text: CRs written as character references, CRLF line ends, the given start and duration. */
export function checkCalendar(reply: Reply, info: Element, dtstart: string, duration: string): void {
  expect(reply.xml).not.toContain('\r');
  const start = reply.xml.indexOf('<xcon:base>');
  const raw = reply.xml.slice(start, reply.xml.indexOf('</xcon:base>', start));
  expect(raw).toMatch(/BEGIN:VCALENDAR&#13;\n/);
  expect(raw).not.toMatch(/[^;]\n/);
  const ics =
    one(info, 'info:conference-description/xcon:conference-time/xcon:entry/xcon:base')?.textContent ?? '';
  expect(ics).toContain(`DTSTART:${dtstart}\r\n`);
  expect(ics).toContain(`DURATION:${duration}\r\n`);
  expect(ics.endsWith('END:VCALENDAR\r\n')).toBe(true);
}

/** What the client shows of a conference: subject and description. */
export function described(info: Element): { subject?: string; description?: string } {
  const subject = text(info, 'info:conference-description/info:subject');
  const description = text(info, 'info:conference-description/info:free-text');
  return { ...(subject ? { subject } : {}), ...(description ? { description } : {}) };
}

/** The SIP AOR the document gives a user. */
export function aorOf(info: Element, entity: string): string | undefined {
  const user = all(info, 'info:users/info:user').find((u) => attr(u, 'entity') === entity);
  return text(user, 'info:associated-aors/info:entry/info:uri');
}

export function rolesOf(info: Element, entity: string): string[] {
  const user = all(info, 'info:users/info:user').find((u) => attr(u, 'entity') === entity);
  return all(user, 'info:roles/info:entry').map((e) => text(e) ?? '');
}

export function joinUriOf(info: Element): string | undefined {
  return text(info, 'info:conference-description/info:conf-uris/info:entry/info:uri');
}

export function listed(reply: Reply): string[] {
  return all(reply.payload('confsInfo'), 'info:entry').map((e) => text(e, 'info:uri') ?? '');
}
