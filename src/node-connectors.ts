/**
 * @module Connector selection for the Node entry (`CCMP_CONNECTOR`), with each backend's settings
 * read from the environment and validated.
 */
import flexisipConnector from '../connectors/flexisip.ts';
import mockConnector from '../connectors/mock.ts';
import type { Connector } from '../connectors/types.ts';
import { ConfigError, oneOf, type Env, type GatewaySettings } from './config.ts';

export function connectorsFromEnv(env: Env, settings: GatewaySettings): Connector[] {
  const focus = settings.focusUris[0] ?? `sip:conference-focus@${settings.domain}`;
  switch (settings.connector) {
    case 'mock':
      return [mockConnector({ focusUri: focus, adoptUnknown: true })];
    case 'flexisip': {
      const database = env.FLEXISIP_DATABASE?.trim();
      if (!database) {
        throw new ConfigError(
          'FLEXISIP_DATABASE is required with CCMP_CONNECTOR=flexisip (an SQLite file path or mysql:// URL)',
        );
      }
      const cleanup = oneOf(env, 'FLEXISIP_CLEANUP_EXPIRED_CONFERENCES', ['true', 'false'], 'true');
      try {
        return [
          flexisipConnector({
            database,
            focusUri: settings.focusUris,
            sipDomain: (env.FLEXISIP_SIP_DOMAIN ?? settings.domain).trim(),
            ...(env.FLEXISIP_AVAILABILITY_BEFORE_START
              ? { conferencesAvailabilityBeforeStart: env.FLEXISIP_AVAILABILITY_BEFORE_START.trim() }
              : {}),
            ...(env.FLEXISIP_EXPIRY_TIME ? { conferencesExpiryTime: env.FLEXISIP_EXPIRY_TIME.trim() } : {}),
            cleanupExpiredConferences: cleanup === 'true',
            securityLevel: oneOf(
              env,
              'FLEXISIP_SECURITY_LEVEL',
              ['none', 'point-to-point', 'end-to-end'] as const,
              'none',
            ),
          }),
        ];
      } catch (err) {
        throw new ConfigError(
          `Flexisip connector settings: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    default:
      throw new ConfigError(`CCMP_CONNECTOR must be mock or flexisip, not "${settings.connector}"`);
  }
}
