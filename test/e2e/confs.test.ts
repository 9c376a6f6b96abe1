/** @module confsRequest end to end: each user sees their own conferences, the administrator all. */
import { describe, expect, it } from 'vitest';
import {
  ALICE,
  BOB,
  CAROL,
  all,
  confInfo,
  description,
  expectCode,
  targets,
  testGateway,
  text,
  type Reply,
} from './_harness.ts';

function listed(reply: Reply): string[] {
  return all(reply.payload('confsInfo'), 'info:entry')
    .map((e) => text(e, 'info:uri') ?? '')
    .sort();
}

async function setUp() {
  const gw = testGateway();
  const subject = (s: string) => description(`<info:subject>${s}</info:subject>`);
  const bobs = await gw.createConference('bob', { confInfo: confInfo(subject('bob alone')) });
  const carolInvitesBob = await gw.createConference('carol', {
    confInfo: confInfo(subject('carol with bob') + targets([[BOB]])),
  });
  const carolBySip = await gw.createConference('carol', {
    confInfo: confInfo(subject('carol with bob by SIP') + targets([['sip:bob@example.com']])),
  });
  const carols = await gw.createConference('carol', { confInfo: confInfo(subject('carol alone')) });
  const alices = await gw.createConference('alice', { confInfo: confInfo(subject('alice alone')) });
  return { gw, bobs, carolInvitesBob, carolBySip, carols, alices };
}

describe('confsRequest', () => {
  it('lists the conferences a user owns or is invited to, and no others', async () => {
    const { gw, bobs, carolInvitesBob, carolBySip, carols, alices } = await setUp();
    const reply = expectCode(await gw.ccmp('bob', { type: 'confs' }), 200);
    expect(reply.xsiType).toBe('ccmp-confs-response-message-type');
    expect(reply.confUserID).toBe(BOB);
    expect(reply.operation).toBeUndefined();
    expect(reply.confObjID).toBeUndefined();
    expect(listed(reply)).toEqual([bobs, carolInvitesBob, carolBySip].sort());
    expect(listed(reply)).not.toContain(carols);
    expect(listed(reply)).not.toContain(alices);

    const carol = expectCode(await gw.ccmp('carol', { type: 'confs' }), 200);
    expect(carol.confUserID).toBe(CAROL);
    expect(listed(carol)).toEqual([carolInvitesBob, carolBySip, carols].sort());
  });

  it('lists every conference to the administrator', async () => {
    const { gw, bobs, carolInvitesBob, carolBySip, carols, alices } = await setUp();
    const reply = expectCode(await gw.ccmp('alice', { type: 'confs' }), 200);
    expect(reply.confUserID).toBe(ALICE);
    expect(listed(reply)).toEqual([bobs, carolInvitesBob, carolBySip, carols, alices].sort());
  });

  it('answers without confsInfo when the user has no conference (uris-type needs an entry)', async () => {
    const gw = testGateway();
    const reply = expectCode(await gw.ccmp('bob', { type: 'confs' }), 200);
    expect(reply.specialized).toBeDefined();
    expect(reply.payload('confsInfo')).toBeUndefined();
  });

  it('applies an xpathFilter over the conferences the user may read', async () => {
    const { gw, carolInvitesBob, carolBySip } = await setUp();
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'confs',
        body: "<xpathFilter>/conference-info[starts-with(conference-description/subject, 'carol')]</xpathFilter>",
      }),
      200,
    );
    expect(listed(reply)).toEqual([carolInvitesBob, carolBySip].sort());

    // The RFC 6503 example filter (registered, i.e. inactive, conferences) as written in the RFC,
    // and as the data model has it (conference-state is a sibling of conference-description).
    const rfc = expectCode(
      await gw.ccmp('bob', {
        type: 'confs',
        body: "<xpathFilter>/conference-info[conference-state/active='false']</xpathFilter>",
      }),
      200,
    );
    expect(listed(rfc)).toHaveLength(3);
    const none = expectCode(
      await gw.ccmp('bob', {
        type: 'confs',
        body: "<xpathFilter>/conference-info[conference-state/active='true']</xpathFilter>",
      }),
      200,
    );
    expect(listed(none)).toEqual([]);
  });

  it('answers 400 for an invalid xpathFilter and for a confObjID', async () => {
    const gw = testGateway();
    expectCode(await gw.ccmp('bob', { type: 'confs', body: '<xpathFilter>((</xpathFilter>' }), 400);
    expectCode(await gw.ccmp('bob', { type: 'confs', confObjID: 'xcon:x@example.com' }), 400);
  });

  it('drops a conference from the list of a user who is no longer invited', async () => {
    const { gw, carolInvitesBob } = await setUp();
    expectCode(
      await gw.ccmp('carol', {
        type: 'users',
        operation: 'update',
        confObjID: carolInvitesBob,
        body: '<usersInfo><xcon:allowed-users-list><xcon:target uri="xcon-userid:carol@example.com" method="dial-in"/></xcon:allowed-users-list></usersInfo>',
      }),
      200,
    );
    const reply = expectCode(await gw.ccmp('bob', { type: 'confs' }), 200);
    expect(listed(reply)).not.toContain(carolInvitesBob);
  });
});
