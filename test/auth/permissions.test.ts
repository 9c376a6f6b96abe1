/**
 * @module The permission table walked cell by cell through the HTTP app, and the README's copy of it.
 *
 * The cases are generated from `PERMISSIONS`: every message, every operation of its row and every
 * actor class gets its own test, so that a change of the table is tested without touching this file.
 * Each request runs against a fresh gateway whose conference holds one user of every class:
 *
 * - administrator: alice, a system administrator of the directory, not a member of the conference;
 * - moderator: bob, who created the conference (and its sidebars);
 * - participant: carol, invited through the allowed-users-list;
 * - observer: dave, listed in `<users>` with the role `observer`;
 * - none: erin, known to the directory but with no role in the conference.
 *
 * frank is a second invitee (the "other user" of the self cells) and grace a known user outside the
 * conference (the one that userRequest/create adds).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTORS,
  PERMISSIONS,
  actorForRole,
  permission,
  type Access,
  type Actor,
} from '../../src/auth/permissions.ts';
import { OPERATIONS, type MessageType, type Operation } from '../../src/ccmp/messages.ts';
import type { ObjectKind } from '../../src/store/types.ts';
import {
  DOMAIN,
  confInfo,
  description,
  expectCode,
  idOf,
  tableDirectory,
  testGateway,
  type Reply,
  type RequestSpec,
  type TestGateway,
} from '../e2e/_harness.ts';

type Tabled = keyof typeof PERMISSIONS;
type Row = Record<Actor, Access>;

const LOGIN: Record<Actor, string> = {
  administrator: 'alice',
  moderator: 'bob',
  participant: 'carol',
  observer: 'dave',
  none: 'erin',
};
const CAROL = idOf('carol');
const DAVE = idOf('dave');
const FRANK = idOf('frank');
const GRACE = idOf('grace');
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
const KINDS: ObjectKind[] = ['blueprint', 'conference', 'sidebar-by-val', 'sidebar-by-ref'];
const SIDEBAR_TYPES = ['sidebarByVal', 'sidebarByRef'] as const;
type SidebarType = (typeof SIDEBAR_TYPES)[number];

// ---------------------------------------------------------------------------------------------
// The world a request runs in

interface Setting {
  /** `xcon:user-admission-policy` of the conference (default closedAuthenticated). */
  admission?: 'closedAuthenticated' | 'openAuthenticated' | 'anonymous';
  /** `xcon:allow-sidebars` of the conference; undefined leaves the element out. */
  allowSidebars?: boolean;
  /** Gives carol and dave `xcon:allow-invite-users-dynamically` true. */
  mayInvite?: boolean;
}

interface World {
  gw: TestGateway;
  /** The conference created by bob. */
  conf: string;
  /** A blueprint created by alice. */
  blueprint: string;
  /** A sidebar of each kind, created by bob by cloning the conference. */
  sidebars: Record<SidebarType, string>;
}

const target = (id: string) => `<xcon:target uri="${id}" method="dial-in"/>`;
const INVITE = '<xcon:allow-invite-users-dynamically>true</xcon:allow-invite-users-dynamically>';
const userInfo = (entity: string, content = '') => `<userInfo entity="${entity}">${content}</userInfo>`;

function conferenceInfo(setting: Setting): string {
  const sidebars =
    setting.allowSidebars === undefined
      ? ''
      : `<xcon:allow-sidebars>${setting.allowSidebars}</xcon:allow-sidebars>`;
  // carol is an invitee: without the invitation right the gateway makes her <user> itself.
  const carol = setting.mayInvite
    ? `<info:user entity="${CAROL}"><info:roles><info:entry>participant</info:entry></info:roles>${INVITE}</info:user>`
    : '';
  const dave = `<info:user entity="${DAVE}"><info:roles><info:entry>observer</info:entry></info:roles>${setting.mayInvite ? INVITE : ''}</info:user>`;
  return confInfo(
    description(`<info:subject>Permissions</info:subject>${sidebars}`) +
      '<info:users>' +
      `<xcon:user-admission-policy>${setting.admission ?? 'closedAuthenticated'}</xcon:user-admission-policy>` +
      carol +
      dave +
      `<xcon:allowed-users-list>${target(CAROL)}${target(FRANK)}</xcon:allowed-users-list>` +
      '</info:users>',
  );
}

async function world(setting: Setting, needs: { blueprint?: boolean; sidebars?: boolean }): Promise<World> {
  const gw = testGateway({
    directory: tableDirectory(
      DOMAIN,
      USERS.map((login) => ({ login, admin: login === 'alice' })),
    ),
  });
  const conf = await gw.createConference('bob', { confInfo: conferenceInfo(setting) });
  let blueprint = '';
  if (needs.blueprint) {
    blueprint = `xcon:Permissions@${DOMAIN}`;
    expectCode(
      await gw.ccmp('alice', {
        type: 'blueprint',
        operation: 'create',
        body: confInfo(
          description('<info:display-text>Permissions</info:display-text>'),
          blueprint,
          'blueprintInfo',
        ),
      }),
      200,
    );
  }
  const sidebars: Record<SidebarType, string> = { sidebarByVal: '', sidebarByRef: '' };
  if (needs.sidebars) {
    for (const type of SIDEBAR_TYPES) {
      const created = expectCode(await gw.ccmp('bob', { type, operation: 'create', confObjID: conf }), 200);
      sidebars[type] = created.confObjID ?? '';
    }
  }
  return { gw, conf, blueprint, sidebars };
}

/** Every stored object with its version: what a refused request must leave as it was. */
async function snapshot(gw: TestGateway): Promise<Record<string, number>> {
  const uris = await gw.store.listAll({ kinds: KINDS });
  const objects = await gw.store.getMany(uris);
  return Object.fromEntries(objects.map((o) => [o.uri, o.version]));
}

// ---------------------------------------------------------------------------------------------
// What to send for each cell

type Build = (w: World) => RequestSpec;

interface Probe {
  what: string;
  setting?: Setting;
  build: Build;
  code: number;
}

interface Case {
  /** The request an `allow` cell lets through and a numeric cell refuses with its code. */
  plain: Build;
  /** Further requests that `allow` must let through. */
  alsoAllowed?: { what: string; build: Build }[];
  /** What `self` means here: the requester's own user passes, another user is refused. */
  self?: Probe[];
  /** What `policy` means here (README footnotes ² and ³). */
  policy?: Probe[];
}

const retrieveList =
  (type: MessageType): Build =>
  () => ({ type });

function sidebarCases(type: SidebarType): Partial<Record<Operation, Case>> {
  const info = `${type}Info`;
  return {
    create: {
      plain: (w) => ({ type, operation: 'create', confObjID: w.conf }),
      policy: [
        {
          what: '³ the main conference has allow-sidebars true',
          setting: { allowSidebars: true },
          build: (w) => ({ type, operation: 'create', confObjID: w.conf }),
          code: 200,
        },
        {
          what: '³ the main conference has allow-sidebars false',
          setting: { allowSidebars: false },
          build: (w) => ({ type, operation: 'create', confObjID: w.conf }),
          code: 401,
        },
        {
          what: '³ the main conference does not say whether it allows sidebars',
          build: (w) => ({ type, operation: 'create', confObjID: w.conf }),
          code: 401,
        },
      ],
    },
    retrieve: { plain: (w) => ({ type, operation: 'retrieve', confObjID: w.sidebars[type] }) },
    update: {
      plain: (w) => ({
        type,
        operation: 'update',
        confObjID: w.sidebars[type],
        body: confInfo(description('<info:subject>Changed</info:subject>'), w.sidebars[type], info),
      }),
    },
    delete: { plain: (w) => ({ type, operation: 'delete', confObjID: w.sidebars[type] }) },
  };
}

const addGrace: Build = (w) => ({
  type: 'user',
  operation: 'create',
  confObjID: w.conf,
  body: userInfo(GRACE),
});
const joinSelf: Build = (w) => ({ type: 'user', operation: 'create', confObjID: w.conf });
const renameFrank: Build = (w) => ({
  type: 'user',
  operation: 'update',
  confObjID: w.conf,
  body: userInfo(FRANK, '<info:display-text>Frank F.</info:display-text>'),
});
/** The requester's own user, named by XCON-USERID; filled in per actor. */
const OWN = '{own}';

const CASES: Record<Tabled, Partial<Record<Operation, Case>>> = {
  blueprints: { retrieve: { plain: retrieveList('blueprints') } },
  blueprint: {
    retrieve: {
      plain: () => ({ type: 'blueprint', operation: 'retrieve', confObjID: `xcon:default@${DOMAIN}` }),
    },
    create: {
      plain: () => ({
        type: 'blueprint',
        operation: 'create',
        body: confInfo(
          description('<info:display-text>New</info:display-text>'),
          `xcon:New@${DOMAIN}`,
          'blueprintInfo',
        ),
      }),
    },
    update: {
      plain: (w) => ({
        type: 'blueprint',
        operation: 'update',
        confObjID: w.blueprint,
        body: confInfo(
          description('<info:display-text>Changed</info:display-text>'),
          w.blueprint,
          'blueprintInfo',
        ),
      }),
    },
    delete: { plain: (w) => ({ type: 'blueprint', operation: 'delete', confObjID: w.blueprint }) },
  },
  confs: { retrieve: { plain: retrieveList('confs') } },
  conf: {
    create: { plain: () => ({ type: 'conf', operation: 'create' }) },
    retrieve: { plain: (w) => ({ type: 'conf', operation: 'retrieve', confObjID: w.conf }) },
    update: {
      plain: (w) => ({
        type: 'conf',
        operation: 'update',
        confObjID: w.conf,
        body: confInfo(description('<info:subject>Changed</info:subject>'), w.conf),
      }),
    },
    delete: { plain: (w) => ({ type: 'conf', operation: 'delete', confObjID: w.conf }) },
  },
  users: {
    retrieve: { plain: (w) => ({ type: 'users', operation: 'retrieve', confObjID: w.conf }) },
    update: {
      plain: (w) => ({
        type: 'users',
        operation: 'update',
        confObjID: w.conf,
        body: '<usersInfo><xcon:join-handling>confirm</xcon:join-handling></usersInfo>',
      }),
    },
    create: {
      plain: (w) => ({
        type: 'users',
        operation: 'create',
        confObjID: w.conf,
        body: '<usersInfo><xcon:join-handling>confirm</xcon:join-handling></usersInfo>',
      }),
    },
    delete: { plain: (w) => ({ type: 'users', operation: 'delete', confObjID: w.conf }) },
  },
  user: {
    create: {
      plain: addGrace,
      alsoAllowed: [{ what: 'joins itself', build: joinSelf }],
      self: [
        { what: 'joins itself', build: joinSelf, code: 200 },
        { what: '¹ adds another user', build: addGrace, code: 401 },
        {
          what: '¹ adds another user, with allow-invite-users-dynamically',
          setting: { mayInvite: true },
          build: addGrace,
          code: 200,
        },
      ],
      policy: [
        { what: '² joins a closedAuthenticated conference', build: joinSelf, code: 401 },
        {
          what: '² joins an openAuthenticated conference',
          setting: { admission: 'openAuthenticated' },
          build: joinSelf,
          code: 200,
        },
        {
          what: '² joins an anonymous conference',
          setting: { admission: 'anonymous' },
          build: joinSelf,
          code: 200,
        },
        {
          what: '² adds another user to an openAuthenticated conference',
          setting: { admission: 'openAuthenticated' },
          build: addGrace,
          code: 401,
        },
      ],
    },
    retrieve: {
      plain: (w) => ({ type: 'user', operation: 'retrieve', confObjID: w.conf, body: userInfo(idOf('bob')) }),
    },
    update: {
      plain: renameFrank,
      alsoAllowed: [
        {
          what: "changes another user's roles",
          build: (w) => ({
            type: 'user',
            operation: 'update',
            confObjID: w.conf,
            body: userInfo(FRANK, '<info:roles><info:entry>moderator</info:entry></info:roles>'),
          }),
        },
      ],
      self: [
        {
          what: 'changes its own display-text',
          build: (w) => ({
            type: 'user',
            operation: 'update',
            confObjID: w.conf,
            body: userInfo(OWN, '<info:display-text>Me</info:display-text>'),
          }),
          code: 200,
        },
        { what: 'changes another user', build: renameFrank, code: 426 },
        {
          what: 'changes its own roles (roles only by moderators)',
          build: (w) => ({
            type: 'user',
            operation: 'update',
            confObjID: w.conf,
            body: userInfo(OWN, '<info:roles><info:entry>moderator</info:entry></info:roles>'),
          }),
          code: 426,
        },
      ],
    },
    delete: {
      plain: (w) => ({ type: 'user', operation: 'delete', confObjID: w.conf, body: userInfo(FRANK) }),
      self: [
        {
          what: 'leaves',
          build: (w) => ({ type: 'user', operation: 'delete', confObjID: w.conf }),
          code: 200,
        },
        {
          what: 'removes another user',
          build: (w) => ({ type: 'user', operation: 'delete', confObjID: w.conf, body: userInfo(FRANK) }),
          code: 401,
        },
      ],
    },
  },
  sidebarsByVal: {
    retrieve: { plain: (w) => ({ type: 'sidebarsByVal', operation: 'retrieve', confObjID: w.conf }) },
  },
  sidebarsByRef: {
    retrieve: { plain: (w) => ({ type: 'sidebarsByRef', operation: 'retrieve', confObjID: w.conf }) },
  },
  sidebarByVal: sidebarCases('sidebarByVal'),
  sidebarByRef: sidebarCases('sidebarByRef'),
};

/** The refusal a self probe documents for "another user", per message and operation. */
function selfRefusal(message: Tabled, op: Operation): number | undefined {
  return CASES[message][op]?.self?.find((p) => p.code !== 200)?.code;
}

// ---------------------------------------------------------------------------------------------
// Running a probe

async function run(
  message: MessageType,
  op: Operation,
  actor: Actor,
  probe: { build: Build; setting?: Setting },
  code: number,
): Promise<Reply> {
  const w = await world(probe.setting ?? {}, {
    blueprint: message === 'blueprint',
    sidebars: (SIDEBAR_TYPES as readonly string[]).includes(message) && op !== 'create',
  });
  const login = LOGIN[actor];
  const spec = probe.build(w);
  if (spec.body) spec.body = spec.body.replaceAll(OWN, idOf(login));
  const before = await snapshot(w.gw);
  // gw.ccmp validates the response against the RFC 6503 XSD and the RFC 6501 RELAX NG.
  const reply = await w.gw.ccmp(login, spec);
  expectCode(reply, code);
  expect(reply.xsiType).toBe(`ccmp-${message}-response-message-type`);
  const after = await snapshot(w.gw);
  // A refusal changes nothing; a successful change changes something; a read changes nothing.
  if (code !== 200 || op === 'retrieve') expect(after).toEqual(before);
  else expect(after).not.toEqual(before);
  return reply;
}

async function check(message: Tabled, op: Operation, actor: Actor, cell: Access): Promise<void> {
  const c = CASES[message][op];
  if (!c) throw new Error(`no request is known for ${message}Request/${op}: add one to CASES`);
  if (typeof cell === 'number') {
    await run(message, op, actor, { build: c.plain }, cell);
  } else if (cell === 'allow') {
    await run(message, op, actor, { build: c.plain }, 200);
    for (const extra of c.alsoAllowed ?? []) await run(message, op, actor, extra, 200);
  } else {
    const probes = cell === 'self' ? c.self : c.policy;
    if (!probes)
      throw new Error(`${message}Request/${op} has a ${cell} cell, but no known ${cell} behaviour`);
    for (const probe of probes) {
      try {
        await run(message, op, actor, probe, probe.code);
      } catch (err) {
        throw new Error(`${probe.what}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The walk

describe('the permission table, cell by cell, through the HTTP app', () => {
  it('has a world with one user of every actor class', async () => {
    const w = await world({}, { sidebars: true });
    const stored = await w.gw.stored(w.conf);
    const classOf = (login: string) => {
      const m = stored.members.find((x) => x.userId === idOf(login));
      return m ? actorForRole(m.role) : 'none';
    };
    expect(classOf('bob')).toBe('moderator');
    expect(classOf('carol')).toBe('participant');
    expect(classOf('dave')).toBe('observer');
    expect(classOf('erin')).toBe('none');
    expect(classOf('alice')).toBe('none');
    expect(classOf('frank')).toBe('participant');
    for (const type of SIDEBAR_TYPES) {
      const sidebar = await w.gw.stored(w.sidebars[type]);
      expect(sidebar.owner).toBe(idOf('bob'));
      expect(sidebar.members.map((m) => [m.userId, actorForRole(m.role)])).toEqual(
        expect.arrayContaining([
          [CAROL, 'participant'],
          [DAVE, 'observer'],
        ]),
      );
    }
  });

  for (const [message, row] of Object.entries(PERMISSIONS) as [Tabled, Partial<Record<Operation, Row>>][]) {
    describe(`${message}Request`, () => {
      for (const [op, cells] of Object.entries(row) as [Operation, Row][]) {
        for (const actor of ACTORS) {
          const cell = cells[actor];
          it(`${op} by ${actor} (${LOGIN[actor]}): ${cell}`, async () => {
            await check(message, op, actor, cell);
          });
        }
      }
    });
  }

  describe('optionsRequest', () => {
    for (const actor of ACTORS) {
      it(`by ${actor} (${LOGIN[actor]}): ${String(permission('options', 'retrieve', actor))}`, async () => {
        expect(permission('options', 'retrieve', actor)).toBe('allow');
        const w = await world({}, {});
        expectCode(await w.gw.ccmp(LOGIN[actor], { type: 'options' }), 200);
      });
    }
  });

  describe('operations a message does not have: 403', () => {
    for (const [message, row] of Object.entries(PERMISSIONS) as [Tabled, Partial<Record<Operation, Row>>][]) {
      const missing = OPERATIONS.filter((op) => row[op] === undefined);
      if (missing.length === 0) continue;
      // Known mismatch: blueprintsRequest and confsRequest ignore <operation> and answer any of them
      // with the list (src/operations/blueprints.ts blueprintsRequest, src/operations/conf.ts
      // confsRequest). Marked as expected to fail until they answer 403 as the sidebar lists do.
      const test = it;
      test(`${message}Request ${missing.join('/')}`, async () => {
        const plain = Object.values(CASES[message])[0]!.plain;
        for (const op of missing) {
          const reply = await run(
            message,
            op,
            'moderator',
            { build: (w) => ({ ...plain(w), operation: op }) },
            403,
          );
          expect(reply.responseString).toMatch(/not valid|not allowed/);
        }
      });
    }
  });
});

describe('actor classes from RFC 6501 roles', () => {
  // frank holds the role(s) in <users> of a conference that allows sidebars; his class decides
  // conf retrieve and update, and sidebar creation (where participants and observers differ).
  const cases: [roles: string[], actor: Actor, bug?: string][] = [
    [['administrator'], 'moderator'],
    [['moderator'], 'moderator'],
    [['organizer'], 'moderator'],
    [['participant'], 'participant'],
    [['user'], 'participant'],
    [['observer'], 'observer'],
    [['none'], 'none'],
    // Several roles: the strongest counts (actorOf takes the strongest class).
    [['participant', 'observer'], 'participant'],
    [['participant', 'moderator'], 'moderator'],
    // The member index keeps the strongest role whatever the order of the roles.
    [['observer', 'participant'], 'participant'],
  ];
  /** The code of a cell when the conference's policy allows (allow-sidebars is true here). */
  const expected = (cell: Access | undefined): number => {
    if (cell === undefined || cell === 'self') throw new Error(`no single outcome for ${String(cell)}`);
    return typeof cell === 'number' ? cell : 200;
  };
  for (const [roles, actor, bug] of cases) {
    (bug ? it.fails : it)(`${roles.join(' + ')} acts as ${actor}${bug ? ` (${bug})` : ''}`, async () => {
      expect(roles.map(actorForRole)).toContain(actor);
      const gw = testGateway({
        directory: tableDirectory(
          DOMAIN,
          USERS.map((login) => ({ login })),
        ),
      });
      const entries = roles.map((r) => `<info:entry>${r}</info:entry>`).join('');
      const conf = await gw.createConference('bob', {
        confInfo: confInfo(
          description('<xcon:allow-sidebars>true</xcon:allow-sidebars>') +
            `<info:users><info:user entity="${FRANK}"><info:roles>${entries}</info:roles></info:user></info:users>`,
        ),
      });
      expectCode(
        await gw.ccmp('frank', { type: 'conf', operation: 'retrieve', confObjID: conf }),
        expected(PERMISSIONS.conf.retrieve?.[actor]),
      );
      expectCode(
        await gw.ccmp('frank', { type: 'sidebarByRef', operation: 'create', confObjID: conf }),
        expected(PERMISSIONS.sidebarByRef.create?.[actor]),
      );
      expectCode(
        await gw.ccmp('frank', {
          type: 'conf',
          operation: 'update',
          confObjID: conf,
          body: confInfo(description('<info:subject>Changed</info:subject>'), conf),
        }),
        expected(PERMISSIONS.conf.update?.[actor]),
      );
    });
  }

  it('makes moderators of the main conference moderators of its sidebars', async () => {
    const gw = testGateway({
      directory: tableDirectory(
        DOMAIN,
        USERS.map((login) => ({ login, admin: login === 'alice' })),
      ),
    });
    const conf = await gw.createConference('bob', { confInfo: conferenceInfo({}) });
    // alice creates the sidebar from a document of her own: bob is no user of it.
    const sidebar = expectCode(
      await gw.ccmp('alice', {
        type: 'sidebarByRef',
        operation: 'create',
        confObjID: conf,
        body: confInfo(description('<info:subject>Side</info:subject>'), undefined, 'sidebarByRefInfo'),
      }),
      200,
    ).confObjID!;
    expect((await gw.stored(sidebar)).members.map((m) => m.userId)).not.toContain(idOf('bob'));
    expectCode(
      await gw.ccmp('bob', {
        type: 'sidebarByRef',
        operation: 'update',
        confObjID: sidebar,
        body: confInfo(description('<info:subject>Changed</info:subject>'), sidebar, 'sidebarByRefInfo'),
      }),
      200,
    );
    // Participants of the main conference are not participants of its sidebars.
    expectCode(
      await gw.ccmp('carol', { type: 'sidebarByRef', operation: 'retrieve', confObjID: sidebar }),
      401,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The README's table

interface ReadmeCell {
  access: Access;
  /** A parenthesised remark, e.g. "426 otherwise; roles only by moderators". */
  note?: string;
}

function readmeTable(): { header: string[]; rows: { label: string; cells: string[] }[] } {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n');
  const start = readme.findIndex((l) => /^#{2,4} Authorization\s*$/.test(l));
  if (start === -1) throw new Error('README.md has no "Authorization" section');
  const end = readme.findIndex((l, i) => i > start && /^#{1,4} /.test(l));
  const lines = readme.slice(start + 1, end === -1 ? undefined : end).filter((l) => l.trim().startsWith('|'));
  const split = (l: string) =>
    l
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim());
  const [header, separator, ...body] = lines.map(split);
  if (!header || !separator?.every((c) => /^:?-+:?$/.test(c))) throw new Error('no markdown table found');
  return { header, rows: body.map(([label = '', ...cells]) => ({ label, cells })) };
}

function parseCell(text: string): ReadmeCell {
  const m = /^(allow|self|policy|\d{3})[¹²³⁴⁵⁶⁷⁸⁹⁰]*(?:\s*\((.*)\))?$/.exec(text);
  if (!m?.[1]) throw new Error(`README cell "${text}" is not allow, self, policy or a code`);
  const access = /^\d+$/.test(m[1]) ? (Number(m[1]) as Access) : (m[1] as Access);
  return { access, ...(m[2] ? { note: m[2] } : {}) };
}

const TABLE_MESSAGES = [...Object.keys(PERMISSIONS), 'options'];

/** `sidebarBy*` → both sidebarBy messages; `sidebarsByVal/ByRef` → sidebarsByVal and sidebarsByRef. */
function expandMessage(token: string): string[] {
  if (token.includes('*')) {
    const re = new RegExp(`^${token.replace(/\*/g, '.*')}$`);
    return TABLE_MESSAGES.filter((m) => re.test(m));
  }
  const [base = '', ...alternatives] = token.split('/');
  const out = [base];
  for (const alt of alternatives) {
    // The message ending with the alternative whose stem is the longest prefix of the base.
    const found = TABLE_MESSAGES.filter(
      (m) => m.endsWith(alt) && base.startsWith(m.slice(0, m.length - alt.length)),
    ).sort((a, b) => b.length - a.length)[0];
    out.push(found ?? `${base}/${alt}`);
  }
  return out;
}

/** A row label as pairs "message operation"; an operation of `*` stands for options' all. */
function parseLabel(label: string): string[] {
  const m = /^(.*?)\s+([a-z]+(?:\/[a-z]+)*)$/.exec(label);
  const ops = m?.[2]?.split('/');
  const opsGiven = ops !== undefined && ops.every((o) => (OPERATIONS as readonly string[]).includes(o));
  const messages = (opsGiven ? (m?.[1] ?? '') : label).split(/\s*,\s*/).flatMap(expandMessage);
  return messages.flatMap((message) => {
    if (message === 'options') return ['options *'];
    const row = (PERMISSIONS as Record<string, Partial<Record<Operation, Row>> | undefined>)[message];
    const operations = opsGiven ? ops : Object.keys(row ?? { '?': 0 });
    return operations.map((op) => `${message} ${op}`);
  });
}

function codeTable(): Record<string, Row> {
  const out: Record<string, Row> = {};
  for (const [message, row] of Object.entries(PERMISSIONS) as [Tabled, Partial<Record<Operation, Row>>][]) {
    for (const [op, cells] of Object.entries(row) as [Operation, Row][]) out[`${message} ${op}`] = cells;
  }
  out['options *'] = Object.fromEntries(
    ACTORS.map((a) => [a, permission('options', 'retrieve', a) ?? 403]),
  ) as Row;
  return out;
}

describe("README.md's Authorization table", () => {
  const table = readmeTable();

  it('has the actor columns of the code, in order', () => {
    expect(table.header.slice(1)).toEqual([...ACTORS]);
  });

  it('says for every message, operation and actor what PERMISSIONS says', () => {
    const seen: string[] = [];
    const readme: Record<string, Row> = {};
    for (const { label, cells } of table.rows) {
      expect(cells, label).toHaveLength(ACTORS.length);
      const row = Object.fromEntries(ACTORS.map((a, i) => [a, parseCell(cells[i] ?? '').access])) as Row;
      for (const key of parseLabel(label)) {
        seen.push(key);
        readme[key] = row;
      }
    }
    // No pair twice, then the same cells as the code (the diff names any pair and actor that differ).
    expect(seen.filter((k, i) => seen.indexOf(k) !== i)).toEqual([]);
    expect(readme).toEqual(codeTable());
  });

  it('documents the refusal of the self cells that this walk checks', () => {
    for (const { label, cells } of table.rows) {
      for (const [i, text] of cells.entries()) {
        const cell = parseCell(text);
        const documented = cell.note ? /\b(\d{3}) otherwise/.exec(cell.note)?.[1] : undefined;
        if (cell.access !== 'self' || documented === undefined) continue;
        for (const key of parseLabel(label)) {
          const [message, op] = key.split(' ') as [Tabled, Operation];
          expect(selfRefusal(message, op), `${label} / ${ACTORS[i] ?? ''}`).toBe(Number(documented));
        }
      }
    }
  });
});
