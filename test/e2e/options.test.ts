/** @module optionsRequest end to end: the operations each message supports, and registered extensions. */
import { describe, expect, it } from 'vitest';
import mockConnector from '../../connectors/mock.ts';
import {
  ALICE,
  BOB,
  all,
  expectCode,
  one,
  summaryExtension,
  testGateway,
  text,
  type Reply,
  withoutSidebars,
} from './_harness.ts';

function operationsOf(reply: Reply): Map<string, string[]> {
  const list = one(reply.payload('options'), 'standard-message-list');
  const out = new Map<string, string[]>();
  for (const message of all(list, 'standard-message')) {
    out.set(
      text(message, 'name') ?? '',
      all(message, 'operations/operation').map((o) => text(o) ?? ''),
    );
  }
  return out;
}

describe('optionsRequest', () => {
  it('lists every standard message with its operations', async () => {
    const gw = testGateway();
    const reply = expectCode(await gw.ccmp('bob', { type: 'options' }), 200);
    expect(reply.xsiType).toBe('ccmp-options-response-message-type');
    expect(reply.confUserID).toBe(BOB);
    expect(reply.operation).toBeUndefined();
    expect(reply.confObjID).toBeUndefined();
    const ops = operationsOf(reply);
    expect([...ops.keys()].sort()).toEqual(
      [
        'blueprintRequest',
        'blueprintsRequest',
        'confRequest',
        'confsRequest',
        'sidebarByRefRequest',
        'sidebarByValRequest',
        'sidebarsByRefRequest',
        'sidebarsByValRequest',
        'userRequest',
        'usersRequest',
      ].sort(),
    );
    expect(ops.get('blueprintsRequest')).toEqual(['retrieve']);
    expect(ops.get('blueprintRequest')).toEqual(['retrieve']);
    expect(ops.get('confsRequest')).toEqual(['retrieve']);
    expect(ops.get('confRequest')).toEqual(['retrieve', 'create', 'update', 'delete']);
    expect(ops.get('usersRequest')).toEqual(['retrieve', 'update']);
    expect(ops.get('userRequest')).toEqual(['retrieve', 'create', 'update', 'delete']);
    expect(ops.get('sidebarsByValRequest')).toEqual(['retrieve']);
    expect(ops.get('sidebarByRefRequest')).toEqual(['retrieve', 'create', 'update', 'delete']);
    // No extension registered: no extended-message-list.
    expect(one(reply.payload('options'), 'extended-message-list')).toBeUndefined();
  });

  it('shows blueprint create, update and delete to the administrator only', async () => {
    const gw = testGateway();
    const reply = expectCode(await gw.ccmp('alice', { type: 'options' }), 200);
    expect(reply.confUserID).toBe(ALICE);
    expect(operationsOf(reply).get('blueprintRequest')).toEqual(['retrieve', 'create', 'update', 'delete']);
  });

  it('advertises an extension registered through createGateway({ extensions }) with its schema-def', async () => {
    const gw = testGateway({ extensions: [summaryExtension] });
    const reply = expectCode(await gw.ccmp('bob', { type: 'options' }), 200);
    const messages = all(reply.payload('options'), 'extended-message-list/extended-message');
    expect(messages).toHaveLength(1);
    expect(text(messages[0], 'name')).toBe('confSummaryRequest');
    expect(text(messages[0], 'schema-def')).toBe('http://example.com/ccmp-extension-schema.xsd');
    expect(all(messages[0], 'operations/operation').map((o) => text(o))).toEqual(['retrieve']);
    expect(text(messages[0], 'description')).toBe('a short summary of a conference');
  });

  it('leaves out sidebar create when the backend cannot create sidebars', async () => {
    const limited = testGateway({ connectors: [withoutSidebars(mockConnector())] });
    const ops = operationsOf(expectCode(await limited.ccmp('bob', { type: 'options' }), 200));
    expect(ops.get('sidebarByValRequest')).toEqual(['retrieve', 'update', 'delete']);
    expect(ops.get('sidebarByRefRequest')).toEqual(['retrieve', 'update', 'delete']);
  });
});
