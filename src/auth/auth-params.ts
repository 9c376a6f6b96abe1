/** @module Parsing and quoting of HTTP auth-params (RFC 9110 §11.2, RFC 7616 §3.4). */

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `name=token, name="quoted string", ...` into lower-case names. `username*` (RFC 8187,
 * UTF-8 only) is decoded into `username`. Undefined when the list is malformed or repeats a name.
 */
export function parseAuthParams(input: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  let i = 0;
  const skip = () => {
    while (i < input.length && /[\s,]/.test(input.charAt(i))) i++;
  };
  skip();
  while (i < input.length) {
    const eq = input.indexOf('=', i);
    if (eq === -1) return undefined;
    const name = input.slice(i, eq).trim().toLowerCase();
    if (!TOKEN.test(name) || params.has(name)) return undefined;
    i = eq + 1;
    while (input.charAt(i) === ' ' || input.charAt(i) === '\t') i++;
    let value = '';
    if (input.charAt(i) === '"') {
      i++;
      for (;;) {
        if (i >= input.length) return undefined;
        const c = input.charAt(i++);
        if (c === '"') break;
        value += c === '\\' ? input.charAt(i++) : c;
      }
    } else {
      const end = input.slice(i).search(/[\s,]/);
      value = end === -1 ? input.slice(i) : input.slice(i, i + end);
      i += value.length;
      if (!TOKEN.test(value) && !/^[A-Za-z0-9+/=_~.:%'-]+$/.test(value)) return undefined;
    }
    while (input.charAt(i) === ' ' || input.charAt(i) === '\t') i++;
    if (i < input.length && input.charAt(i) !== ',') return undefined;
    params.set(name, value);
    skip();
  }
  const extended = params.get('username*');
  if (extended !== undefined) {
    const m = /^UTF-8'[^']*'(.*)$/i.exec(extended);
    if (!m || params.has('username')) return undefined;
    try {
      params.set('username', decodeURIComponent(m[1] ?? ''));
    } catch {
      return undefined;
    }
  }
  return params;
}

/** A quoted-string. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
