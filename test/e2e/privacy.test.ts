/** @module Conference passwords (423/422, lockout, visibility) and provide-anonymity end to end. */
import { describe, expect, it } from 'vitest';
import {
  BOB,
  CAROL,
  all,
  attr,
  confInfo,
  description,
  descendants,
  expectCode,
  one,
  targets,
  testGateway,
  text,
  type Reply,
} from './_harness.ts';

const PASSWORD = '8601';
const withPassword = (pw: string) =>
  `<info:conf-uris><info:entry><xcon:conference-password>${pw}</xcon:conference-password></info:entry></info:conf-uris>`;

async function protectedConference() {
  const gw = testGateway();
  const uri = await gw.createConference('bob', {
    confInfo: confInfo(
      description('<info:subject>Secret</info:subject>' + withPassword(PASSWORD)) + targets([[CAROL]]),
    ),
  });
  return { gw, uri };
}

function passwords(reply: Reply, name = 'confInfo'): string[] {
  return descendants(reply.payload(name), 'xcon:conference-password').map((p) => text(p) ?? '');
}

describe('conference-password', () => {
  it('answers 423 when the password is missing, 422 when wrong, 200 when right', async () => {
    const { gw, uri } = await protectedConference();
    const missing = await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri });
    expectCode(missing, 423);
    expect(missing.version).toBeUndefined();
    expect(missing.payload('confInfo')).toBeUndefined();
    const wrong = await gw.ccmp('carol', {
      type: 'conf',
      operation: 'retrieve',
      confObjID: uri,
      conferencePassword: '0000',
    });
    expectCode(wrong, 422);
    expect(wrong.payload('confInfo')).toBeUndefined();
    const right = expectCode(
      await gw.ccmp('carol', {
        type: 'conf',
        operation: 'retrieve',
        confObjID: uri,
        conferencePassword: PASSWORD,
      }),
      200,
    );
    expect(text(right.payload('confInfo'), 'info:conference-description/info:subject')).toBe('Secret');
  });

  it('is required for every operation on the conference, the moderator included (RFC 6504 §6.5 join)', async () => {
    const { gw, uri } = await protectedConference();
    const join = await gw.ccmp('carol', { type: 'user', operation: 'create', confObjID: uri });
    expectCode(join, 423);
    expect(join.version).toBeUndefined();
    const joined = expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'create',
        confObjID: uri,
        conferencePassword: PASSWORD,
      }),
      200,
    );
    expect(joined.version).toBe(2);
    expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(description('<info:subject>x</info:subject>'), uri),
      }),
      423,
    );
    expectCode(await gw.ccmp('bob', { type: 'users', operation: 'retrieve', confObjID: uri }), 423);
    expectCode(await gw.ccmp('bob', { type: 'sidebarsByVal', confObjID: uri }), 423);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'delete', confObjID: uri }), 423);
    expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'delete',
        confObjID: uri,
        conferencePassword: PASSWORD,
      }),
      200,
    );
  });

  it('locks out after repeated wrong passwords: then even the right one is refused', async () => {
    const { gw, uri } = await protectedConference();
    for (let i = 0; i < 5; i++) {
      expectCode(
        await gw.ccmp('carol', {
          type: 'conf',
          operation: 'retrieve',
          confObjID: uri,
          conferencePassword: `x${i}`,
        }),
        422,
      );
    }
    const locked = await gw.ccmp('carol', {
      type: 'conf',
      operation: 'retrieve',
      confObjID: uri,
      conferencePassword: PASSWORD,
    });
    expectCode(locked, 422);
    expect(locked.payload('confInfo')).toBeUndefined();
    expect(locked.responseString).toMatch(/too many/);
    expect(locked.xml).not.toContain(PASSWORD);
  });

  it('shows the password to the moderator and hides it from participants', async () => {
    const { gw, uri } = await protectedConference();
    const moderator = expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'retrieve',
        confObjID: uri,
        conferencePassword: PASSWORD,
      }),
      200,
    );
    expect(passwords(moderator)).toEqual([PASSWORD]);
    const participant = expectCode(
      await gw.ccmp('carol', {
        type: 'conf',
        operation: 'retrieve',
        confObjID: uri,
        conferencePassword: PASSWORD,
      }),
      200,
    );
    expect(passwords(participant)).toEqual([]);
    expect(participant.xml).not.toContain(PASSWORD);
    // conf-uris still has its single entry (the join URI).
    expect(
      all(participant.payload('confInfo'), 'info:conference-description/info:conf-uris/info:entry'),
    ).toHaveLength(1);
    // The participant cannot find it with a filter either.
    const list = expectCode(
      await gw.ccmp('carol', {
        type: 'confs',
        body: `<xpathFilter>//conference-password[.='${PASSWORD}']</xpathFilter>`,
      }),
      200,
    );
    expect(list.payload('confsInfo')).toBeUndefined();
  });

  it('can be set and removed by an update that changes nothing else', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('bob', {
      confInfo: confInfo(description('<info:subject>Kept</info:subject>') + targets([[CAROL]])),
    });
    const set = expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(description(withPassword('4321')), uri),
      }),
      200,
    );
    expect(passwords(set)).toEqual(['4321']);
    expectCode(await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }), 423);
    const read = expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'retrieve',
        confObjID: uri,
        conferencePassword: '4321',
      }),
      200,
    );
    const desc = one(read.payload('confInfo'), 'info:conference-description');
    expect(text(desc, 'info:subject')).toBe('Kept');
    expect(all(desc, 'info:available-media/info:entry')).toHaveLength(3);
    expect(all(desc, 'info:conf-uris/info:entry')).toHaveLength(1);
    expect(text(desc, 'info:conf-uris/info:entry/info:uri')).toMatch(/^sip:/);

    expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        conferencePassword: '4321',
        body: confInfo(
          description(
            '<info:conf-uris><info:entry><xcon:conference-password/></info:entry></info:conf-uris>',
          ),
          uri,
        ),
      }),
      200,
    );
    const open = expectCode(
      await gw.ccmp('carol', { type: 'conf', operation: 'retrieve', confObjID: uri }),
      200,
    );
    expect(open.version).toBe(3);
    expect(text(open.payload('confInfo'), 'info:conference-description/info:subject')).toBe('Kept');
    expect(
      all(open.payload('confInfo'), 'info:conference-description/info:conf-uris/info:entry'),
    ).toHaveLength(1);
  });
});

describe('provide-anonymity', () => {
  // alice (an administrator) organizes; bob and carol are participants.
  async function setUp(mode: string) {
    const gw = testGateway();
    const uri = await gw.createConference('alice', { confInfo: confInfo(targets([[BOB], [CAROL]])) });
    expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: `<userInfo entity="${CAROL}"><xcon:provide-anonymity>${mode}</xcon:provide-anonymity></userInfo>`,
      }),
      200,
    );
    const view = async (who: string) =>
      expectCode(await gw.ccmp(who, { type: 'conf', operation: 'retrieve', confObjID: uri }), 200);
    return { gw, uri, view };
  }

  const entities = (reply: Reply, name = 'confInfo') =>
    all(reply.payload(name), 'info:users/info:user').map((u) => attr(u, 'entity') ?? '');

  for (const mode of ['private', 'anonymous', 'semi-private']) {
    it(`masks a ${mode} user for participants and shows them to moderators`, async () => {
      const { gw, uri, view } = await setUp(mode);
      const participant = await view('bob');
      expect(entities(participant)).not.toContain(CAROL);
      expect(participant.xml.toLowerCase()).not.toContain('carol');
      const masked = all(participant.payload('confInfo'), 'info:users/info:user').filter((u) =>
        attr(u, 'entity')?.startsWith('xcon-userid:anonymous'),
      );
      expect(masked).toHaveLength(1);
      // The masked user still pairs with its allowed-users-list target (Linphone needs both).
      const targetUris = all(
        participant.payload('confInfo'),
        'info:users/xcon:allowed-users-list/xcon:target',
      ).map((t) => attr(t, 'uri'));
      expect(targetUris).toContain(attr(masked[0], 'entity'));

      const moderator = await view('alice');
      expect(entities(moderator)).toContain(CAROL);

      const users = expectCode(
        await gw.ccmp('bob', { type: 'users', operation: 'retrieve', confObjID: uri }),
        200,
      );
      expect(entities(users, 'usersInfo').join(' ')).not.toContain(CAROL);
      expectCode(
        await gw.ccmp('bob', {
          type: 'user',
          operation: 'retrieve',
          confObjID: uri,
          body: `<userInfo entity="${CAROL}"/>`,
        }),
        420,
      );
      const filter = expectCode(
        await gw.ccmp('bob', {
          type: 'confs',
          body: `<xpathFilter>//user[@entity='${CAROL}']</xpathFilter>`,
        }),
        200,
      );
      expect(filter.payload('confsInfo')).toBeUndefined();
      // Carol still reads her own entry in full.
      const own = expectCode(
        await gw.ccmp('carol', { type: 'user', operation: 'retrieve', confObjID: uri }),
        200,
      );
      expect(attr(own.payload('userInfo'), 'entity')).toBe(CAROL);
    });
  }

  it('shows the user again once the anonymity request is withdrawn', async () => {
    const { gw, uri, view } = await setUp('private');
    expect(entities(await view('bob'))).not.toContain(CAROL);
    expectCode(
      await gw.ccmp('carol', {
        type: 'user',
        operation: 'update',
        confObjID: uri,
        body: `<userInfo entity="${CAROL}"><xcon:provide-anonymity/></userInfo>`,
      }),
      200,
    );
    expect(entities(await view('bob'))).toContain(CAROL);
  });

  it('masks the user in the sidebars the conference embeds by value, and in their list', async () => {
    const { gw, uri, view } = await setUp('private');
    expectCode(await gw.ccmp('alice', { type: 'sidebarByVal', operation: 'create', confObjID: uri }), 200);
    const participant = await view('bob');
    const sidebar = one(participant.payload('confInfo'), 'info:sidebars-by-val/info:entry');
    expect(all(sidebar, 'info:users/info:user').map((u) => attr(u, 'entity'))).not.toContain(CAROL);
    expect(participant.xml.toLowerCase()).not.toContain('carol');
    const list = expectCode(await gw.ccmp('bob', { type: 'sidebarsByVal', confObjID: uri }), 200);
    expect(list.xml.toLowerCase()).not.toContain('carol');
    const moderator = await view('alice');
    const full = one(moderator.payload('confInfo'), 'info:sidebars-by-val/info:entry');
    expect(all(full, 'info:users/info:user').map((u) => attr(u, 'entity'))).toContain(CAROL);
  });

  it('does not disclose the user to a participant who clones the conference or makes a sidebar of it', async () => {
    const { gw, uri } = await setUp('private');
    expectCode(
      await gw.ccmp('alice', {
        type: 'conf',
        operation: 'update',
        confObjID: uri,
        body: confInfo(description('<xcon:allow-sidebars>true</xcon:allow-sidebars>'), uri),
      }),
      200,
    );
    const clone = expectCode(
      await gw.ccmp('bob', { type: 'conf', operation: 'create', confObjID: uri }),
      200,
    );
    expect(clone.xml.toLowerCase()).not.toContain('carol');
    const sidebar = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'create', confObjID: uri }),
      200,
    );
    expect(sidebar.xml.toLowerCase()).not.toContain('carol');
    // A moderator's clone keeps the user.
    const full = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'create', confObjID: uri }),
      200,
    );
    expect(entities(full)).toContain(CAROL);
  });

  it('does not give a cloning participant the conference password', async () => {
    const gw = testGateway();
    const uri = await gw.createConference('alice', {
      confInfo: confInfo(description(withPassword(PASSWORD)) + targets([[BOB]])),
    });
    const clone = expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'create',
        confObjID: uri,
        conferencePassword: PASSWORD,
      }),
      200,
    );
    expect(clone.xml).not.toContain(PASSWORD);
  });

  it('removes a hidden user from what participants see', async () => {
    const { view } = await setUp('hidden');
    const participant = await view('bob');
    expect(entities(participant)).not.toContain(CAROL);
    expect(entities(participant).some((e) => e.startsWith('xcon-userid:anonymous'))).toBe(false);
    expect(participant.xml.toLowerCase()).not.toContain('carol');
    const moderator = await view('alice');
    expect(entities(moderator)).toContain(CAROL);
  });
});
