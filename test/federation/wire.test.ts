/** @module The documents between gateways, routing, and the peer connector's transport failures. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import ccmpPeerConnector from '../../connectors/ccmp-peer.ts';
import { ConnectorError } from '../../connectors/types.ts';
import { decodeRequest } from '../../src/ccmp/decode.ts';
import { encodeResponse } from '../../src/ccmp/encode.ts';
import { routingDomain } from '../../src/federation/federation.ts';
import { encodeRequest, readPeerResponse } from '../../src/federation/wire.ts';
import { parseXml } from '../../src/xml/parse.ts';
import { validateCcmpResponse } from '../helpers/validate.ts';
import { envelope, fixture } from '../e2e/_harness.ts';

const request = (xml: string) => decodeRequest(parseXml(xml));

describe('the forwarded request', () => {
  it('keeps what the operation needs and drops the client credentials', () => {
    const original = request(
      envelope({
        type: 'conf',
        subject: { username: 'alice', password: 'secret' },
        confUserID: 'xcon-userid:alice@a.example',
        confObjID: 'xcon:x@b.example',
        operation: 'update',
        conferencePassword: '1234',
        body: '<confInfo entity="xcon:x@b.example"><info:conference-description><info:subject>S</info:subject></info:conference-description></confInfo>',
      }),
    );
    const xml = encodeRequest(original);
    expect(xml).not.toMatch(/subject>alice|secret/);
    const forwarded = request(xml);
    const { subject: _subject, body: _body, info: _info, ...rest } = original;
    expect(forwarded).toMatchObject(rest);
    expect(forwarded.conferencePassword).toBe('1234');
    expect(forwarded.info).toEqual(original.info);
  });

  it('writes the RFC 6503 namespace for a request received in the RFC 6504 one', () => {
    const xml = fixture('rfc6504/s5.3-conf-create-confinfo-request.xml');
    expect(xml).toContain('urn:ietf:params:xml:ns:xcon:ccmp');
    const out = encodeRequest(request(xml));
    expect(out).toContain('<ccmp:confRequest><confInfo');
    expect(out).not.toContain('xcon:ccmp');
    expect(request(out).info).toBeDefined();
  });
});

describe('routing', () => {
  const route = (spec: Parameters<typeof envelope>[0]) => routingDomain(request(envelope(spec)));
  it('follows confObjID, else the entity of the conference to create or of the user', () => {
    expect(
      route({ type: 'conf', operation: 'retrieve', confUserID: 'u', confObjID: 'xcon:x@B.example' }),
    ).toBe('b.example');
    expect(
      route({
        type: 'conf',
        operation: 'create',
        confUserID: 'u',
        body: '<confInfo entity="xcon:AUTO_GENERATE_1@b.example"/>',
      }),
    ).toBe('b.example');
    // The conference decides: a user of another domain added to a local conference stays local.
    expect(
      route({
        type: 'user',
        operation: 'create',
        confUserID: 'u',
        confObjID: 'xcon:x@a.example',
        body: '<userInfo entity="xcon-userid:bob@b.example"/>',
      }),
    ).toBe('a.example');
    expect(
      route({
        type: 'user',
        operation: 'create',
        confUserID: 'u',
        body: '<userInfo entity="xcon-userid:AUTO_GENERATE_1@c.example"/>',
      }),
    ).toBe('c.example');
    expect(route({ type: 'confs', confUserID: 'u' })).toBeUndefined();
    expect(route({ type: 'blueprints', confUserID: 'u' })).toBeUndefined();
    expect(route({ type: 'options', confUserID: 'u' })).toBeUndefined();
    expect(route({ type: 'conf', operation: 'create', confUserID: 'u' })).toBeUndefined();
  });
});

describe('the relayed response', () => {
  it('keeps IDs, version, code and payload, in our canonical prefixes', () => {
    // The same response with other prefixes, as another implementation may write it.
    const rename = (prefix: string) => (prefix === 'ccmp' ? 'c' : 'ci');
    const peer = fixture('linphone/responses/retrieve-response.xml')
      .replace(/(<\/?|")(ccmp|info):/g, (_m, before: string, prefix: string) => `${before}${rename(prefix)}:`)
      .replace(/xmlns:(ccmp|info)=/g, (_m, prefix: string) => `xmlns:${rename(prefix)}=`);
    expect(peer).toContain('<c:ccmpResponse');
    const { response } = readPeerResponse(peer, 'ccmp-peer:b.example', 'b.example');
    expect(response).toMatchObject({ type: 'conf', operation: 'retrieve', code: 200 });
    const xml = encodeResponse(response);
    validateCcmpResponse(xml);
    expect(xml).toContain('<ccmp:confResponse><confInfo');
    expect(xml).not.toMatch(/<c:|<ci:/);
    expect(xml).toContain('<info:conference-description>');
  });

  it('answers an unregistered code as 500 and keeps the peer code in the text', () => {
    const xml = encodeResponse({ type: 'conf', confUserID: 'u', code: 200, responseString: 'odd' }).replace(
      '<response-code>200</response-code>',
      '<response-code>299</response-code>',
    );
    const { response } = readPeerResponse(xml, 'ccmp-peer:b.example', 'b.example');
    expect(response.code).toBe(500);
    expect(response.responseString).toBe('peer site b.example answered response-code 299: odd');
  });

  it.each([
    ['not XML', 'oops'],
    ['not CCMP', '<html/>'],
    [
      'no code',
      encodeResponse({ type: 'conf', confUserID: 'u', code: 200 }).replace(
        /<response-code>200<\/response-code>/,
        '',
      ),
    ],
  ])('turns a broken answer (%s) into an unavailable peer naming it', (_what, xml) => {
    let thrown: unknown;
    try {
      readPeerResponse(xml, 'ccmp-peer:b.example', 'b.example');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect(thrown).toMatchObject({ kind: 'unavailable', connector: 'ccmp-peer:b.example' });
    expect((thrown as ConnectorError).publicMessage).toMatch(
      /^peer site b\.example sent an invalid CCMP response/,
    );
  });
});

describe('the peer connector', () => {
  const answer = (status: number, body = '', type = 'application/ccmp+xml') =>
    (() =>
      Promise.resolve(new Response(body, { status, headers: { 'content-type': type } }))) as typeof fetch;
  const peer = (fetchImpl: typeof fetch, timeoutMs = 1_000) =>
    ccmpPeerConnector({ site: 'b.example', url: 'https://ccmp.b.example/ccmp', timeoutMs, fetch: fetchImpl });
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      if (err instanceof ConnectorError) return { kind: err.kind, message: err.publicMessage };
      throw err;
    }
    throw new Error('expected a ConnectorError');
  };

  it('maps HTTP answers to connector failures', async () => {
    const send = (f: typeof fetch) => peer(f).send({ body: '<x/>', headers: {} });
    expect(await failure(send(answer(401)))).toEqual({
      kind: 'unavailable',
      message: "peer site b.example refused this site's credentials (HTTP 401)",
    });
    expect((await failure(send(answer(415)))).kind).toBe('invalid');
    expect((await failure(send(answer(503)))).kind).toBe('unavailable');
    expect((await failure(send(answer(302)))).message).toMatch(/HTTP 302/);
    expect((await failure(send(answer(200, '<x/>', 'text/html')))).message).toMatch(/not answer with a CCMP/);
    const big = ccmpPeerConnector({
      site: 'b.example',
      url: 'https://x/ccmp',
      timeoutMs: 1_000,
      maxResponseBytes: 10,
      fetch: answer(200, 'x'.repeat(100)),
    });
    expect((await failure(big.send({ body: '', headers: {} }))).message).toMatch(/too large/);
    const ok = await send(() =>
      Promise.resolve(
        new Response('<ok/>', { headers: { 'content-type': 'application/ccmp+xml', 'x-request-id': 'r1' } }),
      ),
    );
    expect(ok).toMatchObject({ body: '<ok/>', requestId: 'r1' });
  });

  it('gives up at the deadline with a timeout', async () => {
    const hanging = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      })) as typeof fetch;
    const started = performance.now();
    const f = await failure(peer(hanging, 200).send({ body: '', headers: {}, timeoutMs: 5_000 }));
    expect(f).toEqual({ kind: 'timeout', message: 'peer site b.example did not answer within 200 ms' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('reports a refused connection at once, not at the deadline', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const connector = ccmpPeerConnector({
      site: 'b.example',
      url: `http://127.0.0.1:${port}/ccmp`,
      timeoutMs: 10_000,
    });
    const started = performance.now();
    const f = await failure(connector.send({ body: '', headers: {} }));
    expect(f).toEqual({
      kind: 'unavailable',
      message: 'peer site b.example is unreachable (connection refused)',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
