/**
 * @module Node entry: reads the environment, builds the adapters, serves the gateway.
 *
 * `npm start` with no settings runs the embedded default: the mock connector, a SQLite store in
 * ./data, and the demo directory (alice, bob, carol).
 */
import { serve } from '@hono/node-server';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildNodeGateway } from './node-setup.ts';
import { ConfigError, integer, type Env } from './config.ts';

export async function main(env: Env = process.env): Promise<void> {
  const port = integer(env, 'PORT', 8080, 0, 65_535);
  const host = (env.HOST ?? '127.0.0.1').trim();
  const dataDir = env.CCMP_DATA_DIR?.trim() || 'data';
  const built = await buildNodeGateway(env, { sqlitePath: join(dataDir, 'ccmp.sqlite') });
  const { app, logger } = built;
  await app.ready;
  const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
    logger.log('info', 'gateway.listening', {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}/ccmp`,
    });
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'gateway.stopping', { signal });
    server.close(() => {
      void built.close().finally(() => process.exit(0));
    });
    // Keep-alive clients must not hold the process forever.
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    process.exit(1);
  });
}
