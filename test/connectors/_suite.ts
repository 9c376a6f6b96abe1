/**
 * @module The connector contract suite, run against every connector.
 *
 * It checks what the gateway core relies on, whatever the backend: the conference lifecycle, the
 * error kinds, that reading back gives what was written, and that optional capabilities are either
 * really there (and flagged) or absent, never stubbed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectorError,
  type ConferenceHandle,
  type ConferenceSpec,
  type Connector,
  type ConnectorErrorKind,
} from '../../connectors/types.ts';

export interface ContractSetup {
  connector: Connector;
  teardown?: () => Promise<void>;
}

let counter = 0;

/** A scheduled conference as the core derives it from a Linphone create request. */
export function sampleSpec(overrides: Partial<ConferenceSpec> = {}): ConferenceSpec {
  const n = `${Date.now().toString(36)}${(++counter).toString(36)}`;
  return {
    uri: `xcon:contract-${n}@example.com`,
    kind: 'conference',
    subject: `Weekly sync ${n}`,
    description: 'Agenda: roadmap & budget',
    organizer: 'xcon-userid:marie@example.com',
    schedule: { start: '2030-07-01T09:00:00Z', durationMinutes: 60 },
    media: [
      { label: 'audio', type: 'audio', status: 'sendrecv' },
      { label: 'video', type: 'video', status: 'sendrecv' },
      { label: 'text', type: 'text', status: 'inactive' },
    ],
    participants: [
      {
        userId: 'xcon-userid:marie@example.com',
        sipUri: 'sip:marie@example.com',
        roles: ['organizer'],
        method: 'dial-in',
      },
      {
        userId: 'xcon-userid:pauline@example.com',
        sipUri: 'sip:pauline@example.com',
        roles: ['participant'],
        method: 'dial-in',
      },
      {
        userId: 'xcon-userid:laure@example.com',
        sipUri: 'sip:laure@example.com',
        roles: ['participant'],
        method: 'dial-in',
      },
    ],
    ...overrides,
  };
}

async function expectKind(promise: Promise<unknown>, kind: ConnectorErrorKind): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ConnectorError of kind ${kind}`).toBeInstanceOf(ConnectorError);
  expect((err as ConnectorError).kind).toBe(kind);
}

const people = (spec: Pick<ConferenceSpec, 'participants'>) =>
  spec.participants.map((p) => `${p.userId.toLowerCase()} ${p.sipUri ?? ''}`).sort();

const instant = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

export function describeConnectorContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`connector contract: ${name}`, () => {
    let connector: Connector;
    let teardown: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      ({ connector, teardown } = await setup());
    }, 60_000);

    afterAll(async () => {
      await connector?.close?.();
      await teardown?.();
    }, 60_000);

    /** A handle that was valid for this backend and is not any more. */
    async function goneHandle(): Promise<ConferenceHandle> {
      const handle = await connector.createConference(sampleSpec());
      await connector.deleteConference(handle);
      return handle;
    }

    it('has a name and boolean capability flags', () => {
      expect(connector.name).toMatch(/\S/);
      for (const flag of ['sidebars', 'participantMedia', 'listing', 'edge'] as const) {
        expect(typeof connector.capabilities[flag], flag).toBe('boolean');
      }
    });

    it('passes its own start-up check', async () => {
      await connector.check?.();
    });

    it('creates a conference with a backend ID and a URI to dial', async () => {
      const handle = await connector.createConference(sampleSpec());
      expect(handle.backendId).toMatch(/\S/);
      expect(handle.joinUri).toMatch(/^[a-z][a-z0-9+.-]*:\S+$/i);
      await connector.deleteConference(handle);
    });

    it('gives every conference its own backend ID and URI', async () => {
      const a = await connector.createConference(sampleSpec());
      const b = await connector.createConference(sampleSpec());
      expect(a.backendId).not.toBe(b.backendId);
      expect(a.joinUri).not.toBe(b.joinUri);
      await connector.deleteConference(a);
      await connector.deleteConference(b);
    });

    it('updates in place, keeping the backend ID and URI', async () => {
      const handle = await connector.createConference(sampleSpec());
      const changed = sampleSpec({
        subject: 'Weekly sync (moved)',
        schedule: { start: '2030-07-02T10:30:00Z', durationMinutes: 45 },
      });
      const updated = await connector.updateConference(handle, changed);
      expect(updated.backendId).toBe(handle.backendId);
      expect(updated.joinUri).toBe(handle.joinUri);
      if (connector.getConference) {
        const read = await connector.getConference(handle.backendId);
        expect(read?.spec.subject).toBe('Weekly sync (moved)');
        expect(instant(read?.spec.schedule?.start)).toBe(Date.parse('2030-07-02T10:30:00Z'));
        expect(read?.spec.schedule?.durationMinutes).toBe(45);
      }
      await connector.deleteConference(handle);
    });

    it('deletes a conference', async () => {
      const handle = await connector.createConference(sampleSpec());
      await connector.deleteConference(handle);
      if (connector.getConference) expect(await connector.getConference(handle.backendId)).toBeUndefined();
      if (connector.listConferences) {
        const ids = (await connector.listConferences()).map((c) => c.handle.backendId);
        expect(ids).not.toContain(handle.backendId);
      }
    });

    it('treats deleting an already deleted conference as success', async () => {
      const handle = await goneHandle();
      await expect(connector.deleteConference(handle)).resolves.toBeUndefined();
    });

    it('answers not_found when updating a conference that does not exist', async () => {
      await expectKind(connector.updateConference(await goneHandle(), sampleSpec()), 'not_found');
    });

    it('reads back participants, organizer, schedule and subject', async (ctx) => {
      if (!connector.getConference) return ctx.skip();
      const spec = sampleSpec();
      const handle = await connector.createConference(spec);
      const read = await connector.getConference(handle.backendId);
      expect(read?.handle).toEqual(handle);
      expect(read?.spec.subject).toBe(spec.subject);
      expect(read?.spec.description).toBe(spec.description);
      expect(read?.spec.organizer?.toLowerCase()).toBe(spec.organizer);
      expect(people(read!.spec)).toEqual(people(spec));
      const organizer = read!.spec.participants.find((p) => p.userId.toLowerCase() === spec.organizer);
      expect(organizer?.roles).toContain('organizer');
      expect(instant(read?.spec.schedule?.start)).toBe(Date.parse(spec.schedule!.start!));
      expect(read?.spec.schedule?.durationMinutes).toBe(spec.schedule!.durationMinutes);
      await connector.deleteConference(handle);
    });

    it('reads back an immediate conference without a start', async (ctx) => {
      if (!connector.getConference) return ctx.skip();
      const handle = await connector.createConference(sampleSpec({ schedule: { durationMinutes: 30 } }));
      const read = await connector.getConference(handle.backendId);
      expect(read).toBeDefined();
      expect(read?.spec.schedule?.start).toBeUndefined();
      await connector.deleteConference(handle);
    });

    it('reads back an invitee list changed by an update', async (ctx) => {
      if (!connector.getConference) return ctx.skip();
      const spec = sampleSpec();
      const handle = await connector.createConference(spec);
      const changed = sampleSpec({
        participants: [
          spec.participants[0]!,
          spec.participants[1]!,
          {
            userId: 'xcon-userid:michelle@example.com',
            sipUri: 'sip:michelle@example.com',
            roles: ['participant'],
            method: 'dial-in',
          },
        ],
      });
      await connector.updateConference(handle, changed);
      const read = await connector.getConference(handle.backendId);
      expect(people(read!.spec)).toEqual(people(changed));
      await connector.deleteConference(handle);
    });

    it('answers undefined for an unknown conference', async (ctx) => {
      if (!connector.getConference) return ctx.skip();
      expect(await connector.getConference((await goneHandle()).backendId)).toBeUndefined();
    });

    it('lists the conferences it holds', async (ctx) => {
      if (!connector.listConferences) return ctx.skip();
      const spec = sampleSpec();
      const handle = await connector.createConference(spec);
      const listed = (await connector.listConferences()).find((c) => c.handle.backendId === handle.backendId);
      expect(listed?.handle.joinUri).toBe(handle.joinUri);
      expect(listed?.spec.subject).toBe(spec.subject);
      await connector.deleteConference(handle);
    });

    it('can read what it lists when it claims listing', () => {
      if (!connector.capabilities.listing) return;
      expect(typeof connector.listConferences).toBe('function');
      expect(typeof connector.getConference).toBe('function');
    });

    it('has createSidebar exactly when it claims sidebars', () => {
      expect(typeof connector.createSidebar === 'function').toBe(connector.capabilities.sidebars);
      if (!connector.capabilities.sidebars) expect('createSidebar' in connector).toBe(false);
    });

    it('has setParticipantMedia exactly when it claims participant media', () => {
      expect(typeof connector.setParticipantMedia === 'function').toBe(
        connector.capabilities.participantMedia,
      );
      if (!connector.capabilities.participantMedia) expect('setParticipantMedia' in connector).toBe(false);
    });

    it('creates a sidebar of a conference', async (ctx) => {
      if (!connector.createSidebar) return ctx.skip();
      const parentSpec = sampleSpec();
      const parent = await connector.createConference(parentSpec);
      const sidebar = await connector.createSidebar(
        parent,
        sampleSpec({
          kind: 'sidebar',
          parentUri: parentSpec.uri,
          participants: parentSpec.participants.slice(0, 2),
        }),
      );
      expect(sidebar.backendId).toMatch(/\S/);
      expect(sidebar.backendId).not.toBe(parent.backendId);
      await connector.deleteConference(sidebar);
      await connector.deleteConference(parent);
      await expectKind(connector.createSidebar(parent, sampleSpec({ kind: 'sidebar' })), 'not_found');
    });

    it('sets a participant’s media', async (ctx) => {
      if (!connector.setParticipantMedia) return ctx.skip();
      const spec = sampleSpec();
      const handle = await connector.createConference(spec);
      const userId = spec.participants[1]!.userId;
      await connector.setParticipantMedia(handle, userId, [{ id: '1', type: 'audio', status: 'recvonly' }]);
      await connector.deleteConference(handle);
      await expectKind(
        connector.setParticipantMedia(handle, userId, [{ id: '1', type: 'audio', status: 'sendrecv' }]),
        'not_found',
      );
    });
  });
}
