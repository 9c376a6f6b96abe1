/**
 * @module Cloudflare Workers entry: the same `createGateway` as on Node, built on the first request
 * from the Worker's bindings.
 *
 * Conferences are kept in memory per isolate here, so this entry is for trying the gateway on
 * workerd; a durable store for the edge is the D1 store.
 */
import mockConnector from '../connectors/mock.ts';
import { demoDirectory } from './auth/demo-directory.ts';
import { ConfigError, readSettings, type Env } from './config.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { consoleLogger } from './log.ts';
import { memoryStore } from './store/memory.ts';

let gateway: Gateway | undefined;

function build(env: Env): Gateway {
  const settings = readSettings(env);
  if (env.CCMP_ALLOW_DEMO_DIRECTORY !== 'true') {
    throw new ConfigError('CCMP_ALLOW_DEMO_DIRECTORY must be "true" to use the demo directory on the edge');
  }
  return createGateway({
    store: memoryStore(),
    directory: demoDirectory(settings.domain),
    connectors: [
      mockConnector({ focusUri: settings.focusUris[0] ?? `sip:conference-focus@${settings.domain}` }),
    ],
    logger: consoleLogger(settings.logLevel),
    config: {
      domain: settings.domain,
      domains: new Set(settings.domains),
      maxBodyBytes: settings.maxBodyBytes,
    },
  });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      gateway ??= build(env);
    } catch (err) {
      const message = err instanceof ConfigError ? err.message : 'the gateway could not start';
      return new Response(`configuration error: ${message}\n`, { status: 500 });
    }
    return gateway.fetch(request, env);
  },
};
