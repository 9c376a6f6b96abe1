/**
 * @module The authentication pipeline: every enabled scheme, throttling, and the HTTP/CCMP answer.
 *
 * Credentials in HTTP headers (Basic, Digest, Bearer) are tried first, then the CCMP `<subject>`.
 * Missing credentials get HTTP 401 with a challenge per enabled HTTP scheme (Linphone answers it
 * with its SIP account); with only `<subject>` enabled they get CCMP 424. Wrong ones are throttled
 * per user and per client address. A locked-out client is refused before any directory work; a
 * locked-out user only once the credentials name them, with the same answer for right and wrong ones.
 */
import { AuthenticationRequired, DirectoryUnavailable, HttpError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { FailureThrottle } from './throttle.ts';
import type { AuthRequest, AuthScheme, Principal } from './types.ts';

export interface Authenticator {
  readonly schemes: readonly AuthScheme[];
  authenticate(request: AuthRequest): Promise<{ principal: Principal; scheme: string }>;
  /** WWW-Authenticate values for a 401. */
  challenges(): Promise<string[]>;
}

export interface AuthenticatorOptions {
  schemes: AuthScheme[];
  throttle: FailureThrottle;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { schemes, throttle, logger } = options;
  const sleep = options.sleep ?? defaultSleep;
  const httpSchemes = schemes.filter((s) => s.challenge !== undefined);

  async function challenges(): Promise<string[]> {
    const all: string[] = [];
    for (const scheme of httpSchemes) if (scheme.challenge) all.push(await scheme.challenge());
    return all;
  }

  async function refuse(scheme: string, reason: string, retryAfterMs = 0): Promise<never> {
    if (scheme === 'subject') throw new AuthenticationRequired(`<subject> credentials refused: ${reason}`);
    const headers: [string, string][] = (await challenges()).map((c) => ['WWW-Authenticate', c]);
    if (retryAfterMs > 0) {
      headers.push(['Retry-After', String(Math.ceil(retryAfterMs / 1000))]);
      throw new HttpError(429, `too many failed logins: ${reason}`, headers);
    }
    throw new HttpError(401, reason, headers);
  }

  return {
    schemes,
    challenges,
    async authenticate(request) {
      const clientKey = `client:${request.clientAddress}`;
      const client = throttle.check(clientKey);
      if (client.locked) {
        logger.log('info', 'auth.locked_out', { client: request.clientAddress });
        await refuse(hintScheme(request), 'this client is locked out for a while', client.retryAfterMs);
      }

      for (const scheme of schemes) {
        let outcome;
        try {
          outcome = await scheme.authenticate(request);
        } catch (err) {
          if (err instanceof DirectoryUnavailable && scheme.name !== 'subject') {
            throw new HttpError(503, err.message, [['Retry-After', String(err.retryAfterSeconds)]]);
          }
          throw err;
        }
        if (outcome.status === 'absent') continue;
        if (outcome.status === 'authenticated') {
          // Failures are recorded under the name the client typed; check every name it may have used.
          const userKeys = principalKeys(outcome.principal);
          const user = lockedAmong(throttle, userKeys);
          if (user) {
            logger.log('info', 'auth.locked_out', {
              scheme: outcome.scheme,
              user: outcome.principal.userId,
              client: request.clientAddress,
            });
            await refuse(outcome.scheme, 'this user is locked out for a while', user.retryAfterMs);
          }
          for (const key of userKeys) throttle.succeed(key);
          throttle.succeed(clientKey);
          return { principal: outcome.principal, scheme: outcome.scheme };
        }
        const userKey = outcome.user ? `user:${outcome.user.trim().toLowerCase()}` : undefined;
        // During a lockout wrong guesses get the same answer as right ones, which must not tell them apart.
        const lockedUser = userKey ? lockedAmong(throttle, [userKey]) : undefined;
        if (lockedUser) {
          logger.log('info', 'auth.locked_out', {
            scheme: outcome.scheme,
            user: outcome.user,
            client: request.clientAddress,
          });
          throttle.fail(clientKey);
          await refuse(outcome.scheme, 'this user is locked out for a while', lockedUser.retryAfterMs);
        }
        const lockedNow = [throttle.fail(clientKey), userKey ? throttle.fail(userKey) : false].some(Boolean);
        logger.log(lockedNow ? 'warn' : 'info', 'auth.failed', {
          scheme: outcome.scheme,
          reason: outcome.reason,
          user: outcome.user,
          client: request.clientAddress,
          lockedOut: lockedNow,
        });
        const delay = Math.max(client.delayMs, userKey ? throttle.check(userKey).delayMs : 0);
        if (delay > 0) await sleep(delay);
        return refuse(outcome.scheme, outcome.reason);
      }
      if (httpSchemes.length > 0) {
        const headers: [string, string][] = (await challenges()).map((c) => ['WWW-Authenticate', c]);
        throw new HttpError(401, 'credentials are required', headers);
      }
      throw new AuthenticationRequired('this server authenticates every request: send <subject> credentials');
    },
  };
}

/** The throttle keys of every name a user may log in with: XCON-USERID, login, SIP AOR. */
function principalKeys(principal: Principal): string[] {
  const names = [principal.userId, principal.username, principal.sipUri].filter((n) => n !== undefined);
  return [...new Set(names.map((n) => `user:${n.trim().toLowerCase()}`))];
}

function lockedAmong(throttle: FailureThrottle, keys: string[]): { retryAfterMs: number } | undefined {
  for (const key of keys) {
    const state = throttle.check(key);
    if (state.locked) return state;
  }
  return undefined;
}

function hintScheme(request: AuthRequest): string {
  return request.header('authorization') ? 'http' : request.subject ? 'subject' : 'http';
}
