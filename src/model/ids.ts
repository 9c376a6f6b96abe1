/**
 * @module XCON-URI and XCON-USERID syntax (RFC 6501 §3.3.1, §4.6.5) and comparison.
 *
 * Both compare case-insensitively, so the gateway keys everything by the lower-case form.
 * XCON-USERIDs are accepted as `xcon-userid:user@host`, the form every RFC example and Linphone use.
 */

export const PLACEHOLDER = /AUTO_GENERATE_[0-9]+/;

const UNRESERVED = 'A-Za-z0-9\\-._~';
// A percent sign only as the start of a %XX escape: a bare one is not a URI at all.
const PCT = '%[0-9A-Fa-f]{2}';
const XCON_URI = new RegExp(
  `^xcon:(?:((?:[${UNRESERVED}+=/!$&'()*,;]|${PCT})+)@)?([A-Za-z0-9\\-._~:\\[\\]]+)$`,
  'i',
);
const XCON_USERID = new RegExp(
  `^xcon-userid:((?:[${UNRESERVED}!$&'()*+,;=]|${PCT})+)(?:@([A-Za-z0-9\\-._~:\\[\\]]+))?$`,
  'i',
);

export interface ParsedId {
  /** The object or user part (may be a placeholder). */
  local: string;
  host: string;
}

export function parseXconUri(value: string): ParsedId | undefined {
  const m = XCON_URI.exec(value.trim());
  if (!m) return undefined;
  return { local: m[1] ?? '', host: (m[2] ?? '').toLowerCase() };
}

export function parseXconUserId(value: string): ParsedId | undefined {
  const m = XCON_USERID.exec(value.trim());
  if (!m) return undefined;
  return { local: m[1] ?? '', host: (m[2] ?? '').toLowerCase() };
}

/** The comparison key of an XCON-URI or XCON-USERID. */
export function normalizeId(value: string): string {
  return value.trim().toLowerCase();
}

export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && normalizeId(a) === normalizeId(b);
}

/** The XCON-USERID Linphone derives from a SIP identity: the scheme replaced, parameters dropped. */
export function userIdFromSipUri(uri: string): string | undefined {
  const m = /^(?:sips?):([^;?>]+)/i.exec(uri.trim());
  if (!m?.[1]) return undefined;
  const addr = m[1].replace(/:\d+$/, '');
  return `xcon-userid:${addr}`.toLowerCase();
}

/** The SIP AOR matching an XCON-USERID of the form `xcon-userid:user@host`. */
export function sipUriFromUserId(userId: string): string | undefined {
  const parsed = parseXconUserId(userId);
  if (!parsed?.host) return undefined;
  return `sip:${parsed.local}@${parsed.host}`;
}

export function isSignallingUri(value: string): boolean {
  return /^(sips?|tel|mailto|h323|im|xmpp):/i.test(value.trim());
}
