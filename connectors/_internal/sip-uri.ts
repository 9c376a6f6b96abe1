/**
 * @module SIP URI helpers for SIP-based backends.
 *
 * liblinphone stores and looks up addresses in one canonical text form
 * (`Address::toStringUriOnlyOrdered`): `scheme:user@host`, URI parameters sorted by name, no port,
 * no `gr`, no display name, no headers. Writing any other form makes the backend miss the row.
 * Linphone also derives XCON-USERIDs from SIP AORs by swapping the scheme, which is reproduced here.
 */

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  host: string;
  params: [name: string, value: string | undefined][];
}

const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?|\[[0-9a-f:.]+\])$/i;
// RFC 3261 user: unreserved, escaped and user-unreserved characters.
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
const PARAM = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$]|%[0-9A-Fa-f]{2})+$/;

/** Parses a SIP or SIPS URI, also inside a name-addr (`"Bob" <sip:bob@example.org>`). Throws on bad input. */
export function parseSipUri(input: string): SipUri {
  let text = input.trim();
  const open = text.indexOf('<');
  if (open >= 0) {
    const close = text.indexOf('>', open);
    if (close < 0) throw new Error(`not a SIP URI: ${input}`);
    text = text.slice(open + 1, close).trim();
  }
  const scheme = /^(sips?):/i.exec(text);
  if (!scheme) throw new Error(`not a SIP URI: ${input}`);
  let rest = text.slice(scheme[0].length);
  const headers = rest.indexOf('?');
  if (headers >= 0) rest = rest.slice(0, headers);

  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    // A password (`user:pass@`) is never part of an address of record.
    user = rest.slice(0, at).split(':')[0];
    rest = rest.slice(at + 1);
    if (!user || !USER.test(user)) throw new Error(`bad user part in SIP URI: ${input}`);
  }
  const [hostport = '', ...rawParams] = rest.split(';');
  const host = hostport.startsWith('[')
    ? hostport.slice(0, hostport.indexOf(']') + 1)
    : hostport.split(':')[0];
  if (!host || !HOST.test(host)) throw new Error(`bad host in SIP URI: ${input}`);

  const params = rawParams.map((raw): [string, string | undefined] => {
    const eq = raw.indexOf('=');
    const name = (eq < 0 ? raw : raw.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : raw.slice(eq + 1);
    if (!PARAM.test(name) || (value !== undefined && value !== '' && !PARAM.test(value))) {
      throw new Error(`bad parameter in SIP URI: ${input}`);
    }
    return [name, value];
  });
  return {
    scheme: scheme[0].slice(0, -1).toLowerCase() as SipUri['scheme'],
    ...(user !== undefined ? { user } : {}),
    host: host.toLowerCase(),
    params,
  };
}

/** The form liblinphone stores in `sip_address.value` and matches incoming requests against. */
export function canonicalSipUri(input: string | SipUri): string {
  const uri = typeof input === 'string' ? parseSipUri(input) : input;
  const params = uri.params
    .filter(([name]) => name !== 'gr')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === undefined ? `;${name}` : `;${name}=${value}`))
    .join('');
  return `${uri.scheme}:${uri.user !== undefined ? `${uri.user}@` : ''}${uri.host}${params}`;
}

/** Adds or replaces one URI parameter. */
export function withUriParam(uri: SipUri, name: string, value: string): SipUri {
  return { ...uri, params: [...uri.params.filter(([n]) => n !== name), [name, value]] };
}

/** The URI parameter's value, when present. */
export function uriParam(uri: SipUri, name: string): string | undefined {
  return uri.params.find(([n]) => n === name)?.[1];
}

/** Linphone's XCON-USERID for a SIP AOR: `sip:bob@example.org` becomes `xcon-userid:bob@example.org`. */
export function xconUserIdFromSip(input: string): string {
  const uri = parseSipUri(input);
  return `xcon-userid:${uri.user !== undefined ? `${uri.user}@` : ''}${uri.host}`.toLowerCase();
}

/** The SIP AOR behind an XCON-USERID, the reverse of `xconUserIdFromSip`; `domain` completes a bare user. */
export function sipFromXconUserId(userId: string, domain: string): string {
  const id = userId.trim().replace(/^xcon-userid:/i, '');
  if (!id) throw new Error(`empty XCON-USERID: ${userId}`);
  return canonicalSipUri(`sip:${id.includes('@') ? id : `${id}@${domain}`}`);
}
