/**
 * No lost update under concurrency: many parallel writes to one conference, in process (memory and SQLite
 * stores) and through the real Node process over loopback. Every accepted update must get its own version,
 * the versions must have no gaps, and the final document must be the one of the last accepted update.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../../src/store/sqlite.ts';
import { memoryStore } from '../../src/store/memory.ts';
import {
  confCreate,
  confRetrieve,
  confUpdateSubject,
  killGateway,
  makeApp,
  post,
  postCcmp,
  readCcmpResponse,
  startGateway,
  userCreateThirdParty,
  type CcmpAnswer,
  type GatewayProcess,
} from './_support.ts';

const UPDATES = 100;
const USER_ADDS = 50;
/** CCMP answers a parallel write may get instead of 200 without anything being lost (409 Conflict, 510 Timeout). */
const REFUSALS = [409, 510];

/** Sends one CCMP request as alice and returns the parsed answer (HTTP 200 required). */
type Send = (body: string) => Promise<CcmpAnswer>;

async function createConference(send: Send, subject: string): Promise<string> {
  const created = await send(confCreate(subject));
  expect(created.code, created.responseString).toBe(200);
  expect(created.version).toBe(1);
  return created.confObjID!;
}

/** The versions of the accepted writes are exactly 2..(1 + accepted), each once. */
function expectGapless(accepted: CcmpAnswer[]): void {
  const versions = accepted.map((a) => a.version);
  expect(new Set(versions).size, `duplicate versions in ${versions.join(',')}`).toBe(versions.length);
  expect([...versions].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(accepted.map((_, i) => i + 2));
}

async function parallelSubjectUpdates(send: Send): Promise<void> {
  const id = await createConference(send, 'subject 0');
  const subjects = Array.from({ length: UPDATES }, (_, i) => `subject ${i + 1}`);
  const answers = await Promise.all(subjects.map((subject) => send(confUpdateSubject(id, subject))));

  const accepted: (CcmpAnswer & { sent: string })[] = [];
  answers.forEach((answer, i) => {
    if (answer.code === 200) accepted.push({ ...answer, sent: subjects[i]! });
    else
      expect(REFUSALS, `update ${i}: ${answer.code} ${answer.responseString ?? ''}`).toContain(answer.code);
  });
  expect(accepted.length).toBeGreaterThan(0);
  expectGapless(accepted);
  // Each accepted answer shows the document as its own update left it.
  for (const a of accepted) expect(a.subject).toBe(a.sent);

  const last = accepted.reduce((a, b) => ((a.version ?? 0) > (b.version ?? 0) ? a : b));
  const final = await send(confRetrieve(id));
  expect(final.code).toBe(200);
  expect(final.version).toBe(1 + accepted.length);
  expect(final.subject).toBe(last.sent);
}

async function parallelUserAdds(send: Send): Promise<void> {
  const id = await createConference(send, 'many guests');
  const uris = Array.from({ length: USER_ADDS }, (_, i) => `sip:guest${i}@example.com`);
  const answers = await Promise.all(uris.map((uri) => send(userCreateThirdParty(id, uri))));
  for (const [i, answer] of answers.entries()) {
    expect(answer.code, `add ${uris[i]!}: ${answer.responseString ?? ''}`).toBe(200);
    expect(answer.userInfoEntity).toMatch(/^xcon-userid:/);
  }
  expectGapless(answers);
  const allocated = answers.map((a) => a.userInfoEntity!.toLowerCase());
  expect(new Set(allocated).size).toBe(USER_ADDS);

  const final = await send(confRetrieve(id));
  expect(final.code).toBe(200);
  expect(final.version).toBe(1 + USER_ADDS);
  const present = new Set(final.users.map((u) => u.toLowerCase()));
  expect(allocated.filter((u) => !present.has(u))).toEqual([]);
}

describe.each([
  ['memory', () => memoryStore()],
  ['SQLite', () => sqliteStore({ path: ':memory:' })],
])('in process, %s store', (_name, store) => {
  let send: Send;
  beforeAll(async () => {
    const app = await makeApp({ store: store() });
    send = async (body) => {
      const res = await post(app, body);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      return readCcmpResponse(text);
    };
  });

  it(`loses none of ${UPDATES} parallel conference updates`, () => parallelSubjectUpdates(send));
  it(`keeps all of ${USER_ADDS} parallel user adds`, () => parallelUserAdds(send));
});

describe('real Node process over loopback', () => {
  let dataDir: string;
  let proc: GatewayProcess | undefined;
  let send: Send;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ccmp-concurrency-'));
    const started = await startGateway(dataDir);
    proc = started;
    send = async (body) => {
      const res = await postCcmp(started.port, body);
      expect(res.status, res.body).toBe(200);
      return readCcmpResponse(res.body);
    };
  });

  afterAll(async () => {
    await killGateway(proc);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`loses none of ${UPDATES} parallel conference updates`, () => parallelSubjectUpdates(send), 60_000);
  it(`keeps all of ${USER_ADDS} parallel user adds`, () => parallelUserAdds(send), 60_000);
});
