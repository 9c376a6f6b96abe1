/** @module extendedRequest end to end: 501 for unknown extensions, 200 through a registered one. */
import { describe, expect, it } from 'vitest';
import { ALICE, NS, childElements, expectCode, summaryExtension, testGateway, text } from './_harness.ts';

const EXAMPLE_NS = 'http://example.com/ccmp-extension';

describe('extendedRequest', () => {
  it('answers 501 for an extension the server does not know, echoing the extensionName', async () => {
    const gw = testGateway();
    const reply = await gw.ccmp('alice', {
      type: 'extended',
      operation: 'retrieve',
      confObjID: 'xcon:8977794@example.com',
      body: '<extensionName>noSuchExtension</extensionName>',
    });
    expectCode(reply, 501);
    expect(reply.xsiType).toBe('ccmp-extended-response-message-type');
    expect(reply.confUserID).toBe(ALICE);
    expect(reply.operation).toBe('retrieve');
    expect(text(reply.specialized, 'extensionName')).toBe('noSuchExtension');
  });

  it('answers 400 when extensionName is missing', async () => {
    const gw = testGateway({ extensions: [summaryExtension] });
    const reply = await gw.ccmp('alice', { type: 'extended', operation: 'retrieve', body: '' });
    expectCode(reply, 400);
    expect(reply.xsiType).toBe('ccmp-extended-response-message-type');
  });

  it('runs a registered extension and returns its elements after extensionName', async () => {
    const gw = testGateway({ extensions: [summaryExtension] });
    const reply = expectCode(
      await gw.ccmp('bob', {
        type: 'extended',
        operation: 'retrieve',
        confObjID: 'xcon:8977794@example.com',
        body: '<extensionName>confSummaryRequest</extensionName>',
      }),
      200,
    );
    expect(reply.xsiType).toBe('ccmp-extended-response-message-type');
    expect(reply.confObjID).toBe('xcon:8977794@example.com');
    const [name, summary] = childElements(reply.specialized!);
    expect(name?.localName).toBe('extensionName');
    expect(text(name)).toBe('confSummaryRequest');
    expect(summary?.namespaceURI).toBe(EXAMPLE_NS);
    expect(summary?.localName).toBe('confSummary');
    expect(reply.specialized?.namespaceURI).toBe(NS.ccmp);
  });
});
