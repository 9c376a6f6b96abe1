/**
 * @module The Flexisip conference server connector.
 *
 * It schedules conferences the way Belledonne's own CCMP server appears to: by writing rows into the
 * conference server's liblinphone database (SQLite or MySQL/MariaDB). When a participant calls
 * `<focus URI>;conf-id=<id>`, the server finds the row, builds the conference and lets the call in.
 * Scheduling only: the server offers no sidebars and no per-participant media control through its
 * database. It also reads conferences the server holds that the gateway did not create.
 * Operator notes (server settings, quirks): docs/flexisip.md.
 */
import { ConnectorError, type BackendConference, type ConferenceSpec, type Connector } from './types.ts';
import {
  REQUIRED_COLUMNS,
  addressExists,
  deleteConference,
  insertConference,
  readConferences,
  updateConference,
  type ConferenceWrite,
  type ParticipantWrite,
  type StoredConference,
} from './_internal/flexisip-db.ts';
import {
  canonicalSipUri,
  parseSipUri,
  sipFromXconUserId,
  uriParam,
  withUriParam,
  xconUserIdFromSip,
  type SipUri,
} from './_internal/sip-uri.ts';
import { isMysqlUrl, openSqlDatabase } from './_internal/sql.ts';

export interface FlexisipConnectorOptions {
  /** The conference server's database: an SQLite file path, or a `mysql://user:pass@host:port/db` URL. */
  database: string;
  /** The server's `conference-focus-uris`; new conferences are spread over them. */
  focusUri: string | string[];
  /** The SIP domain: completes XCON-USERIDs that carry no host. */
  sipDomain: string;
  /** The server's `conferences-availability-before-start`, same syntax (`100y`, `15min`, or seconds). */
  conferencesAvailabilityBeforeStart?: string | number;
  /** The server's `conferences-expiry-time`, same syntax (`30d`, or seconds). */
  conferencesExpiryTime?: string | number;
  /** The server's `cleanup-expired-conferences`; must be false with MySQL/MariaDB (see docs/flexisip.md). */
  cleanupExpiredConferences?: boolean;
  /** Media protection the server applies: `security_level` 0, 1 or 2. */
  securityLevel?: 'none' | 'point-to-point' | 'end-to-end';
}

const NAME = 'flexisip';
const SECURITY_LEVELS = { none: 0, 'point-to-point': 1, 'end-to-end': 2 } as const;
// Column widths of the server's schema; MySQL in strict mode would refuse longer values.
const MAX = { uri: 255, subject: 256, description: 2048, displayName: 191 } as const;

export default function flexisipConnector(options: FlexisipConnectorOptions): Connector {
  const settings = validate(options);
  const db = openSqlDatabase(options.database);

  const invalid = (message: string) => new ConnectorError(NAME, 'invalid', message);

  async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      const code = (err as { code?: unknown }).code;
      const kind = code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT' ? 'timeout' : 'unavailable';
      throw new ConnectorError(NAME, kind, `conference database failed while ${what}`, { cause: err });
    }
  }

  function checkUri(uri: string): string {
    // sip_address.value is ASCII on MySQL, and 255 wide.
    if (uri.length > MAX.uri || !/^[\x21-\x7e]+$/.test(uri)) throw invalid(`unusable SIP address ${uri}`);
    return uri;
  }

  function sipOf(p: ConferenceSpec['participants'][number]): string {
    const account = p.accounts?.[NAME];
    try {
      if (account) {
        const withScheme = /^sips?:/i.test(account) ? account : `sip:${account}`;
        return checkUri(
          canonicalSipUri(withScheme.includes('@') ? withScheme : `${withScheme}@${settings.domain}`),
        );
      }
      if (p.sipUri) return checkUri(canonicalSipUri(p.sipUri));
      return checkUri(sipFromXconUserId(p.userId, settings.domain));
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      throw new ConnectorError(NAME, 'invalid', `no usable SIP address for ${p.userId}`, { cause: err });
    }
  }

  function toRow(spec: ConferenceSpec): ConferenceWrite {
    if (spec.kind !== 'conference') {
      throw new ConnectorError(NAME, 'unsupported', 'the Flexisip conference server has no sidebars');
    }
    const schedule = spec.schedule ?? {};
    if (schedule.rrule) {
      throw new ConnectorError(
        NAME,
        'unsupported',
        'the Flexisip conference server schedules single occurrences only',
      );
    }
    const start = schedule.start === undefined ? null : seconds(schedule.start, 'start');
    const end = schedule.end === undefined ? null : seconds(schedule.end, 'end');
    // Linphone encodes "now" as a start at or before the epoch.
    const startAt = start !== null && start > 0 ? start : null;
    if (startAt !== null && startAt > db.dialect.maxTimestamp) {
      throw invalid('start time is beyond what the conference server database can store');
    }
    const durationMinutes =
      schedule.durationMinutes ?? (startAt !== null && end !== null ? Math.ceil((end - startAt) / 60) : 0);
    if (!Number.isInteger(durationMinutes) || durationMinutes < 0) throw invalid('bad conference duration');

    const subject = spec.subject ?? spec.displayText ?? '';
    if (chars(subject) > MAX.subject) throw invalid(`subject longer than ${MAX.subject} characters`);
    const description = spec.description ?? null;
    if (description !== null && chars(description) > MAX.description) {
      throw invalid(`description longer than ${MAX.description} characters`);
    }
    checkUri(spec.uri);

    const organizerId = (
      spec.organizer ?? spec.participants.find((p) => p.roles.includes('organizer'))?.userId
    )
      ?.trim()
      .toLowerCase();
    if (!organizerId) throw invalid('the conference has no organizer');
    const organizerSpec = spec.participants.find((p) => p.userId.trim().toLowerCase() === organizerId);
    const organizer = organizerSpec
      ? { uri: sipOf(organizerSpec), ...displayName(organizerSpec.displayName) }
      : { uri: sipOf({ userId: organizerId, roles: ['organizer'], method: 'dial-in' }) };

    // One row per address: the schema's UNIQUE (conference, address) key forbids a second one.
    const participants = new Map<string, ParticipantWrite>();
    participants.set(organizer.uri, { ...organizer, ccmpUri: organizerId, organizer: true, role: 'speaker' });
    for (const p of spec.participants) {
      const uri = sipOf(p);
      if (participants.has(uri)) continue;
      participants.set(uri, {
        uri,
        ...displayName(p.displayName),
        ccmpUri: checkUri(p.userId.trim().toLowerCase()),
        organizer: false,
        role: p.roles.includes('observer') ? 'listener' : 'speaker',
      });
    }

    const media = (type: string, fallback: boolean) => {
      if (spec.media.length === 0) return fallback;
      return spec.media.some((m) => m.type === type && m.status !== 'inactive');
    };
    const endAt = startAt === null ? null : startAt + durationMinutes * 60;
    const earlier = startAt === null ? null : startAt - settings.availabilityBeforeStart;
    return {
      organizer,
      start: startAt,
      durationMinutes,
      subject,
      description,
      securityLevel: settings.securityLevel,
      ccmpUri: spec.uri,
      audio: media('audio', true),
      video: media('video', true),
      chat: media('text', false),
      earlierJoiningTime: earlier !== null && earlier > 0 ? earlier : null,
      // Without a start, the server treats the conference as running from now (dial-out).
      expiryTime: Math.min(
        (endAt ?? Math.floor(Date.now() / 1000)) + settings.expiryTime,
        db.dialect.maxTimestamp,
      ),
      participants: [...participants.values()],
    };
  }

  function toBackendConference(c: StoredConference): BackendConference {
    const userIdOf = (p: { uri: string; ccmpUri: string }) =>
      p.ccmpUri.toLowerCase() || safeXconUserId(p.uri);
    const organizerRow = c.participants.find((p) => sameAddress(p.uri, c.organizerUri));
    const organizer = organizerRow ? userIdOf(organizerRow) : safeXconUserId(c.organizerUri);
    const participants: ConferenceSpec['participants'] = c.participants.map((p) => {
      const isOrganizer = p === organizerRow;
      return {
        userId: userIdOf(p),
        sipUri: p.uri,
        ...displayName(p.displayName),
        roles: isOrganizer
          ? ['organizer']
          : [p.role?.toLowerCase() === 'listener' ? 'observer' : 'participant'],
        // What Linphone sends: invitees of an immediate conference are called out, the organizer dials in.
        method: c.start === null && !isOrganizer ? 'dial-out' : 'dial-in',
      };
    });
    if (!organizerRow) {
      participants.unshift({
        userId: organizer,
        sipUri: c.organizerUri,
        ...displayName(c.organizerName),
        roles: ['organizer'],
        method: 'dial-in',
      });
    }
    const schedule: NonNullable<ConferenceSpec['schedule']> = {};
    if (c.start !== null && c.start > 0) {
      schedule.start = iso(c.start);
      if (c.durationMinutes > 0) schedule.end = iso(c.start + c.durationMinutes * 60);
    }
    if (c.durationMinutes > 0) schedule.durationMinutes = c.durationMinutes;
    const status = (on: boolean) => (on ? 'sendrecv' : 'inactive');
    return {
      handle: { backendId: c.uri, joinUri: c.uri },
      spec: {
        ...(c.ccmpUri ? { uri: c.ccmpUri } : {}),
        ...(c.subject ? { subject: c.subject } : {}),
        ...(c.description ? { description: c.description } : {}),
        organizer,
        ...(Object.keys(schedule).length > 0 ? { schedule } : {}),
        media: [
          { label: 'audio', type: 'audio', status: status(c.audio) },
          { label: 'video', type: 'video', status: status(c.video) },
          { label: 'text', type: 'text', status: status(c.chat) },
        ],
        participants,
      },
    };
  }

  /** A new, unguessable conference URI on one of the focus URIs. */
  function newConferenceUri(): string {
    const [pick = 0] = crypto.getRandomValues(new Uint32Array(1));
    // 128 random bits in [0-9a-f]: MySQL compares this column case-insensitively, `_`/`%` are LIKE wildcards.
    const confId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('');
    const focus = settings.focus[pick % settings.focus.length] ?? settings.focus[0];
    if (!focus) throw new Error('flexisip: no focus URI');
    return canonicalSipUri(withUriParam(focus, 'conf-id', confId));
  }

  /**
   * The forms a conference URI may be stored under: the ID as given (what a listing returned, even if
   * the server stored a non-canonical form) and its canonical form (a URI as dialled).
   */
  function storedForms(backendId: string): string[] {
    const given = backendId.trim();
    try {
      const canonical = canonicalSipUri(given);
      return canonical === given ? [given] : [given, canonical];
    } catch {
      return given ? [given] : [];
    }
  }

  return {
    name: NAME,
    capabilities: { sidebars: false, participantMedia: false, listing: true, edge: false },

    async createConference(spec) {
      const row = toRow(spec);
      return guard('creating a conference', () =>
        db.transaction(async (tx) => {
          for (let attempt = 0; attempt < 5; attempt++) {
            const uri = newConferenceUri();
            if (await addressExists(tx, uri)) continue;
            await insertConference(tx, db.dialect, uri, row);
            return { backendId: uri, joinUri: uri };
          }
          throw new ConnectorError(NAME, 'unavailable', 'could not allocate a conference URI');
        }),
      );
    },

    async updateConference(handle, spec) {
      const row = toRow(spec);
      const uris = storedForms(handle.backendId);
      const found =
        uris.length > 0 &&
        (await guard('updating a conference', () =>
          db.transaction((tx) => updateConference(tx, db.dialect, uris, row)),
        ));
      if (!found) {
        throw new ConnectorError(NAME, 'not_found', `conference ${handle.backendId} does not exist`);
      }
      return handle;
    },

    async deleteConference(handle) {
      const uris = storedForms(handle.backendId);
      if (uris.length === 0) return;
      await guard('deleting a conference', () => db.transaction((tx) => deleteConference(tx, uris)));
    },

    async listConferences() {
      const rows = await guard('listing conferences', () => readConferences(db));
      return rows.map(toBackendConference);
    },

    async getConference(backendId) {
      const uris = storedForms(backendId);
      if (uris.length === 0) return undefined;
      const [row] = await guard('reading a conference', () => readConferences(db, uris));
      return row ? toBackendConference(row) : undefined;
    },

    async check() {
      // Every problem at once: the operator fixes the schema in one go rather than one error per start.
      const problems: string[] = [];
      for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
        const present = await db.columns(table).catch((err: unknown) => {
          throw new Error(
            `flexisip: cannot read the conference server database ${redact(options.database)}: ${String(err)}`,
            { cause: err },
          );
        });
        if (!present) {
          problems.push(`table ${table} is missing`);
          continue;
        }
        const lower = new Set(present.map((c) => c.toLowerCase()));
        const missing = columns.filter((c) => !lower.has(c));
        if (missing.length > 0) {
          problems.push(`table ${table} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
        }
      }
      if (problems.length > 0) {
        throw new Error(
          `flexisip: the conference server database ${redact(options.database)} is not usable: ${problems.join('; ')}. ` +
            'The conference server creates and migrates these tables when it starts with this database.',
        );
      }
      if (isMysqlUrl(options.database) && settings.cleanup) {
        throw new Error(
          "flexisip: with MySQL/MariaDB the conference server's cleanup of expired conferences deletes conferences " +
            'that have not expired yet; set cleanup-expired-conferences=false in [conference-server] and ' +
            "cleanupExpiredConferences: false in this connector's options",
        );
      }
    },

    async close() {
      await db.close();
    },
  };
}

interface Settings {
  focus: SipUri[];
  domain: string;
  availabilityBeforeStart: number;
  expiryTime: number;
  cleanup: boolean;
  securityLevel: number;
}

/** Options are checked once, when the connector is built: a bad setting stops start-up, not a request. */
function validate(options: FlexisipConnectorOptions): Settings {
  if (typeof options.database !== 'string' || options.database.trim() === '') {
    throw new Error('flexisip: option "database" must be an SQLite file path or a mysql:// URL');
  }
  const focusList = Array.isArray(options.focusUri) ? options.focusUri : [options.focusUri];
  if (focusList.length === 0)
    throw new Error('flexisip: option "focusUri" needs at least one conference focus URI');
  const focus = focusList.map((uri) => {
    let parsed: SipUri;
    try {
      parsed = parseSipUri(uri);
    } catch (err) {
      throw new Error(`flexisip: option "focusUri": ${(err as Error).message}`, { cause: err });
    }
    if (uriParam(parsed, 'conf-id') !== undefined) {
      throw new Error(`flexisip: option "focusUri" must not carry a conf-id: ${uri}`);
    }
    return parsed;
  });
  let domain: string;
  try {
    domain = parseSipUri(`sip:${options.sipDomain}`).host;
  } catch (err) {
    throw new Error(`flexisip: option "sipDomain" is not a domain name: ${options.sipDomain}`, {
      cause: err,
    });
  }
  const level = options.securityLevel ?? 'none';
  if (!(level in SECURITY_LEVELS))
    throw new Error(`flexisip: option "securityLevel" is not one of none, point-to-point, end-to-end`);
  return {
    focus,
    domain,
    availabilityBeforeStart: serverDuration(
      options.conferencesAvailabilityBeforeStart ?? '100y',
      'conferencesAvailabilityBeforeStart',
    ),
    expiryTime: serverDuration(options.conferencesExpiryTime ?? '30d', 'conferencesExpiryTime'),
    cleanup: options.cleanupExpiredConferences ?? true,
    securityLevel: SECURITY_LEVELS[level],
  };
}

// Flexisip's duration units; months and years as std::chrono counts them.
const UNITS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  min: 60,
  h: 3600,
  d: 86400,
  m: 2629746,
  y: 31556952,
};

/** Seconds from a Flexisip duration setting (`30d`, `100y`, `90min`, or a number of seconds). */
function serverDuration(value: string | number, option: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  const match = typeof value === 'string' ? /^\s*(\d+)\s*(ms|s|min|h|d|m|y)?\s*$/.exec(value) : null;
  if (!match)
    throw new Error(
      `flexisip: option "${option}" is not a duration such as 30d, 12h or 90min: ${String(value)}`,
    );
  return Math.floor(Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1));
}

function seconds(isoTime: string, what: string): number {
  const ms = Date.parse(isoTime);
  if (Number.isNaN(ms)) throw new ConnectorError(NAME, 'invalid', `bad ${what} time ${isoTime}`);
  return Math.floor(ms / 1000);
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** Characters as MySQL counts them for VARCHAR widths (code points). */
function chars(text: string): number {
  return Array.from(text).length;
}

function displayName(name: string | undefined): { displayName?: string } {
  return name && chars(name) <= MAX.displayName ? { displayName: name } : {};
}

function safeXconUserId(uri: string): string {
  try {
    return xconUserIdFromSip(uri);
  } catch {
    // Rows written by others may hold non-SIP addresses; keep them recognisable rather than fail the listing.
    return `xcon-userid:${uri.replace(/^[a-z][a-z0-9+.-]*:/i, '').toLowerCase()}`;
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The database setting without its password, for messages. */
function redact(database: string): string {
  return database.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
