import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { demoDirectory } from '../../src/auth/demo-directory.ts';
import { digestResponse, digestSchemes } from '../../src/auth/digest.ts';
import { parseHa1File, withHa1Table } from '../../src/auth/ha1.ts';
import type { AuthScheme } from '../../src/auth/types.ts';
import { HttpError } from '../../src/errors.ts';
import { fakeClock, request } from './_helpers.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('digestResponse', () => {
  // RFC 7616 §3.9.1.
  const vector = {
    ha1: '',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    qop: 'auth',
    method: 'GET',
    uri: '/dir/index.html',
  };
  const a1 = 'Mufasa:http-auth@example.org:Circle of Life';

  it('matches the RFC 7616 MD5 example', () => {
    expect(digestResponse({ ...vector, algorithm: 'MD5', ha1: md5(a1) })).toBe(
      '8ca523f5e9506fed4657c9700eebdbec',
    );
  });

  it('matches the RFC 7616 SHA-256 example', () => {
    expect(digestResponse({ ...vector, algorithm: 'SHA-256', ha1: sha256(a1) })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });
});

/** What a client does with a challenge, computed here from scratch. */
function answer(
  challenge: string,
  o: {
    user: string;
    password: string;
    nc?: number;
    uri?: string;
    method?: string;
    cnonce?: string;
    realm?: string;
  },
): string {
  const field = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? '';
  const algorithm = field('algorithm');
  const h = algorithm === 'SHA-256' ? sha256 : md5;
  const realm = o.realm ?? field('realm');
  const nonce = field('nonce');
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = o.cnonce ?? 'c0ffee';
  const uri = o.uri ?? '/xml/';
  const ha1 = h(`${o.user}:${realm}:${o.password}`);
  const response = h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${h(`${o.method ?? 'POST'}:${uri}`)}`);
  return (
    `Digest username="${o.user}", realm="${realm}", nonce="${nonce}", uri="${uri}", algorithm=${algorithm}, ` +
    `response="${response}", qop=auth, nc=${nc}, cnonce="${cnonce}", opaque="${field('opaque')}"`
  );
}

function setup() {
  const clock = fakeClock();
  // alice's HA1s for both algorithms; bob's for MD5 only.
  const file = [
    '# user:realm:ha1',
    `alice:sip.example.org:${md5('alice:sip.example.org:alice')}`,
    `alice:sip.example.org:${sha256('alice:sip.example.org:alice')}`,
    `bob:sip.example.org:${md5('bob:sip.example.org:bob')}`,
  ].join('\n');
  const directory = withHa1Table(demoDirectory('sip.example.org'), parseHa1File(file, 'ha1.txt'));
  const schemes = digestSchemes({
    directory,
    realm: 'sip.example.org',
    now: clock.now,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
  });
  const challenge = (algorithm: 'MD5' | 'SHA-256') => {
    const s = schemes.find((x) => (x.challenge?.() as string).includes(`algorithm=${algorithm}`));
    return s?.challenge?.() as string;
  };
  const run = async (authorization: string, extra: Parameters<typeof request>[1] = {}) => {
    for (const s of schemes) {
      const outcome = await s.authenticate(request({ authorization }, extra));
      if (outcome.status !== 'absent') return outcome;
    }
    return { status: 'absent' as const };
  };
  return { clock, schemes, challenge, run };
}

async function staleOf(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected a stale 401');
}

describe('digestSchemes', () => {
  it('offers one challenge per algorithm, SHA-256 first, with the SIP realm and qop=auth', () => {
    const { schemes } = setup();
    const challenges = schemes.map((s: AuthScheme) => s.challenge?.() as string);
    expect(challenges).toHaveLength(2);
    expect(challenges[0]).toMatch(
      /^Digest realm="sip\.example\.org", qop="auth", algorithm=SHA-256, nonce="[\w-]+", opaque="[\w-]+"$/,
    );
    expect(challenges[1]).toContain('algorithm=MD5');
  });

  it.each(['MD5', 'SHA-256'] as const)(
    'accepts a right %s answer and gives the directory principal',
    async (algorithm) => {
      const { challenge, run } = setup();
      const outcome = await run(answer(challenge(algorithm), { user: 'alice', password: 'alice' }));
      expect(outcome).toMatchObject({
        status: 'authenticated',
        scheme: 'digest',
        principal: { userId: 'xcon-userid:alice@sip.example.org', systemRoles: ['administrator'] },
      });
    },
  );

  it('refuses a wrong password, naming the user for the throttle', async () => {
    const { challenge, run } = setup();
    expect(await run(answer(challenge('MD5'), { user: 'alice', password: 'guess' }))).toEqual({
      status: 'rejected',
      scheme: 'digest',
      reason: 'wrong username or password',
      user: 'alice',
    });
  });

  it('refuses an algorithm the user has no HA1 for', async () => {
    const { challenge, run } = setup();
    expect(await run(answer(challenge('SHA-256'), { user: 'bob', password: 'bob' }))).toMatchObject({
      status: 'rejected',
    });
    expect(await run(answer(challenge('MD5'), { user: 'bob', password: 'bob' }))).toMatchObject({
      status: 'authenticated',
    });
  });

  it('accepts increasing nonce counts and refuses a replayed one with stale=true', async () => {
    const { challenge, run } = setup();
    const c = challenge('MD5');
    expect((await run(answer(c, { user: 'alice', password: 'alice', nc: 1 }))).status).toBe('authenticated');
    expect((await run(answer(c, { user: 'alice', password: 'alice', nc: 2 }))).status).toBe('authenticated');
    const replay = await staleOf(run(answer(c, { user: 'alice', password: 'alice', nc: 2 })));
    expect(replay.status).toBe(401);
    const headers = replay.headers.filter(([n]) => n === 'WWW-Authenticate').map(([, v]) => v);
    expect(headers).toHaveLength(2);
    expect(headers.every((h) => h.endsWith('stale=true'))).toBe(true);
  });

  it('accepts a count that arrives late but was never used (concurrent requests)', async () => {
    const { challenge, run } = setup();
    const c = challenge('MD5');
    expect((await run(answer(c, { user: 'alice', password: 'alice', nc: 5 }))).status).toBe('authenticated');
    expect((await run(answer(c, { user: 'alice', password: 'alice', nc: 4 }))).status).toBe('authenticated');
    await expect(run(answer(c, { user: 'alice', password: 'alice', nc: 4 }))).rejects.toBeInstanceOf(
      HttpError,
    );
  });

  it('answers stale=true to a right answer with an expired nonce', async () => {
    const { clock, challenge, run } = setup();
    const c = challenge('SHA-256');
    clock.advance(301_000);
    const stale = await staleOf(run(answer(c, { user: 'alice', password: 'alice' })));
    expect(stale.headers[0]?.[1]).toMatch(/stale=true$/);
    // ...and counts a wrong answer with an expired nonce as a failed login.
    expect(await run(answer(c, { user: 'alice', password: 'nope', nc: 2 }))).toMatchObject({
      status: 'rejected',
    });
  });

  it('answers stale=true to a nonce it did not issue (another instance, a restart, a forgery)', async () => {
    const { challenge, run } = setup();
    const forged = challenge('MD5').replace(
      /nonce="[^"]+"/,
      `nonce="${Buffer.alloc(36, 7).toString('base64url')}"`,
    );
    await expect(run(answer(forged, { user: 'alice', password: 'alice' }))).rejects.toBeInstanceOf(HttpError);
  });

  it('checks realm, uri, qop and nc', async () => {
    const { challenge, run } = setup();
    const c = challenge('MD5');
    const good = answer(c, { user: 'alice', password: 'alice' });
    expect(await run(answer(c, { user: 'alice', password: 'alice', realm: 'other' }))).toMatchObject({
      reason: 'Digest realm must be "sip.example.org"',
    });
    expect(await run(good, { url: '/other/' })).toMatchObject({
      reason: 'Digest uri does not match the request',
    });
    expect(await run(good.replace('qop=auth', 'qop=auth-int'))).toMatchObject({
      reason: 'Digest qop must be auth',
    });
    expect(await run(good.replace('nc=00000001', 'nc=00000000'))).toMatchObject({ status: 'rejected' });
    expect(await run('Digest username="alice", realm=')).toMatchObject({
      reason: 'malformed Digest credentials',
    });
    expect(await run(good.replace('algorithm=MD5', 'algorithm=MD5-sess'))).toMatchObject({
      reason: 'Digest algorithm MD5-SESS is not offered',
    });
  });

  it('accepts an absolute-form uri naming the same target, and username* (RFC 8187)', async () => {
    const { challenge, run } = setup();
    const c = challenge('MD5');
    const absolute = answer(c, { user: 'alice', password: 'alice', uri: 'http://sip.example.org:3333/xml/' });
    expect((await run(absolute)).status).toBe('authenticated');
    const extended = answer(c, { user: 'alice', password: 'alice', nc: 2 }).replace(
      'username="alice"',
      "username*=UTF-8''alice",
    );
    expect((await run(extended)).status).toBe('authenticated');
  });

  it('ignores other schemes', async () => {
    const { run } = setup();
    expect(await run('Basic YWxpY2U6YWxpY2U=')).toEqual({ status: 'absent' });
  });
});

describe('parseHa1File', () => {
  it('names the file and line of a bad entry', () => {
    expect(() => parseHa1File('alice:realm:abc', 'ha1.txt')).toThrow(/^ha1\.txt:1: expected user:realm:ha1/);
  });
});
