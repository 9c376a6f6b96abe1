/**
 * The HTTP binding of the gateway (RFC 6503 §9, protocol reference §11), in process through `app.request()`:
 * media types, body limits, hostile XML, methods, authentication challenges, caching headers, and the
 * REST-style `/<XCON-USERID>` binding.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Gateway } from '../../src/gateway.ts';
import {
  ALICE,
  basic,
  CCMP_TYPE,
  ccmpRequest,
  confCreate,
  confRetrieve,
  makeApp,
  optionsRequest,
  post,
  readCcmpResponse,
  userId,
} from '../robustness/_support.ts';

const FUZZ_FIXTURES = new URL('../fixtures/fuzz/', import.meta.url);
const hostile = (name: string): string => readFileSync(new URL(name, FUZZ_FIXTURES), 'utf8');

let app: Gateway;

beforeAll(async () => {
  app = await makeApp();
});

/** POST /ccmp with a chosen Content-Type (or none, for a byte body). */
function send(body: BodyInit, contentType: string | undefined, extra: Record<string, string> = {}) {
  return app.request('/ccmp', {
    method: 'POST',
    body,
    headers: {
      authorization: ALICE,
      ...(contentType !== undefined ? { 'content-type': contentType } : {}),
      ...extra,
    },
  });
}

async function expectHttpError(res: Response, status: number): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(text.length).toBeGreaterThan(0);
  return text;
}

async function expectCcmp(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/ccmp+xml; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-store');
  return { ...readCcmpResponse(text), text, headers: res.headers };
}

describe('POST /ccmp: media types', () => {
  it.each([
    'application/ccmp+xml',
    'application/ccmp+xml; charset=utf-8',
    'application/ccmp+xml;charset="UTF-8"',
    'application/xml',
    'application/xml; charset=UTF-8',
    'text/xml',
    'text/xml; charset=utf-8',
    'Application/CCMP+XML; Charset=UTF-8',
  ])('accepts %s without an Accept header', async (type) => {
    const res = await send(optionsRequest(), type);
    expect(res.headers.get('accept')).toBeNull();
    const answer = await expectCcmp(res);
    expect(answer.code).toBe(200);
    expect(answer.messageType).toBe('ccmp-options-response-message-type');
  });

  it.each([
    'text/plain',
    'application/json',
    'text/html; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/ccmp',
  ])('refuses Content-Type %s with 415', async (type) => {
    await expectHttpError(await send(optionsRequest(), type), 415);
  });

  it('refuses a request without Content-Type with 415', async () => {
    // A byte body gets no default Content-Type (a string body would get text/plain).
    const res = await send(new TextEncoder().encode(optionsRequest()), undefined);
    expect(res.status).toBe(415);
    await expectHttpError(res, 415);
  });

  it.each(['iso-8859-1', 'utf-16', '"windows-1252"', 'us-ascii'])(
    'refuses charset=%s with 415',
    async (charset) => {
      await expectHttpError(await send(optionsRequest(), `application/ccmp+xml; charset=${charset}`), 415);
    },
  );
});

describe('POST /ccmp: body size', () => {
  const LIMIT = 2048;
  let small: Gateway;
  beforeAll(async () => {
    small = await makeApp({ maxBodyBytes: LIMIT });
  });
  const padded = (size: number): string => {
    const base = optionsRequest();
    return base.replace(
      '</ccmp:ccmpRequest>',
      `<!--${'x'.repeat(size - base.length - 8)}-->\n</ccmp:ccmpRequest>`,
    );
  };

  it('accepts a body at the configured limit', async () => {
    const body = padded(LIMIT);
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    const res = await small.request('/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE, 'content-length': String(LIMIT) },
    });
    expect((await expectCcmp(res)).code).toBe(200);
  });

  it('refuses a larger body announced by Content-Length with 413', async () => {
    const body = padded(LIMIT + 1);
    const res = await small.request('/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE, 'content-length': String(LIMIT + 1) },
    });
    await expectHttpError(res, 413);
  });

  it('refuses a larger streamed body without Content-Length with 413, without reading it all', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode('<a>' + 'x'.repeat(1000));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // An endless body: the gateway must stop reading once past the limit.
        pulled++;
        controller.enqueue(chunk);
      },
    });
    const request = new Request('http://localhost/ccmp', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
      duplex: 'half',
    } as RequestInit);
    expect(request.headers.get('content-length')).toBeNull();
    await expectHttpError(await small.request(request), 413);
    expect(pulled).toBeLessThan(20);
  });

  it('applies the default limit of 1 MiB', async () => {
    const over = 'x'.repeat(1024 * 1024 + 1);
    await expectHttpError(await send(over, CCMP_TYPE), 413);
    const stream = new Blob([over]).stream();
    const request = new Request('http://localhost/ccmp', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
      duplex: 'half',
    } as RequestInit);
    await expectHttpError(await app.request(request), 413);
  });
});

describe('POST /ccmp: bodies that are not CCMP', () => {
  it.each([
    ['an empty body', ''],
    ['plain text', 'hello'],
    ['an unclosed element', '<ccmp:ccmpRequest xmlns:ccmp="urn:ietf:params:xml:ns:xcon-ccmp">'],
    ['mismatched tags', '<a><b></a></b>'],
    ['two root elements', '<a/><b/>'],
    ['an undeclared prefix', '<ccmp:ccmpRequest/>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['an unknown entity', optionsRequest().replace('alice@', '&nbsp;alice@')],
    ['a character reference to a non-XML character', optionsRequest().replace('alice@', '&#0;alice@')],
    ['a JSON document', '{"ccmpRequest":{}}'],
  ])('answers %s with 400', async (_name, body) => {
    await expectHttpError(await send(body, CCMP_TYPE), 400);
  });

  it.each([
    ['an XHTML root', '<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>'],
    ['an unqualified ccmpRequest', '<ccmpRequest><ccmpRequest/></ccmpRequest>'],
    [
      'a CCMP response',
      readFileSync(new URL('../fixtures/rfc6503/s6.8-options-response.xml', import.meta.url), 'utf8'),
    ],
    [
      'a conference-info document',
      '<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="xcon:a@example.com"/>',
    ],
  ])('answers a non-CCMP root (%s) with 400', async (_name, body) => {
    await expectHttpError(await send(body, CCMP_TYPE), 400);
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['0xFF', [0xff]],
  ])('answers invalid UTF-8 (%s) with 400', async (_name, bad) => {
    const [before, after] = optionsRequest().split('alice@') as [string, string];
    const enc = new TextEncoder();
    const body = new Uint8Array([...enc.encode(before), ...bad, ...enc.encode(`alice@${after}`)]);
    await expectHttpError(await send(body, CCMP_TYPE), 400);
  });

  it('accepts a UTF-8 byte order mark and non-ASCII text', async () => {
    const body = '\uFEFF' + confCreate('Réunion 会議 😀');
    const answer = await expectCcmp(await send(new TextEncoder().encode(body), CCMP_TYPE));
    expect(answer.code).toBe(200);
    expect(answer.subject).toBe('Réunion 会議 😀');
  });
});

describe('POST /ccmp: hostile XML', () => {
  it.each([
    'billion-laughs.xml',
    'external-entity.xml',
    'external-dtd.xml',
    'parameter-entity.xml',
    'doctype-in-request.xml',
  ])('refuses %s with 400 and expands nothing', async (name) => {
    const text = await expectHttpError(await send(hostile(name), CCMP_TYPE), 400);
    expect(text).toMatch(/DOCTYPE|entity/i);
    expect(text).not.toMatch(/root:|lol/);
  });

  it('refuses a deeply nested document with 400', async () => {
    const depth = 100_000;
    const body = '<a>'.repeat(depth) + '</a>'.repeat(depth);
    const started = Date.now();
    const text = await expectHttpError(await send(body, CCMP_TYPE), 400);
    expect(text).toMatch(/nested/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses deep nesting inside a valid CCMP envelope with 400', async () => {
    const depth = 200;
    const inner = '<info:entry>'.repeat(depth) + '</info:entry>'.repeat(depth);
    const body = confCreate('deep').replace('<info:subject>', `${inner}<info:subject>`);
    await expectHttpError(await send(body, CCMP_TYPE), 400);
  });

  it('keeps moderate nesting as ordinary CCMP', async () => {
    const depth = 20;
    const inner = '<x:e xmlns:x="urn:example:ext">'.repeat(depth) + '</x:e>'.repeat(depth);
    const body = confCreate('nested').replace('<info:subject>', `${inner}<info:subject>`);
    const answer = await expectCcmp(await send(body, CCMP_TYPE));
    expect(answer.code).not.toBe(500);
  });
});

describe('/ccmp: methods', () => {
  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('answers %s with 405 and Allow: POST', async (method) => {
    const res = await app.request('/ccmp', {
      method,
      ...(method === 'GET' ? {} : { body: optionsRequest() }),
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
    });
    await expectHttpError(res, 405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('POST /ccmp: authentication', () => {
  it.each([
    ['no credentials', null],
    ['a wrong password', basic('alice', 'wrong')],
    ['an unknown user', basic('mallory', 'mallory')],
    ['malformed Basic credentials', 'Basic !!!'],
    ['an unsupported scheme', 'Negotiate abc'],
  ])('answers %s with 401 and a Basic challenge', async (_name, authorization) => {
    const res = await post(app, optionsRequest(), authorization);
    await expectHttpError(res, 401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
  });

  it('authenticates bob with his own credentials', async () => {
    const answer = await expectCcmp(await post(app, optionsRequest('bob'), basic('bob')));
    expect(answer.code).toBe(200);
    expect(answer.confUserID).toBe(userId('bob'));
  });
});

describe('response headers', () => {
  it('sends Cache-Control: no-store on every kind of response', async () => {
    const responses = await Promise.all([
      post(app, optionsRequest()),
      post(app, confRetrieve('xcon:missing@example.com')),
      post(app, optionsRequest(), null),
      send(optionsRequest(), 'text/plain'),
      send('<a', CCMP_TYPE),
      app.request('/ccmp', { method: 'GET' }),
      app.request('/health'),
      app.request('/nothing-here'),
      app.request('/', { method: 'POST' }),
      app.request('/xcon-userid:alice@example.com', { method: 'GET' }),
    ]);
    for (const res of responses) {
      expect(res.headers.get('cache-control'), `${res.status} ${res.url}`).toBe('no-store');
      await res.body?.cancel();
    }
  });

  it('sends an ETag with the version when the response has one, and none otherwise', async () => {
    const created = await expectCcmp(await post(app, confCreate('etag')));
    expect(created.code).toBe(200);
    expect(created.version).toBe(1);
    expect(created.headers.get('etag')).toBe('"1"');
    const options = await expectCcmp(await post(app, optionsRequest()));
    expect(options.version).toBeUndefined();
    expect(options.headers.get('etag')).toBeNull();
  });
});

describe('other paths', () => {
  it('GET /health answers 200', async () => {
    const res = await app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it.each([
    ['GET', '/'],
    ['POST', '/'],
    ['POST', '/ccmp/extra'],
    ['POST', '/Xcon/Ccmp'],
    ['GET', '/xcon:123@example.com'],
    ['POST', '/xcon-userid:alice@example.com/more'],
  ])('%s %s answers 404', async (method, path) => {
    const res = await app.request(path, {
      method,
      ...(method === 'POST'
        ? { body: optionsRequest(), headers: { 'content-type': CCMP_TYPE, authorization: ALICE } }
        : {}),
    });
    await expectHttpError(res, 404);
  });
});

describe('CCMP errors travel in HTTP 200', () => {
  it('answers a retrieve of an unknown conference with CCMP 404 in HTTP 200', async () => {
    const answer = await expectCcmp(await post(app, confRetrieve('xcon:unknown@example.com')));
    expect(answer.code).toBe(404);
    expect(answer.operation).toBe('retrieve');
  });

  it('answers a request without a specialized message with CCMP 400 in HTTP 200', async () => {
    const body = optionsRequest().replace('ccmp-options-request', 'ccmp-conf-request');
    const answer = await expectCcmp(await post(app, body));
    expect(answer.code).toBe(400);
  });

  it('answers a request for another user with CCMP 401 in HTTP 200', async () => {
    const answer = await expectCcmp(await post(app, optionsRequest('bob')));
    expect(answer.code).toBe(401);
  });
});

describe('REST-style binding /<XCON-USERID>', () => {
  const path = '/xcon-userid:alice@example.com';

  it.each(['PUT', 'POST'])('%s behaves like POST /ccmp', async (method) => {
    const body = confCreate(`rest ${method}`);
    const viaPath = await expectCcmp(
      await app.request(path, { method, body, headers: { 'content-type': CCMP_TYPE, authorization: ALICE } }),
    );
    const viaCcmp = await expectCcmp(await post(app, body));
    expect(viaPath.code).toBe(200);
    expect(viaPath.version).toBe(1);
    expect(viaPath.subject).toBe(`rest ${method}`);
    expect(viaPath.headers.get('etag')).toBe('"1"');
    const strip = (xml: string) =>
      xml.replace(/xcon:[a-z0-9]+@example\.com/g, 'xcon:ID').replace(/conf-id=[^<]+/g, '');
    expect(strip(viaPath.text)).toBe(strip(viaCcmp.text));

    const retrieved = await expectCcmp(
      await app.request(path, {
        method,
        body: confRetrieve(viaPath.confObjID!),
        headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
      }),
    );
    expect(retrieved.code).toBe(200);
    expect(retrieved.subject).toBe(`rest ${method}`);
  });

  it('accepts a percent-encoded path', async () => {
    const res = await app.request('/xcon-userid:alice%40example.com', {
      method: 'PUT',
      body: optionsRequest(),
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
    });
    expect((await expectCcmp(res)).code).toBe(200);
  });

  it.each([
    ['another user', '/xcon-userid:bob@example.com'],
    ['another domain', '/xcon-userid:alice@example.org'],
    ['a doubly encoded @', '/xcon-userid:alice%2540example.com'],
    ['a malformed escape', '/xcon-userid:alice%E0%A4%A'],
    ['an encoded malformed escape', '/xcon-userid:%25E0%A4%A'],
  ])('answers a path naming %s with CCMP 400', async (_name, userPath) => {
    const res = await app.request(userPath, {
      method: 'PUT',
      body: confCreate('mismatch'),
      headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
    });
    const answer = await expectCcmp(res);
    expect(answer.code).toBe(400);
    expect(answer.confObjID).toBeUndefined();
  });

  it('answers a request without confUserID on a user path with CCMP 400', async () => {
    const body = ccmpRequest('options', {});
    const answer = await expectCcmp(
      await app.request(path, {
        method: 'POST',
        body,
        headers: { 'content-type': CCMP_TYPE, authorization: ALICE },
      }),
    );
    expect(answer.code).toBe(400);
  });

  it('applies the same HTTP checks as POST /ccmp', async () => {
    const headers = { authorization: ALICE };
    await expectHttpError(
      await app.request(path, {
        method: 'PUT',
        body: optionsRequest(),
        headers: { ...headers, 'content-type': 'text/plain' },
      }),
      415,
    );
    await expectHttpError(
      await app.request(path, {
        method: 'PUT',
        body: hostile('billion-laughs.xml'),
        headers: { ...headers, 'content-type': CCMP_TYPE },
      }),
      400,
    );
    const unauthenticated = await app.request(path, {
      method: 'PUT',
      body: optionsRequest(),
      headers: { 'content-type': CCMP_TYPE },
    });
    await expectHttpError(unauthenticated, 401);
    expect(unauthenticated.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it.each(['GET', 'DELETE', 'PATCH'])('answers %s with 405', async (method) => {
    const res = await app.request(path, { method });
    await expectHttpError(res, 405);
    expect(res.headers.get('allow')).toMatch(/POST/);
  });
});
