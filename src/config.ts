/**
 * @module Operator settings from environment variables, validated at start.
 *
 * Every problem names the setting, so a bad deployment fails fast with a message an operator can
 * act on. Runtime-neutral: the Node and Workers entries both read their environment through it.
 */
import type { Limits } from './core/types.ts';
import type { LogLevel } from './log.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

export interface GatewaySettings {
  domain: string;
  domains: string[];
  maxBodyBytes: number;
  backendTimeoutMs: number;
  connector: string;
  /** Focus URIs; the first builds the mock connector's join URIs. */
  focusUris: string[];
  logLevel: LogLevel;
  limits: Limits;
  passwordFailures: number;
  passwordLockoutSeconds: number;
  /** Seconds between imports of conferences made on the backends themselves; 0 turns it off. */
  backendSyncSeconds: number;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^[0-9]+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, not "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, not ${value}`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, not "${raw}"`);
  }
  return raw as T;
}

export function domainName(env: Env, name: string, fallback: string): string {
  const raw = (env[name] ?? fallback).trim().toLowerCase();
  if (!DOMAIN.test(raw))
    throw new ConfigError(`${name} must be a domain name such as example.com, not "${raw}"`);
  return raw;
}

export function readSettings(env: Env): GatewaySettings {
  const domain = domainName(env, 'CCMP_DOMAIN', 'example.com');
  const domains = (env.CCMP_DOMAINS ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => domainName({ CCMP_DOMAINS: d }, 'CCMP_DOMAINS', d));
  const focusUris = (env.CCMP_FOCUS_URI ?? `sip:conference-focus@${domain}`)
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const focusUri of focusUris) {
    if (!/^sips?:[^@\s]+@[^\s,]+$/i.test(focusUri)) {
      throw new ConfigError(
        `CCMP_FOCUS_URI must be SIP URIs such as sip:conference-focus@${domain}, not "${focusUri}"`,
      );
    }
  }
  if (focusUris.length === 0) throw new ConfigError('CCMP_FOCUS_URI must name at least one SIP URI');
  return {
    domain,
    domains,
    maxBodyBytes: integer(env, 'CCMP_MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    backendTimeoutMs: integer(env, 'CCMP_BACKEND_TIMEOUT_MS', 10_000, 100, 120_000),
    connector: oneOf(env, 'CCMP_CONNECTOR', ['mock', 'flexisip'], 'mock'),
    focusUris,
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info'),
    limits: {
      maxConferences: integer(env, 'CCMP_MAX_CONFERENCES', 1_000_000, 1, 1e9),
      maxConferencesPerUser: integer(env, 'CCMP_MAX_CONFERENCES_PER_USER', 10_000, 1, 1e9),
      maxUsersPerConference: integer(env, 'CCMP_MAX_USERS_PER_CONFERENCE', 1_000, 1, 1e6),
      maxSidebarsPerConference: integer(env, 'CCMP_MAX_SIDEBARS_PER_CONFERENCE', 100, 0, 1e5),
      maxListEntries: integer(env, 'CCMP_MAX_LIST_ENTRIES', 10_000, 1, 1e6),
    },
    passwordFailures: integer(env, 'CCMP_PASSWORD_FAILURES', 5, 1, 1000),
    passwordLockoutSeconds: integer(env, 'CCMP_PASSWORD_LOCKOUT_S', 900, 1, 86_400),
    backendSyncSeconds: integer(env, 'CCMP_BACKEND_SYNC_S', 10, 0, 86_400),
  };
}

/** The core configuration of `createGateway` from the validated settings (shared by both entries). */
export function coreConfig(settings: GatewaySettings) {
  return {
    domain: settings.domain,
    domains: new Set(settings.domains),
    maxBodyBytes: settings.maxBodyBytes,
    backendTimeoutMs: settings.backendTimeoutMs,
    limits: settings.limits,
    passwordThrottle: {
      lockoutFailures: settings.passwordFailures,
      lockoutMs: settings.passwordLockoutSeconds * 1000,
    },
  };
}

/** Backend-sync options from the settings, for `configureBackendSync`. */
export function backendSyncOptions(settings: GatewaySettings) {
  return settings.backendSyncSeconds === 0
    ? { enabled: false }
    : { enabled: true, minIntervalMs: settings.backendSyncSeconds * 1000 };
}
