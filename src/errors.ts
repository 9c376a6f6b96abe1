/**
 * @module The one place where errors become CCMP response codes.
 *
 * Protocol errors raised by the core carry their code. Connector and directory errors carry a kind
 * and are mapped here, in one exhaustive switch. Anything else is an internal error: it becomes
 * 500 with a generic text, and its details go to the log only.
 */
import { ConnectorError, type ConnectorErrorKind } from '../connectors/types.ts';
import type { ErrorCode } from './ccmp/codes.ts';
import { RESPONSE_CODES } from './ccmp/codes.ts';

/** A CCMP-level failure: answered in HTTP 200 with this response-code. */
export class CcmpError extends Error {
  override readonly name: string = 'CcmpError';
  constructor(
    readonly code: ErrorCode,
    message: string = RESPONSE_CODES[code],
    readonly details: { version?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }
}

const named = (code: ErrorCode, className: string) =>
  class extends CcmpError {
    override readonly name = className;
    constructor(message?: string, details?: { version?: number; cause?: unknown }) {
      super(code, message, details);
    }
  };

export const BadRequest = named(400, 'BadRequest');
export const Unauthorized = named(401, 'Unauthorized');
export const Forbidden = named(403, 'Forbidden');
export const ObjectNotFound = named(404, 'ObjectNotFound');
export const Conflict = named(409, 'Conflict');
export const UserNotFound = named(420, 'UserNotFound');
export const InvalidConfUserId = named(421, 'InvalidConfUserId');
export const InvalidPassword = named(422, 'InvalidPassword');
export const PasswordRequired = named(423, 'PasswordRequired');
export const AuthenticationRequired = named(424, 'AuthenticationRequired');
export const ForbiddenDeleteParent = named(425, 'ForbiddenDeleteParent');
export const ForbiddenChangeProtected = named(426, 'ForbiddenChangeProtected');
export const InvalidDomain = named(427, 'InvalidDomain');
export const NotImplemented = named(501, 'NotImplemented');
export const RequestTimeout = named(510, 'RequestTimeout');
export const ResourcesNotAvailable = named(511, 'ResourcesNotAvailable');

/** An HTTP-level failure: there is no CCMP message to answer. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 429 | 500 | 503,
    message: string,
    /** Header pairs; a name may repeat (several WWW-Authenticate challenges). */
    readonly headers: [string, string][] = [],
  ) {
    super(message);
  }
}

/** The directory (LDAP, ...) could not answer: fail closed. */
export class DirectoryUnavailable extends Error {
  override readonly name = 'DirectoryUnavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface CcmpFailure {
  code: ErrorCode;
  message: string;
  version?: number;
  /** True when the cause is unexpected and must be logged with its stack. */
  internal: boolean;
}

function connectorCode(kind: ConnectorErrorKind): ErrorCode {
  switch (kind) {
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'invalid':
      return 400;
    case 'unsupported':
      return 501;
    case 'unavailable':
      return 500;
    case 'timeout':
      return 510;
    case 'limit':
      return 511;
    case 'forbidden':
      return 401;
  }
}

export function toCcmpFailure(err: unknown): CcmpFailure {
  if (err instanceof CcmpError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.details.version !== undefined ? { version: err.details.version } : {}),
      internal: false,
    };
  }
  if (err instanceof ConnectorError) {
    const code = connectorCode(err.kind);
    // Backend messages are for the log; the client learns which backend failed and how.
    return {
      code,
      message: `conferencing backend "${err.connector}": ${err.publicMessage}`,
      internal: code === 500,
    };
  }
  if (err instanceof DirectoryUnavailable) {
    return { code: 500, message: err.message, internal: false };
  }
  return { code: 500, message: RESPONSE_CODES[500], internal: true };
}
