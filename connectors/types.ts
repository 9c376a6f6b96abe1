/**
 * @module The connector contract.
 *
 * A connector turns the gateway's neutral conference model into calls on one conferencing backend.
 * It never sees XML or CCMP response codes: it throws ConnectorError with a kind, and the core maps
 * kinds to protocol codes. Required methods cover the conference lifecycle; the optional ones are
 * capabilities, and the core answers 501 (Not Implemented) when a request needs one that is absent.
 */

export type ConnectorErrorKind =
  'not_found' | 'conflict' | 'invalid' | 'unsupported' | 'unavailable' | 'timeout' | 'limit' | 'forbidden';

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  constructor(
    readonly connector: string,
    readonly kind: ConnectorErrorKind,
    /** Safe to show to clients: says what failed, never backend internals. */
    readonly publicMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`${connector}: ${publicMessage}`, options);
  }
}

export type MediaStatus = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface MediaSpec {
  label: string;
  /** audio, video, text, or another RFC 4575 media type. */
  type: string;
  status: MediaStatus;
  displayText?: string;
}

export type JoinMethod = 'dial-in' | 'dial-out' | 'refer';

export interface ParticipantSpec {
  /** The participant's XCON-USERID, lower case. */
  userId: string;
  /** Signalling address (SIP AOR) when known. */
  sipUri?: string;
  displayName?: string;
  /** Conference roles: organizer, moderator, participant, observer, ... */
  roles: string[];
  method: JoinMethod;
  /** Backend account IDs from the identity mappings, by connector name. */
  accounts?: Record<string, string>;
}

export interface ScheduleSpec {
  /** ISO 8601 UTC start; absent for an immediate ("now") conference. */
  start?: string;
  /** ISO 8601 UTC end, when the schedule gives one. */
  end?: string;
  durationMinutes?: number;
  /** Recurrence rule (RFC 5545 RRULE value), when recurring. */
  rrule?: string;
  /** The iCalendar text the client sent, for backends that store it. */
  ical?: string;
}

/** A conference as the backend needs to know it. */
export interface ConferenceSpec {
  /** The XCON-URI of the conference object. */
  uri: string;
  kind: 'conference' | 'sidebar';
  parentUri?: string;
  subject?: string;
  description?: string;
  displayText?: string;
  /** XCON-USERID of the organizer. */
  organizer?: string;
  schedule?: ScheduleSpec;
  media: MediaSpec[];
  participants: ParticipantSpec[];
  maxParticipants?: number;
  locked?: boolean;
  /** Conference PIN, for backends that enforce it themselves (dial-in from phones). */
  password?: string;
}

/** What the gateway keeps to address a conference on its backend. */
export interface ConferenceHandle {
  backendId: string;
  /** The one URI participants dial (becomes conf-uris). */
  joinUri: string;
}

/** Per-participant media state, e.g. to mute (status recvonly or inactive for audio). */
export interface ParticipantMedia {
  id: string;
  type?: string;
  label?: string;
  status: MediaStatus;
}

/** A conference that exists on the backend, possibly created outside the gateway. */
export interface BackendConference {
  handle: ConferenceHandle;
  spec: Omit<ConferenceSpec, 'uri' | 'kind'> & { uri?: string };
}

export interface ConnectorCapabilities {
  sidebars: boolean;
  participantMedia: boolean;
  /** Can list and read conferences it did not create. */
  listing: boolean;
  /** Runs on Cloudflare Workers (no Node-only drivers). */
  edge: boolean;
}

export interface Connector {
  readonly name: string;
  readonly capabilities: ConnectorCapabilities;
  createConference(spec: ConferenceSpec): Promise<ConferenceHandle>;
  updateConference(handle: ConferenceHandle, spec: ConferenceSpec): Promise<ConferenceHandle>;
  /** Removes the conference. Deleting one that is already gone is not an error. */
  deleteConference(handle: ConferenceHandle): Promise<void>;

  createSidebar?(parent: ConferenceHandle, spec: ConferenceSpec): Promise<ConferenceHandle>;
  setParticipantMedia?(handle: ConferenceHandle, userId: string, media: ParticipantMedia[]): Promise<void>;
  listConferences?(): Promise<BackendConference[]>;
  getConference?(backendId: string): Promise<BackendConference | undefined>;
  /** Start-up check (reachability, schema). Throws with a message naming what is wrong. */
  check?(): Promise<void>;
  close?(): Promise<void>;
}
