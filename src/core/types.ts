/** @module Shared types of the gateway core: configuration, dependencies, request context. */
import type { Connector } from '../../connectors/types.ts';
import type { Principal, Directory } from '../auth/types.ts';
import type { FailureThrottle, ThrottleOptions } from '../auth/throttle.ts';
import type { CcmpRequest } from '../ccmp/messages.ts';
import type { Logger } from '../log.ts';
import type { Platform } from '../platform.ts';
import type { ConferenceStore } from '../store/types.ts';
import type { KeyedMutex } from '../util/keyed-mutex.ts';
import type { Extension } from './extensions.ts';

export interface Limits {
  /** Conferences (and sidebars) stored in all. */
  maxConferences: number;
  /** Conferences one user may own. */
  maxConferencesPerUser: number;
  /** Users (and invitees) in one conference. */
  maxUsersPerConference: number;
  maxSidebarsPerConference: number;
  /** Most entries in one confsResponse or blueprintsResponse. */
  maxListEntries: number;
}

export interface CoreConfig {
  /** The main domain: new XCON-URIs and XCON-USERIDs are allocated in it. */
  domain: string;
  /** Every domain this server is responsible for (lower case), the main one included. */
  domains: ReadonlySet<string>;
  /** Longest time a backend call may take before the request is answered with 510. */
  backendTimeoutMs: number;
  limits: Limits;
  passwordThrottle: Partial<ThrottleOptions>;
}

export interface Deps {
  config: CoreConfig;
  store: ConferenceStore;
  directory: Directory;
  connectors: ReadonlyMap<string, Connector>;
  defaultConnector: Connector;
  extensions: ReadonlyMap<string, Extension>;
  platform: Platform;
  logger: Logger;
  mutex: KeyedMutex;
  passwordThrottle: FailureThrottle;
}

export interface Ctx {
  deps: Deps;
  request: CcmpRequest;
  principal: Principal;
  /** The requester's XCON-USERID, lower case. */
  userId: string;
  isAdmin: boolean;
  clientAddress: string;
  requestId: string;
  /** Version from an If-Match header, for optimistic concurrency. */
  ifMatch?: number;
}
