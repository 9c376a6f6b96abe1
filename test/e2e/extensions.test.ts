/**
 * @module Conference documents round-trip: extension elements and attributes of other namespaces
 * (RFC 6501 `##other`) are kept through create, retrieve, update and clone, and the documents the
 * gateway returns still validate (every reply is checked by the harness).
 */
import { describe, expect, it } from 'vitest';
import { confInfo, description, expectCode, testGateway } from './_harness.ts';

const EX = 'urn:example:params:xml:ns:room';

/** A conference-description carrying an extension attribute of its own. */
function descriptionWith(content: string): string {
  return `<info:conference-description xmlns:ex="${EX}" ex:lang-hint="fr">${content}</info:conference-description>`;
}

const DOCUMENT =
  descriptionWith(
    `<info:subject>Planning</info:subject>` +
      '<info:available-media><info:entry label="AUTO_GENERATE_2"><info:type>audio</info:type>' +
      `<info:status>sendrecv</info:status><ex:codec-hint xmlns:ex="${EX}" name="opus"/></info:entry></info:available-media>` +
      `<ex:room xmlns:ex="${EX}" building="B2"><ex:floor>3</ex:floor><ex:seats count="12"/></ex:room>`,
  ) + `<ex:billing xmlns:ex="${EX}" account="42"><ex:cost-centre>R&amp;D</ex:cost-centre></ex:billing>`;

describe('extension elements and attributes', () => {
  it('are kept through create, retrieve, update and clone, with their namespace', async () => {
    const gw = testGateway();
    const created = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'create', body: confInfo(DOCUMENT) }),
      200,
    );
    const id = created.confObjID as string;
    for (const xml of [created.xml]) {
      expect(xml).toMatch(/lang-hint="fr"/);
      expect(xml).toMatch(/building="B2"/);
      expect(xml).toMatch(/<(\w+):floor>3<\/\1:floor>/);
      expect(xml).toMatch(/name="opus"/);
      expect(xml).toMatch(/<(\w+):cost-centre>R&amp;D<\/\1:cost-centre>/);
      expect(xml).toContain(`="${EX}"`);
    }
    const updated = expectCode(
      await gw.ccmp('alice', {
        type: 'conf',
        operation: 'update',
        confObjID: id,
        body: confInfo(description('<info:subject>Planning, new room</info:subject>'), id),
      }),
      200,
    );
    expect(updated.version).toBe(2);
    const retrieved = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'retrieve', confObjID: id }),
      200,
    );
    expect(retrieved.xml).toContain('Planning, new room');
    expect(retrieved.xml).toMatch(/building="B2"/);
    expect(retrieved.xml).toMatch(/account="42"/);
    expect(retrieved.xml).toMatch(/name="opus"/);

    const clone = expectCode(
      await gw.ccmp('alice', { type: 'conf', operation: 'create', confObjID: id }),
      200,
    );
    expect(clone.xml).toMatch(/building="B2"/);
  });

  it('refuse extension content the RFC 6501 grammar forbids, naming it', async () => {
    const gw = testGateway();
    const unqualified = expectCode(
      await gw.ccmp('alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(description('<info:subject>x</info:subject>') + '<room/>'),
      }),
      400,
    );
    expect(unqualified.responseString).toMatch(/room: element without a namespace/);
    const text = expectCode(
      await gw.ccmp('alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(`<ex:note xmlns:ex="${EX}">free text</ex:note>`),
      }),
      400,
    );
    const attribute = expectCode(
      await gw.ccmp('alice', {
        type: 'conf',
        operation: 'create',
        body: confInfo(description(`<info:subject xmlns:ex="${EX}" ex:hint="x">Planning</info:subject>`)),
      }),
      400,
    );
    expect(attribute.responseString).toMatch(/subject: a value element takes no extension attribute/);
    expect(text.responseString).toMatch(
      /note: an extension element here may hold elements and attributes, not text/,
    );
  });
});
