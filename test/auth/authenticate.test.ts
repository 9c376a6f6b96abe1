import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { basicScheme, subjectScheme } from '../../src/auth/basic.ts';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import { identityFromEnv } from '../../src/auth/from-env.ts';
import { FailureThrottle } from '../../src/auth/throttle.ts';
import { AuthenticationRequired, HttpError } from '../../src/errors.ts';
import { memoryLogger } from '../../src/log.ts';
import { webPlatform } from '../../src/platform.ts';
import { basicAuth, fakeClock, request } from './_helpers.ts';

function setup(env: Record<string, string> = {}) {
  const clock = fakeClock();
  const logger = memoryLogger();
  const identity = identityFromEnv(env, {
    domain: 'example.com',
    platform: { ...webPlatform, now: clock.now },
    logger,
  });
  const sleeps: number[] = [];
  const auth = createAuthenticator({
    schemes: identity.schemes,
    throttle: new FailureThrottle(identity.throttle, clock.now),
    logger,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return { clock, logger, auth, sleeps };
}

async function statusOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    if (err instanceof AuthenticationRequired) return 'ccmp-424';
    throw err;
  }
}

describe('throttling and lockout', () => {
  it('uses the thresholds from AUTH_THROTTLE_*, logs failures and the lockout', async () => {
    const { auth, logger, sleeps } = setup({
      AUTH_THROTTLE_FREE: '1',
      AUTH_THROTTLE_LOCKOUT: '3',
      AUTH_THROTTLE_WINDOW_S: '60',
      AUTH_THROTTLE_LOCKOUT_S: '120',
    });
    const wrong = () => auth.authenticate(request(basicAuth('bob', 'guess')));
    expect(await statusOf(wrong())).toBe(401);
    expect(await statusOf(wrong())).toBe(401);
    expect(await statusOf(wrong())).toBe(401);
    expect(sleeps).toEqual([250, 250]);
    const failed = logger.records.filter((r) => r.event === 'auth.failed');
    expect(failed.map((r) => [r.level, r.fields.lockedOut])).toEqual([
      ['info', false],
      ['info', false],
      ['warn', true],
    ]);
    expect(failed[0]?.fields).toMatchObject({ scheme: 'basic', user: 'bob', client: '192.0.2.10' });
    expect(JSON.stringify(logger.records)).not.toContain('guess');

    let locked: unknown;
    try {
      await auth.authenticate(request(basicAuth('bob', 'bob')));
    } catch (err) {
      locked = err;
    }
    expect(locked).toBeInstanceOf(HttpError);
    expect((locked as HttpError).status).toBe(429);
    expect((locked as HttpError).headers).toContainEqual(['Retry-After', '120']);
    expect(logger.records.some((r) => r.event === 'auth.locked_out')).toBe(true);
  });

  it('answers a locked-out user the same for right and wrong guesses', async () => {
    const { auth, clock } = setup({ AUTH_THROTTLE_LOCKOUT: '4' });
    for (let i = 0; i < 4; i++) {
      await statusOf(
        auth.authenticate(request(basicAuth('alice', `guess${i}`), { clientAddress: `198.51.100.${i}` })),
      );
    }
    const from = (address: string, password: string) =>
      statusOf(auth.authenticate(request(basicAuth('alice', password), { clientAddress: address })));
    expect(await from('203.0.113.1', 'alice')).toBe(429);
    expect(await from('203.0.113.2', 'wrong')).toBe(429);
    clock.advance(15 * 60_000 + 1);
    expect(await from('203.0.113.3', 'alice')).toBe('ok');
  });

  it('locks the user whatever name the guesses used: login, XCON-USERID or SIP URI', async () => {
    const { auth } = setup({ AUTH_THROTTLE_LOCKOUT: '4' });
    for (let i = 0; i < 4; i++) {
      await statusOf(
        auth.authenticate(request(basicAuth('Alice', `guess${i}`), { clientAddress: `198.51.100.${i}` })),
      );
    }
    const right = request(
      {},
      {
        clientAddress: '203.0.113.9',
        subject: { username: 'xcon-userid:alice@example.com', password: 'alice' },
      },
    );
    expect(await statusOf(auth.authenticate(right))).toBe('ccmp-424');
    expect(await statusOf(auth.authenticate(request(basicAuth('bob', 'bob'))))).toBe('ok');
  });

  it('locks out a client that tries many users', async () => {
    const { auth } = setup();
    for (let i = 0; i < 10; i++) await statusOf(auth.authenticate(request(basicAuth(`user${i}`, 'x'))));
    expect(await statusOf(auth.authenticate(request(basicAuth('alice', 'alice'))))).toBe(429);
    expect(
      await statusOf(
        auth.authenticate(request(basicAuth('alice', 'alice'), { clientAddress: '192.0.2.99' })),
      ),
    ).toBe('ok');
  });
});

describe('challenges', () => {
  it('answers missing credentials with one challenge per HTTP scheme, strongest first', async () => {
    const { auth } = setup({ CCMP_AUTH_SCHEMES: 'subject,basic,digest' });
    let err: unknown;
    try {
      await auth.authenticate(request());
    } catch (e) {
      err = e;
    }
    const challenges = (err as HttpError).headers.map(([, v]) => v.split(' ')[0]);
    expect((err as HttpError).status).toBe(401);
    expect(challenges).toEqual(['Digest', 'Digest', 'Basic']);
  });

  it('answers CCMP 424 when only <subject> is enabled', async () => {
    const logger = memoryLogger();
    const auth = createAuthenticator({
      schemes: [subjectScheme(demoDirectory())],
      throttle: new FailureThrottle({}, Date.now),
      logger,
    });
    expect(await statusOf(auth.authenticate(request()))).toBe('ccmp-424');
    expect(basicScheme(demoDirectory(), 'r').challenge?.()).toBe('Basic realm="r", charset="UTF-8"');
  });
});
