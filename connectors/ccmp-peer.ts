/**
 * @module The peer-gateway connector: CCMP over HTTP(S) to the gateway of another site.
 *
 * Federation forwards requests for conferences of a peer's domains to that peer's gateway. This
 * connector is only the transport: it POSTs a CCMP request body (already built and signed by the
 * core) to the peer's `/ccmp` endpoint with a time limit, and returns the CCMP body of the answer.
 * It never looks inside the XML. Failures become ConnectorError kinds that the core maps to CCMP
 * codes: `timeout` (510) when the peer does not answer in time, `unavailable` (500, naming the peer)
 * when it cannot be reached, refuses this site's credentials or answers something that is not CCMP,
 * `invalid` (400) when it refuses the request itself at HTTP level.
 */
import { HttpFailure, httpRequest } from './_internal/http.ts';
import { ConnectorError } from './types.ts';

export interface CcmpPeerOptions {
  /** The peer's site name (its main domain), used in error messages and logs. */
  site: string;
  /** The peer gateway's CCMP endpoint, e.g. `https://ccmp.b.example/ccmp`. */
  url: string;
  /** Longest time one exchange may take. */
  timeoutMs: number;
  /** Largest answer accepted, in bytes; default 4 MiB. */
  maxResponseBytes?: number;
  /** The fetch implementation; default the global one. */
  fetch?: typeof fetch;
}

export interface PeerCall {
  /** The CCMP request document. */
  body: string;
  /** Further request headers (site token, request ID, hop count, ...). */
  headers: Record<string, string>;
  /** A shorter limit for this call (e.g. a listing budget); never longer than the connector's. */
  timeoutMs?: number;
}

export interface PeerAnswer {
  /** The CCMP response document, as the peer sent it. */
  body: string;
  /** The peer's X-Request-ID, when it sent one. */
  requestId?: string;
  ms: number;
}

export interface CcmpPeerConnector {
  /** `ccmp-peer:<site>`: the name error responses and logs show. */
  readonly name: string;
  readonly site: string;
  readonly url: string;
  readonly timeoutMs: number;
  send(call: PeerCall): Promise<PeerAnswer>;
}

const CCMP_TYPES = /^(application\/ccmp\+xml|application\/xml|text\/xml)\s*(;|$)/i;

export default function ccmpPeerConnector(options: CcmpPeerOptions): CcmpPeerConnector {
  const name = `ccmp-peer:${options.site}`;
  const fail = (kind: 'timeout' | 'unavailable' | 'invalid', message: string, cause?: unknown) =>
    new ConnectorError(name, kind, message, { cause });

  return {
    name,
    site: options.site,
    url: options.url,
    timeoutMs: options.timeoutMs,
    async send(call) {
      const timeoutMs = Math.min(call.timeoutMs ?? options.timeoutMs, options.timeoutMs);
      let answer;
      try {
        answer = await httpRequest(options.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/ccmp+xml; charset=utf-8', ...call.headers },
          body: call.body,
          timeoutMs,
          ...(options.maxResponseBytes !== undefined ? { maxBytes: options.maxResponseBytes } : {}),
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
      } catch (err) {
        if (!(err instanceof HttpFailure)) throw err;
        switch (err.kind) {
          case 'timeout':
            throw fail('timeout', `peer site ${options.site} did not answer within ${timeoutMs} ms`, err);
          case 'unreachable':
            throw fail('unavailable', `peer site ${options.site} is unreachable (${err.message})`, err);
          case 'too_large':
            throw fail('unavailable', `peer site ${options.site} sent an answer that is too large`, err);
        }
      }
      const { status } = answer;
      if (status === 401 || status === 403) {
        throw fail(
          'unavailable',
          `peer site ${options.site} refused this site's credentials (HTTP ${status})`,
        );
      }
      if (status === 429 || status === 503) {
        throw fail('unavailable', `peer site ${options.site} is busy or starting (HTTP ${status})`);
      }
      if (status >= 400 && status < 500) {
        throw fail('invalid', `peer site ${options.site} refused the request (HTTP ${status})`);
      }
      if (status !== 200) {
        throw fail('unavailable', `peer site ${options.site} answered HTTP ${status}`);
      }
      if (!CCMP_TYPES.test(answer.headers.get('content-type') ?? '')) {
        throw fail('unavailable', `peer site ${options.site} did not answer with a CCMP document`);
      }
      const requestId = answer.headers.get('x-request-id');
      return { body: answer.body, ms: answer.ms, ...(requestId !== null ? { requestId } : {}) };
    },
  };
}
