/**
 * @module Builds the Node adapters from the environment: store, directory, connectors.
 */
import type { Connector } from '../connectors/types.ts';
import { readFileSync } from 'node:fs';
import { identityFromEnv } from './auth/from-env.ts';
import { webPlatform } from './platform.ts';
import { readSettings, ConfigError, oneOf, type Env, coreConfig, backendSyncOptions } from './config.ts';
import { configureBackendSync } from './core/backend-sync.ts';
import { connectorsFromEnv } from './node-connectors.ts';
import { federationFromEnv } from './federation/from-env.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { consoleLogger, type Logger } from './log.ts';
import { sqliteStore } from './store/sqlite.ts';
import { memoryStore } from './store/memory.ts';

export interface NodeGateway {
  app: Gateway;
  logger: Logger;
  close(): Promise<void>;
}

export async function buildNodeGateway(env: Env, paths: { sqlitePath: string }): Promise<NodeGateway> {
  const settings = readSettings(env);
  const logger = consoleLogger(settings.logLevel);
  const storeKind = oneOf(env, 'CCMP_STORE', ['sqlite', 'memory'], 'sqlite');
  const synchronous = oneOf(env, 'CCMP_SQLITE_SYNC', ['normal', 'full'], 'normal');
  const store = storeKind === 'memory' ? memoryStore() : sqliteStore({ path: paths.sqlitePath, synchronous });

  const connectors: Connector[] = connectorsFromEnv(env, settings);
  for (const c of connectors) {
    try {
      await c.check?.();
    } catch (err) {
      throw new ConfigError(
        `the ${c.name} backend is not usable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  let identity;
  try {
    identity = identityFromEnv(env, {
      domain: settings.domain,
      domains: settings.domains,
      platform: webPlatform,
      logger,
      readFile: (path) => readFileSync(path, 'utf8'),
    });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const directory = identity.directory;
  if (identity.demo) {
    logger.log('warn', 'gateway.demo_directory', {
      message:
        'demo credentials are active (alice/alice, bob/bob, carol/carol); configure a real directory before exposing this server',
    });
  }
  logger.log('info', 'identity.configured', { summary: identity.describe() });
  let federation;
  try {
    federation = await federationFromEnv(env, {
      domain: settings.domain,
      domains: settings.domains,
      backendTimeoutMs: settings.backendTimeoutMs,
      logger,
      platform: webPlatform,
      readFile: (path) => readFileSync(path, 'utf8'),
    });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const app = createGateway({
    ...(federation ? { federation } : {}),
    store,
    directory,
    schemes: identity.schemes,
    authThrottle: identity.throttle,
    connectors,
    logger,
    config: coreConfig(settings),
  });
  configureBackendSync(app.deps, backendSyncOptions(settings));
  return {
    app,
    logger,
    async close() {
      for (const c of connectors) await c.close?.();
      await directory.close?.();
      await store.close();
    },
  };
}
