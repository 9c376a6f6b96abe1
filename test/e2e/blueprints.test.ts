/** @module blueprintsRequest and blueprintRequest end to end. */
import { describe, expect, it } from 'vitest';
import {
  ALICE,
  BOB,
  all,
  confInfo,
  description,
  descendants,
  expectCode,
  testGateway,
  text,
  type Reply,
} from './_harness.ts';

const SYSTEM = ['xcon:AudioRoom@example.com', 'xcon:default@example.com', 'xcon:VideoRoom@example.com'];
const AUDIO_VIDEO =
  "/conference-info[conference-description/available-media/entry/type='audio' and " +
  "conference-description/available-media/entry/type='video']";

function uris(reply: Reply): string[] {
  return all(reply.payload('blueprintsInfo'), 'info:entry').map((e) => text(e, 'info:uri') ?? '');
}

describe('blueprintsRequest', () => {
  it('lists the three system blueprints with display-text and purpose, without operation or confObjID', async () => {
    const gw = testGateway();
    const reply = expectCode(await gw.ccmp('bob', { type: 'blueprints' }), 200);
    expect(reply.xsiType).toBe('ccmp-blueprints-response-message-type');
    expect(reply.confUserID).toBe(BOB);
    expect(reply.operation).toBeUndefined();
    expect(reply.confObjID).toBeUndefined();
    expect(uris(reply).sort()).toEqual([...SYSTEM].sort());
    for (const entry of all(reply.payload('blueprintsInfo'), 'info:entry')) {
      expect(text(entry, 'info:display-text')).toBeTruthy();
      expect(text(entry, 'info:purpose')).toBeTruthy();
    }
  });

  it('filters with the RFC 6504 §5.2 audio+video xpathFilter', async () => {
    const gw = testGateway();
    const reply = expectCode(
      await gw.ccmp('alice', { type: 'blueprints', body: `<xpathFilter>${AUDIO_VIDEO}</xpathFilter>` }),
      200,
    );
    expect(uris(reply).sort()).toEqual(['xcon:default@example.com', 'xcon:VideoRoom@example.com'].sort());
  });

  it('filters with prefixed names too', async () => {
    const gw = testGateway();
    const reply = expectCode(
      await gw.ccmp('alice', {
        type: 'blueprints',
        body: '<xpathFilter>/info:conference-info[xcon:floor-information]</xpathFilter>',
      }),
      200,
    );
    expect(uris(reply).sort()).toEqual(['xcon:AudioRoom@example.com', 'xcon:VideoRoom@example.com'].sort());
  });

  it('answers 400 for an invalid xpathFilter', async () => {
    const gw = testGateway();
    const reply = await gw.ccmp('alice', {
      type: 'blueprints',
      body: '<xpathFilter>/conference-info[[</xpathFilter>',
    });
    expectCode(reply, 400);
    expect(reply.xsiType).toBe('ccmp-blueprints-response-message-type');
    const unsafe = await gw.ccmp('alice', {
      type: 'blueprints',
      body: '<xpathFilter>document("http://attacker.example/")</xpathFilter>',
    });
    expectCode(unsafe, 400);
  });
});

describe('blueprintRequest', () => {
  it('retrieves a blueprint', async () => {
    const gw = testGateway();
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'blueprint',
        operation: 'retrieve',
        confObjID: 'xcon:AudioRoom@example.com',
      }),
      200,
    );
    expect(reply.xsiType).toBe('ccmp-blueprint-response-message-type');
    expect(reply.operation).toBe('retrieve');
    expect(reply.confObjID).toBe('xcon:AudioRoom@example.com');
    const info = reply.payload('blueprintInfo');
    expect(info?.getAttribute('entity')).toBe('xcon:AudioRoom@example.com');
    expect(text(info, 'info:conference-description/info:display-text')).toBe('AudioRoom');
    expect(all(info, 'info:conference-description/info:available-media/info:entry')).toHaveLength(1);
  });

  it('answers 404 for a conference URI and for an unknown one', async () => {
    const gw = testGateway();
    const conf = await gw.createConference('bob');
    for (const uri of [conf, 'xcon:nothing@example.com']) {
      const reply = await gw.ccmp('bob', { type: 'blueprint', operation: 'retrieve', confObjID: uri });
      expectCode(reply, 404);
      expect(reply.xsiType).toBe('ccmp-blueprint-response-message-type');
      expect(reply.confObjID).toBe(uri);
    }
  });

  it('lets the administrator create, update and delete a blueprint', async () => {
    const gw = testGateway();
    const created = expectCode(
      await gw.ccmp('alice', {
        type: 'blueprint',
        operation: 'create',
        body: confInfo(
          description(
            '<info:display-text>Town hall</info:display-text><info:free-text>Large audio meeting</info:free-text>' +
              '<info:conf-uris><info:entry><info:uri>sip:x@example.com</info:uri>' +
              '<xcon:conference-password>1234</xcon:conference-password></info:entry></info:conf-uris>' +
              '<info:available-media><info:entry label="AUTO_GENERATE_2"><info:type>audio</info:type></info:entry></info:available-media>',
          ),
          'xcon:TownHall@example.com',
          'blueprintInfo',
        ),
      }),
      200,
    );
    expect(created.confObjID).toBe('xcon:TownHall@example.com');
    expect(created.version).toBe(1);
    expect(descendants(created.payload('blueprintInfo'), 'xcon:conference-password')).toHaveLength(0);

    const list = expectCode(await gw.ccmp('bob', { type: 'blueprints' }), 200);
    expect(uris(list)).toContain('xcon:TownHall@example.com');

    const updated = expectCode(
      await gw.ccmp('alice', {
        type: 'blueprint',
        operation: 'update',
        confObjID: 'xcon:TownHall@example.com',
        body: confInfo(
          description('<info:display-text>Town hall (large)</info:display-text>'),
          'xcon:TownHall@example.com',
          'blueprintInfo',
        ),
      }),
      200,
    );
    expect(updated.version).toBe(2);
    const read = expectCode(
      await gw.ccmp('bob', {
        type: 'blueprint',
        operation: 'retrieve',
        confObjID: 'xcon:TownHall@example.com',
      }),
      200,
    );
    expect(text(read.payload('blueprintInfo'), 'info:conference-description/info:display-text')).toBe(
      'Town hall (large)',
    );

    const deleted = expectCode(
      await gw.ccmp('alice', {
        type: 'blueprint',
        operation: 'delete',
        confObjID: 'xcon:TownHall@example.com',
      }),
      200,
    );
    expect(deleted.confObjID).toBe('xcon:TownHall@example.com');
    expect(deleted.confUserID).toBe(ALICE);
    expectCode(
      await gw.ccmp('bob', {
        type: 'blueprint',
        operation: 'retrieve',
        confObjID: 'xcon:TownHall@example.com',
      }),
      404,
    );
  });

  it('answers 425 when the administrator deletes the system default blueprint', async () => {
    const gw = testGateway();
    const reply = await gw.ccmp('alice', {
      type: 'blueprint',
      operation: 'delete',
      confObjID: 'xcon:default@example.com',
    });
    expectCode(reply, 425);
    expectCode(await gw.ccmp('bob', { type: 'conf', operation: 'create' }), 200);
  });

  it('refuses blueprint create, update and delete to other users with 403', async () => {
    const gw = testGateway();
    const attempts = [
      {
        operation: 'create' as const,
        body: confInfo(
          description('<info:display-text>Mine</info:display-text>'),
          'xcon:Mine@example.com',
          'blueprintInfo',
        ),
      },
      {
        operation: 'update' as const,
        confObjID: 'xcon:AudioRoom@example.com',
        body: confInfo(
          description('<info:display-text>Hijacked</info:display-text>'),
          'xcon:AudioRoom@example.com',
          'blueprintInfo',
        ),
      },
      { operation: 'delete' as const, confObjID: 'xcon:AudioRoom@example.com' },
    ];
    for (const attempt of attempts) {
      const reply = await gw.ccmp('bob', { type: 'blueprint', ...attempt });
      expectCode(reply, 403);
      expect(reply.operation).toBe(attempt.operation);
    }
    const read = expectCode(
      await gw.ccmp('bob', {
        type: 'blueprint',
        operation: 'retrieve',
        confObjID: 'xcon:AudioRoom@example.com',
      }),
      200,
    );
    expect(text(read.payload('blueprintInfo'), 'info:conference-description/info:display-text')).toBe(
      'AudioRoom',
    );
  });

  it('never puts passwords in blueprints, even when an update tries to add one', async () => {
    const gw = testGateway();
    expectCode(
      await gw.ccmp('alice', {
        type: 'blueprint',
        operation: 'update',
        confObjID: 'xcon:VideoRoom@example.com',
        body: confInfo(
          description(
            '<info:conf-uris><info:entry><info:uri>sip:room@example.com</info:uri>' +
              '<xcon:conference-password>8601</xcon:conference-password></info:entry></info:conf-uris>',
          ),
          'xcon:VideoRoom@example.com',
          'blueprintInfo',
        ),
      }),
      200,
    );
    for (const uri of SYSTEM) {
      const reply = expectCode(
        await gw.ccmp('alice', { type: 'blueprint', operation: 'retrieve', confObjID: uri }),
        200,
      );
      expect(descendants(reply.payload('blueprintInfo'), 'xcon:conference-password')).toHaveLength(0);
      expect(reply.xml).not.toContain('8601');
    }
  });
});
