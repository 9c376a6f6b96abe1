/**
 * @module HTTP with a time limit, for connectors that talk to a backend over HTTP.
 *
 * One deadline covers the whole exchange (connect, headers and body), so a peer that trickles its
 * answer cannot hold a request longer than the budget. Failures are told apart: the deadline passed
 * (`timeout`), the server could not be reached or dropped the connection (`unreachable`, which
 * comes back as soon as the network says so: a refused connection never waits for the deadline),
 * or the answer was larger than allowed (`too_large`). Runs on Node and Workers (fetch, AbortController).
 */

export type HttpFailureKind = 'timeout' | 'unreachable' | 'too_large';

export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Largest response body read, in bytes; default 4 MiB. */
  maxBytes?: number;
  fetch?: typeof fetch;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
  /** Time the exchange took. */
  ms: number;
}

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** One HTTP exchange within `timeoutMs`; redirects are not followed (3xx comes back as is). */
export async function httpRequest(url: string, call: HttpCall): Promise<HttpAnswer> {
  const doFetch = call.fetch ?? globalThis.fetch;
  const controller = new AbortController();
  const started = Date.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, call.timeoutMs);
  try {
    const response = await doFetch(url, {
      method: call.method,
      headers: call.headers,
      ...(call.body !== undefined ? { body: call.body } : {}),
      redirect: 'manual',
      signal: controller.signal,
    });
    const body = await readLimited(response, call.maxBytes ?? DEFAULT_MAX_BYTES);
    return { status: response.status, headers: response.headers, body, ms: Date.now() - started };
  } catch (err) {
    if (err instanceof HttpFailure) throw err;
    if (timedOut) {
      throw new HttpFailure('timeout', `no complete answer within ${call.timeoutMs} ms`, { cause: err });
    }
    throw new HttpFailure('unreachable', describeNetworkError(err), { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new HttpFailure('too_large', `the answer is larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new HttpFailure('too_large', `the answer is larger than ${maxBytes} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** A short reason from fetch's error and its cause (`ECONNREFUSED`, `ENOTFOUND`, ...). */
function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not resolved';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code !== undefined) return `network error (${code})`;
  return 'network error';
}
