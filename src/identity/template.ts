/**
 * @module Templates of the identity mappings: `sip:{uid}@example.com`, `{mail|local}`, `{displayName}`.
 *
 * A placeholder names a directory attribute (or `dn`), optionally followed by filters. A template
 * whose placeholders are not all present renders as undefined, so a list of templates can fall back
 * from one attribute to the next.
 */

export const FILTERS = ['lower', 'upper', 'local', 'domain', 'raw'] as const;
export type TemplateFilter = (typeof FILTERS)[number];

type Part = { literal: string } | { name: string; filters: TemplateFilter[] };

export interface Template {
  readonly source: string;
  /** Placeholder names, in order, without duplicates. */
  readonly names: readonly string[];
  readonly parts: readonly Part[];
}

/** An attribute description (RFC 4512 §2.5: a name or an OID), or one of the fixed names. */
const NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$/;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export function parseTemplate(source: string): Template {
  const parts: Part[] = [];
  const names: string[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const stray = rest.indexOf('}');
    if (stray !== -1 && (open === -1 || stray < open)) {
      throw new TemplateError(`unmatched "}" in ${JSON.stringify(source)}`);
    }
    if (open === -1) {
      parts.push({ literal: rest });
      break;
    }
    if (open > 0) parts.push({ literal: rest.slice(0, open) });
    const close = rest.indexOf('}', open);
    if (close === -1) throw new TemplateError(`unclosed "{" in ${JSON.stringify(source)}`);
    const [name = '', ...filters] = rest.slice(open + 1, close).split('|');
    if (!NAME.test(name)) {
      throw new TemplateError(`"{${name}}" does not name an attribute in ${JSON.stringify(source)}`);
    }
    for (const f of filters) {
      if (!(FILTERS as readonly string[]).includes(f)) {
        throw new TemplateError(
          `unknown filter "${f}" in ${JSON.stringify(source)} (known: ${FILTERS.join(', ')})`,
        );
      }
    }
    parts.push({ name, filters: filters as TemplateFilter[] });
    if (!names.includes(name)) names.push(name);
    rest = rest.slice(close + 1);
  }
  return { source, names, parts };
}

/**
 * Fills the template; undefined when a placeholder has no (non-empty) value.
 * `encode` is applied to every value not marked `raw` (URI templates percent-encode their values).
 */
export function renderTemplate(
  template: Template,
  lookup: (name: string) => string | undefined,
  encode?: (value: string) => string,
): string | undefined {
  let out = '';
  for (const part of template.parts) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    let value = lookup(part.name);
    if (value === undefined || value === '') return undefined;
    for (const filter of part.filters) value = applyFilter(filter, value);
    if (value === '') return undefined;
    out += encode && !part.filters.includes('raw') ? encode(value) : value;
  }
  return out;
}

function applyFilter(filter: TemplateFilter, value: string): string {
  switch (filter) {
    case 'lower':
      return value.toLowerCase();
    case 'upper':
      return value.toUpperCase();
    case 'local': {
      const at = value.lastIndexOf('@');
      return at === -1 ? value : value.slice(0, at);
    }
    case 'domain': {
      const at = value.lastIndexOf('@');
      return at === -1 ? '' : value.slice(at + 1);
    }
    case 'raw':
      return value;
  }
}

/**
 * Percent-encodes a value for the user part of a SIP URI (RFC 3261 §25.1), and also `;`, `?` and `/`,
 * which would otherwise end the user part when the XCON-USERID is derived from it.
 */
export function encodeSipUser(value: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.!~*'()&=+$,]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
