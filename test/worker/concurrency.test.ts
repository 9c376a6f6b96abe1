/**
 * No lost update through the gateway on D1: parallel confRequest updates and userRequest creates on one
 * conference, through one Worker (one isolate: its per-conference queue serializes them) and through
 * several Worker handlers sharing the database (separate isolates: only D1's conditional writes in one
 * transaction keep them apart, and the losers get 409 with the current version).
 */
import { describe, expect, it } from 'vitest';
import worker, { createWorker } from '../../src/worker.ts';
import {
  confCreate,
  confRetrieve,
  confUpdateSubject,
  expectCode,
  send,
  subject,
  userCreateThirdParty,
  type Reply,
  type Target,
} from './_ccmp.ts';

const UPDATES = 40;

/** The versions of the accepted writes are exactly 2..(1 + accepted), each once. */
function expectGapless(accepted: Reply[]): void {
  const versions = accepted.map((a) => a.version ?? 0).sort((a, b) => a - b);
  expect(versions).toEqual(accepted.map((_, i) => i + 2));
}

async function createConference(target: Target): Promise<string> {
  const created = expectCode(await send(target, confCreate('alice', subject('subject 0'))), 200);
  expect(created.version).toBe(1);
  return created.confObjID ?? '';
}

async function parallelSubjectUpdates(pick: (i: number) => Target): Promise<Reply[]> {
  const uri = await createConference(pick(0));
  const subjects = Array.from({ length: UPDATES }, (_, i) => `subject ${i + 1}`);
  const answers = await Promise.all(
    subjects.map((s, i) => send(pick(i), confUpdateSubject('alice', uri, s))),
  );

  const accepted: Reply[] = [];
  answers.forEach((answer, i) => {
    if (answer.code === 200) {
      accepted.push(answer);
      // Each accepted answer shows the document as its own update left it.
      expect(answer.subject).toBe(subjects[i]);
    } else {
      expect(answer.code, answer.responseString).toBe(409);
      expect(answer.version).toBeGreaterThan(1);
    }
  });
  expect(accepted.length).toBeGreaterThan(0);
  expectGapless(accepted);

  const last = accepted.reduce((a, b) => ((a.version ?? 0) > (b.version ?? 0) ? a : b));
  const final = expectCode(await send(pick(1), confRetrieve('alice', uri)), 200);
  expect(final.version).toBe(1 + accepted.length);
  expect(final.subject).toBe(last.subject);
  return answers;
}

describe('parallel updates of one conference through the Worker', () => {
  it(`accepts all of ${UPDATES} updates in one isolate, versions +1 each`, async () => {
    const answers = await parallelSubjectUpdates(() => worker);
    expect(answers.filter((a) => a.code === 200)).toHaveLength(UPDATES);
  });

  it(`loses none of ${UPDATES} updates spread over four isolates`, async () => {
    const isolates = Array.from({ length: 4 }, () => createWorker());
    const answers = await parallelSubjectUpdates((i) => isolates[i % isolates.length]!);
    // Every isolate's in-process queue only covers its own requests: some writes had to lose.
    expect(answers.some((a) => a.code === 409)).toBe(true);
  });

  it('keeps every user added in parallel from four isolates, retrying on 409', async () => {
    const isolates = Array.from({ length: 4 }, () => createWorker());
    const uri = await createConference(isolates[0]!);
    const guests = Array.from({ length: 16 }, (_, i) => `sip:guest${i}@example.com`);
    let refused = 0;
    const added = await Promise.all(
      guests.map(async (guest, i) => {
        for (;;) {
          const answer = await send(isolates[i % 4]!, userCreateThirdParty('alice', uri, guest));
          if (answer.code !== 409) return expectCode(answer, 200);
          refused++;
        }
      }),
    );
    expectGapless(added);
    expect(refused).toBeGreaterThan(0);
    const final = expectCode(await send(isolates[1]!, confRetrieve('alice', uri)), 200);
    expect(final.version).toBe(1 + guests.length);
    const present = new Set(final.users);
    expect(added.map((a) => a.userInfoEntity).filter((u) => u === undefined || !present.has(u))).toEqual([]);
  });
});
