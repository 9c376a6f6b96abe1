/** @module Sidebars end to end: sidebarsByVal/ByRef lists, sidebarByVal/ByRef create, retrieve, update, delete. */
import { describe, expect, it } from 'vitest';
import {
  CAROL,
  all,
  attr,
  confInfo,
  description,
  expectCode,
  targets,
  testGateway,
  text,
  type TestGateway,
} from './_harness.ts';

async function setUp() {
  const gw = testGateway();
  const parent = await gw.createConference('bob', {
    confInfo: confInfo(description('<info:subject>Main</info:subject>') + targets([[CAROL]])),
  });
  return { gw, parent };
}

async function parentDoc(gw: TestGateway, parent: string) {
  const reply = expectCode(
    await gw.ccmp('bob', { type: 'conf', operation: 'retrieve', confObjID: parent }),
    200,
  );
  return { version: reply.version, info: reply.payload('confInfo') };
}

describe('sidebarsByValRequest / sidebarsByRefRequest', () => {
  it('list no sidebars at first, with the version of the main conference', async () => {
    const { gw, parent } = await setUp();
    const byVal = expectCode(await gw.ccmp('carol', { type: 'sidebarsByVal', confObjID: parent }), 200);
    expect(byVal.xsiType).toBe('ccmp-sidebarsByVal-response-message-type');
    expect(byVal.version).toBe(1);
    expect(byVal.confObjID).toBe(parent);
    expect(all(byVal.payload('sidebarsByValInfo'), 'info:entry')).toHaveLength(0);
    // operation absent (RFC 6503 §5.3.7) and operation=retrieve (Table 1) are both accepted.
    const byRef = expectCode(
      await gw.ccmp('carol', { type: 'sidebarsByRef', operation: 'retrieve', confObjID: parent }),
      200,
    );
    expect(byRef.xsiType).toBe('ccmp-sidebarsByRef-response-message-type');
    expect(byRef.version).toBe(1);
    expect(byRef.operation).toBe('retrieve');
    expect(all(byRef.payload('sidebarsByRefInfo'), 'info:entry')).toHaveLength(0);
  });

  it('answer 404 for an unknown conference or a sidebar, 401 for a non-member', async () => {
    const { gw, parent } = await setUp();
    const sidebar = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'create', confObjID: parent }),
      200,
    ).confObjID!;
    expectCode(await gw.ccmp('bob', { type: 'sidebarsByVal', confObjID: 'xcon:nothing@example.com' }), 404);
    expectCode(await gw.ccmp('bob', { type: 'sidebarsByRef', confObjID: sidebar }), 404);
    const other = await gw.createConference('bob');
    expectCode(await gw.ccmp('carol', { type: 'sidebarsByVal', confObjID: other }), 401);
  });
});

describe('sidebarByValRequest', () => {
  it('creates a sidebar by cloning the main conference, listed by value in the parent', async () => {
    const { gw, parent } = await setUp();
    const created = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'create', confObjID: parent }),
      200,
    );
    expect(created.xsiType).toBe('ccmp-sidebarByVal-response-message-type');
    const sidebar = created.confObjID!;
    expect(sidebar).toMatch(/^xcon:[a-z2-7]+@example\.com$/);
    expect(sidebar).not.toBe(parent);
    expect(created.version).toBe(1);
    const info = created.payload('sidebarByValInfo');
    expect(attr(info, 'entity')).toBe(sidebar);
    expect(text(info, 'info:conference-description/xcon:sidebar-parent')).toBe(parent);
    expect(text(info, 'info:conference-description/info:subject')).toBe('Main');

    const doc = await parentDoc(gw, parent);
    expect(doc.version).toBe(2);
    const entries = all(doc.info, 'info:sidebars-by-val/info:entry');
    expect(entries.map((e) => attr(e, 'entity'))).toEqual([sidebar]);

    const list = expectCode(await gw.ccmp('carol', { type: 'sidebarsByVal', confObjID: parent }), 200);
    expect(list.version).toBe(2);
    const listed = all(list.payload('sidebarsByValInfo'), 'info:entry');
    expect(listed.map((e) => attr(e, 'entity'))).toEqual([sidebar]);
    expect(text(listed[0], 'info:conference-description/xcon:sidebar-parent')).toBe(parent);
    // A by-value sidebar is not listed by reference.
    const byRef = expectCode(await gw.ccmp('carol', { type: 'sidebarsByRef', confObjID: parent }), 200);
    expect(byRef.payload('sidebarsByRefInfo')).toBeUndefined();
  });

  it('creates a sidebar from the given information (RFC 6504 §7.3 style)', async () => {
    const { gw, parent } = await setUp();
    const created = expectCode(
      await gw.ccmp('bob', {
        type: 'sidebarByVal',
        operation: 'create',
        confObjID: parent,
        body: confInfo(
          description(
            '<info:display-text>private chat</info:display-text><info:available-media>' +
              '<info:entry label="AUTO_GENERATE_2"><info:type>text</info:type><info:status>sendrecv</info:status></info:entry>' +
              '</info:available-media>',
          ) + targets([[CAROL, 'dial-out']]),
          'xcon:AUTO_GENERATE_1@example.com',
          'sidebarByValInfo',
        ),
      }),
      200,
    );
    const info = created.payload('sidebarByValInfo');
    expect(attr(info, 'entity')).toBe(created.confObjID);
    expect(text(info, 'info:conference-description/info:display-text')).toBe('private chat');
    expect(text(info, 'info:conference-description/xcon:sidebar-parent')).toBe(parent);
    const media = all(info, 'info:conference-description/info:available-media/info:entry');
    expect(media).toHaveLength(1);
    expect(attr(media[0], 'label')).toMatch(/^[0-9]+$/);
    expect(created.xml).not.toContain('AUTO_GENERATE');
  });

  it('retrieves, updates and deletes a sidebar; the parent follows', async () => {
    const { gw, parent } = await setUp();
    const sidebar = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'create', confObjID: parent }),
      200,
    ).confObjID!;

    const read = expectCode(
      await gw.ccmp('carol', { type: 'sidebarByVal', operation: 'retrieve', confObjID: sidebar }),
      200,
    );
    expect(read.version).toBe(1);
    expect(attr(read.payload('sidebarByValInfo'), 'entity')).toBe(sidebar);

    const updated = expectCode(
      await gw.ccmp('bob', {
        type: 'sidebarByVal',
        operation: 'update',
        confObjID: sidebar,
        body: confInfo(description('<info:subject>Side talk</info:subject>'), sidebar, 'sidebarByValInfo'),
      }),
      200,
    );
    expect(updated.version).toBe(2);
    expect(updated.confObjID).toBe(sidebar);
    let doc = await parentDoc(gw, parent);
    expect(doc.version).toBe(3);
    expect(text(doc.info, 'info:sidebars-by-val/info:entry/info:conference-description/info:subject')).toBe(
      'Side talk',
    );

    // A participant may not change it.
    expectCode(
      await gw.ccmp('carol', {
        type: 'sidebarByVal',
        operation: 'update',
        confObjID: sidebar,
        body: confInfo(description('<info:subject>Mine</info:subject>'), sidebar, 'sidebarByValInfo'),
      }),
      426,
    );

    const deleted = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'delete', confObjID: sidebar }),
      200,
    );
    expect(deleted.confObjID).toBe(sidebar);
    expect(deleted.version).toBeUndefined();
    doc = await parentDoc(gw, parent);
    expect(doc.version).toBe(4);
    expect(all(doc.info, 'info:sidebars-by-val/info:entry')).toHaveLength(0);
    expectCode(
      await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'retrieve', confObjID: sidebar }),
      404,
    );
  });

  it('answers 404 on the wrong kind of object', async () => {
    const { gw, parent } = await setUp();
    const byRef = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'create', confObjID: parent }),
      200,
    ).confObjID!;
    for (const target of [parent, byRef, 'xcon:AudioRoom@example.com', 'xcon:nothing@example.com']) {
      const reply = await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'retrieve', confObjID: target });
      expectCode(reply, 404);
      expect(reply.xsiType).toBe('ccmp-sidebarByVal-response-message-type');
    }
    // A sidebar cannot be the main conference of another sidebar.
    expectCode(await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'create', confObjID: byRef }), 404);
  });

  it('refuses sidebar creation to a participant when the conference does not allow sidebars', async () => {
    const { gw, parent } = await setUp();
    expectCode(await gw.ccmp('carol', { type: 'sidebarByVal', operation: 'create', confObjID: parent }), 401);
    expectCode(
      await gw.ccmp('bob', {
        type: 'conf',
        operation: 'update',
        confObjID: parent,
        body: confInfo(description('<xcon:allow-sidebars>true</xcon:allow-sidebars>'), parent),
      }),
      200,
    );
    expectCode(await gw.ccmp('carol', { type: 'sidebarByVal', operation: 'create', confObjID: parent }), 200);
  });
});

describe('sidebarByRefRequest', () => {
  it('creates, lists, retrieves, updates and deletes a sidebar by reference', async () => {
    const { gw, parent } = await setUp();
    const created = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'create', confObjID: parent }),
      200,
    );
    expect(created.xsiType).toBe('ccmp-sidebarByRef-response-message-type');
    const sidebar = created.confObjID!;
    expect(created.version).toBe(1);
    expect(text(created.payload('sidebarByRefInfo'), 'info:conference-description/xcon:sidebar-parent')).toBe(
      parent,
    );

    let doc = await parentDoc(gw, parent);
    expect(doc.version).toBe(2);
    expect(all(doc.info, 'info:sidebars-by-ref/info:entry').map((e) => text(e, 'info:uri'))).toEqual([
      sidebar,
    ]);

    const list = expectCode(await gw.ccmp('carol', { type: 'sidebarsByRef', confObjID: parent }), 200);
    expect(list.version).toBe(2);
    expect(all(list.payload('sidebarsByRefInfo'), 'info:entry').map((e) => text(e, 'info:uri'))).toEqual([
      sidebar,
    ]);
    const filtered = expectCode(
      await gw.ccmp('carol', {
        type: 'sidebarsByRef',
        confObjID: parent,
        body: "<xpathFilter>/conference-info[conference-description/subject='Nope']</xpathFilter>",
      }),
      200,
    );
    expect(filtered.payload('sidebarsByRefInfo')).toBeUndefined();

    const read = expectCode(
      await gw.ccmp('carol', { type: 'sidebarByRef', operation: 'retrieve', confObjID: sidebar }),
      200,
    );
    expect(read.version).toBe(1);

    const updated = expectCode(
      await gw.ccmp('bob', {
        type: 'sidebarByRef',
        operation: 'update',
        confObjID: sidebar,
        body: confInfo(
          description('<info:display-text>Coaching</info:display-text>'),
          sidebar,
          'sidebarByRefInfo',
        ),
      }),
      200,
    );
    expect(updated.version).toBe(2);
    doc = await parentDoc(gw, parent);
    expect(doc.version).toBe(3);
    expect(text(doc.info, 'info:sidebars-by-ref/info:entry/info:display-text')).toBe('Coaching');

    expectCode(await gw.ccmp('bob', { type: 'sidebarByVal', operation: 'delete', confObjID: sidebar }), 404);
    expectCode(await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'delete', confObjID: sidebar }), 200);
    doc = await parentDoc(gw, parent);
    expect(doc.version).toBe(4);
    expect(all(doc.info, 'info:sidebars-by-ref/info:entry')).toHaveLength(0);
    expectCode(
      await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'retrieve', confObjID: sidebar }),
      404,
    );
  });

  it('answers 401 when a participant deletes a sidebar', async () => {
    const { gw, parent } = await setUp();
    const sidebar = expectCode(
      await gw.ccmp('bob', { type: 'sidebarByRef', operation: 'create', confObjID: parent }),
      200,
    ).confObjID!;
    expectCode(
      await gw.ccmp('carol', { type: 'sidebarByRef', operation: 'delete', confObjID: sidebar }),
      401,
    );
  });
});
