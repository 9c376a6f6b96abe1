/**
 * @module The mock connector: an in-memory conferencing backend.
 *
 * It is the embedded default, so `npm start` works with no backend at all, and it is the reference
 * implementation of the connector contract: every capability, no external service. Failure
 * injection (`failNext`) lets tests exercise the core's error paths.
 */
import {
  ConnectorError,
  type BackendConference,
  type ConferenceHandle,
  type ConferenceSpec,
  type Connector,
  type ConnectorErrorKind,
  type ParticipantMedia,
} from './types.ts';

export interface MockConnectorOptions {
  /** Focus URI the join addresses are built on, e.g. `sip:conference-focus@example.com`. */
  focusUri?: string;
  /** Source of backend IDs; defaults to a counter, tests may pass something random. */
  newId?: () => string;
  /**
   * Take over conferences it does not hold (recreate them on update) instead of answering
   * not_found. The embedded default uses it: the mock forgets everything on restart while the
   * gateway's store does not.
   */
  adoptUnknown?: boolean;
}

export interface MockConnector extends Connector {
  /** The conferences the backend holds, by backend ID. */
  readonly conferences: Map<string, { spec: ConferenceSpec; media: Map<string, ParticipantMedia[]> }>;
  /** Makes the next call fail with this kind (failure injection for tests). */
  failNext(kind: ConnectorErrorKind, message?: string): void;
  /** Makes every call wait this long first (timeouts in tests). */
  delayMs: number;
}

export default function mockConnector(options: MockConnectorOptions = {}): MockConnector {
  const focus = options.focusUri ?? 'sip:conference-focus@example.com';
  let counter = 0;
  const newId = options.newId ?? (() => `mock-${(++counter).toString(36)}`);
  const conferences: MockConnector['conferences'] = new Map();
  let pending: { kind: ConnectorErrorKind; message: string } | undefined;

  const self: MockConnector = {
    name: 'mock',
    capabilities: { sidebars: true, participantMedia: true, listing: true, edge: true },
    conferences,
    delayMs: 0,
    failNext(kind, message = `injected ${kind} failure`) {
      pending = { kind, message };
    },

    async createConference(spec) {
      await enter();
      const backendId = newId();
      conferences.set(backendId, { spec: structuredClone(spec), media: new Map() });
      return handleFor(backendId);
    },

    async updateConference(handle, spec) {
      await enter();
      if (options.adoptUnknown && !conferences.has(handle.backendId)) {
        conferences.set(handle.backendId, { spec: structuredClone(spec), media: new Map() });
        return handle;
      }
      const found = existing(handle);
      found.spec = structuredClone(spec);
      return handle;
    },

    async deleteConference(handle) {
      await enter();
      conferences.delete(handle.backendId);
    },

    async createSidebar(parent, spec) {
      await enter();
      if (!options.adoptUnknown) existing(parent);
      return self.createConference(spec);
    },

    async setParticipantMedia(handle, userId, media) {
      await enter();
      if (options.adoptUnknown && !conferences.has(handle.backendId)) {
        throw new ConnectorError(
          'mock',
          'not_found',
          `conference ${handle.backendId} is not running here; update it first`,
        );
      }
      existing(handle).media.set(userId, structuredClone(media));
    },

    async listConferences() {
      await enter();
      return [...conferences.entries()].map(([id, c]): BackendConference => ({
        handle: handleFor(id),
        spec: c.spec,
      }));
    },

    async getConference(backendId) {
      await enter();
      const found = conferences.get(backendId);
      return found ? { handle: handleFor(backendId), spec: found.spec } : undefined;
    },
  };

  function handleFor(backendId: string): ConferenceHandle {
    return { backendId, joinUri: `${focus};conf-id=${backendId}` };
  }

  function existing(handle: ConferenceHandle) {
    const found = conferences.get(handle.backendId);
    if (!found)
      throw new ConnectorError('mock', 'not_found', `conference ${handle.backendId} does not exist`);
    return found;
  }

  async function enter(): Promise<void> {
    if (self.delayMs > 0) await new Promise((r) => setTimeout(r, self.delayMs));
    if (pending) {
      const failure = pending;
      pending = undefined;
      throw new ConnectorError('mock', failure.kind, failure.message);
    }
  }

  return self;
}
