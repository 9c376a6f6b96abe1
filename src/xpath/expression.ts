/**
 * @module Lexical checks and prefix rewriting of a client's XPath 1.0 filter expression.
 *
 * Filters are evaluated over namespace-free copies of the conference documents (see document.ts),
 * so the namespace prefixes a client may write (`info:entry`, `xcon:floor-information`) are removed
 * from name tests here. This needs a real tokenizer that follows the XPath 1.0 lexical rules
 * (§3.7): a regular expression would also rewrite string literals such as `'sip:info:1'`, and
 * could not tell a name test from an axis or function name. The tokenizer also refuses, with a
 * message for the client, what the sandbox does not allow: variables, functions outside the XPath
 * 1.0 core library, and unknown prefixes. The XPath library's own parser does the grammar checks.
 */
import { XPathFilterError } from './errors.ts';

/** Prefixes that name the conference-info and xcon namespaces (the RFCs' and liblinphone's spellings). */
export const KNOWN_PREFIXES: ReadonlySet<string> = new Set([
  'info',
  'xcon',
  'ccmp',
  'conference-info',
  'xcon-conference-info',
]);

/** The `xml` prefix is bound by XML itself; `@xml:lang` keeps working without rewriting. */
const XML_PREFIX = 'xml';

/** XPath 1.0 core function library (§4), with the number of arguments each accepts. */
export const CORE_FUNCTIONS: ReadonlyMap<string, { min: number; max: number }> = new Map(
  (
    [
      ['last', 0, 0],
      ['position', 0, 0],
      ['count', 1, 1],
      ['id', 1, 1],
      ['local-name', 0, 1],
      ['namespace-uri', 0, 1],
      ['name', 0, 1],
      ['string', 0, 1],
      ['concat', 2, Number.POSITIVE_INFINITY],
      ['starts-with', 2, 2],
      ['contains', 2, 2],
      ['substring-before', 2, 2],
      ['substring-after', 2, 2],
      ['substring', 2, 3],
      ['string-length', 0, 1],
      ['normalize-space', 0, 1],
      ['translate', 3, 3],
      ['boolean', 1, 1],
      ['not', 1, 1],
      ['true', 0, 0],
      ['false', 0, 0],
      ['lang', 1, 1],
      ['number', 0, 1],
      ['sum', 1, 1],
      ['floor', 1, 1],
      ['ceiling', 1, 1],
      ['round', 1, 1],
    ] as const
  ).map(([name, min, max]) => [name, { min, max }]),
);

const NODE_TYPES: ReadonlySet<string> = new Set(['comment', 'text', 'processing-instruction', 'node']);

const AXES: ReadonlySet<string> = new Set([
  'ancestor',
  'ancestor-or-self',
  'attribute',
  'child',
  'descendant',
  'descendant-or-self',
  'following',
  'following-sibling',
  'namespace',
  'parent',
  'preceding',
  'preceding-sibling',
  'self',
]);

const OPERATOR_NAMES: ReadonlySet<string> = new Set(['and', 'or', 'mod', 'div']);

type Token =
  | { kind: 'literal' | 'number' | 'operator' | 'multiply'; start: number; end: number }
  | { kind: 'punct'; start: number; end: number; text: string }
  | { kind: 'star'; start: number; end: number }
  | { kind: 'name'; start: number; end: number; prefix: string | undefined; local: string };

const WHITESPACE = /[ \t\r\n]/;
// NCName, approximated with Unicode classes; the XPath library's own lexer has the final word.
const NCNAME_START = /[\p{L}\p{Nl}_]/u;
const NCNAME_REST = /^[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}\u00B7._-]*/u;
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)/;

function invalid(detail: string): XPathFilterError {
  return new XPathFilterError(`xpathFilter is not valid XPath 1.0: ${detail}`);
}

function readNcName(source: string, at: number): string | undefined {
  const first = source[at];
  if (first === undefined || !NCNAME_START.test(first)) return undefined;
  const rest = NCNAME_REST.exec(source.slice(at + 1));
  return first + (rest?.[0] ?? '');
}

/** Splits an expression into tokens, without classifying names yet. */
function scan(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] ?? '';
    const next = source[i + 1];
    if (WHITESPACE.test(c)) {
      i += 1;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      const close = source.indexOf(c, i + 1);
      if (close < 0) throw invalid(`unterminated string literal at position ${start + 1}`);
      i = close + 1;
      tokens.push({ kind: 'literal', start, end: i });
    } else if (/\d/.test(c) || (c === '.' && next !== undefined && /\d/.test(next))) {
      i += NUMBER.exec(source.slice(i))?.[0].length ?? 1;
      tokens.push({ kind: 'number', start, end: i });
    } else if (c === '$') {
      const name = readNcName(source, i + 1) ?? '';
      throw new XPathFilterError(`xpathFilter uses variable $${name}; variables are not allowed`);
    } else if (c === '*') {
      i += 1;
      tokens.push({ kind: 'star', start, end: i });
    } else if (NCNAME_START.test(c)) {
      const first = readNcName(source, i) ?? c;
      i += first.length;
      let prefix: string | undefined;
      let local = first;
      // A single colon glued to both names makes a QName; "::" is the axis separator.
      if (source[i] === ':' && source[i + 1] !== ':') {
        prefix = first;
        if (source[i + 1] === '*') {
          local = '*';
        } else {
          const second = readNcName(source, i + 1);
          if (second === undefined) throw invalid(`incomplete name "${first}:" at position ${start + 1}`);
          local = second;
        }
        i += 1 + local.length;
      }
      tokens.push({ kind: 'name', start, end: i, prefix, local });
    } else {
      const two = source.slice(i, i + 2);
      const text = ['::', '..', '//', '!=', '<=', '>='].includes(two)
        ? two
        : '()[].@,/|+-=<>'.includes(c)
          ? c
          : undefined;
      if (text === undefined) throw invalid(`unexpected character "${c}" at position ${start + 1}`);
      i += text.length;
      tokens.push({ kind: 'punct', start, end: i, text });
    }
  }
  return tokens;
}

const OPERATOR_PUNCT: ReadonlySet<string> = new Set('/ // | + - = != < <= > >='.split(' '));

/**
 * XPath 1.0 §3.7 disambiguation: after one of these tokens, `*` is a name test and a name is a
 * name, not an operator.
 */
function expectsOperand(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  switch (previous.kind) {
    case 'operator':
    case 'multiply':
      return true;
    case 'punct':
      return ['@', '::', '(', '[', ','].includes(previous.text) || OPERATOR_PUNCT.has(previous.text);
    case 'literal':
    case 'number':
    case 'star':
    case 'name':
      return false;
  }
}

function nextNonSpace(source: string, from: number): number {
  let i = from;
  while (i < source.length && WHITESPACE.test(source[i] ?? '')) i += 1;
  return i;
}

/** Checks one name token that stands where an operand is expected; returns its rewritten text. */
function rewriteName(source: string, token: Extract<Token, { kind: 'name' }>): string {
  const { prefix, local } = token;
  const qname = prefix === undefined ? local : `${prefix}:${local}`;
  const after = nextNonSpace(source, token.end);
  if (source[after] === '(') {
    if (prefix === undefined && NODE_TYPES.has(local)) return qname;
    if (prefix !== undefined || !CORE_FUNCTIONS.has(local)) {
      throw new XPathFilterError(`xpathFilter uses function ${qname}(), which is not allowed`);
    }
    return qname;
  }
  if (source.startsWith('::', after)) {
    if (prefix !== undefined || !AXES.has(local)) throw invalid(`unknown axis "${qname}"`);
    return qname;
  }
  if (prefix === undefined || prefix === XML_PREFIX) return qname;
  if (KNOWN_PREFIXES.has(prefix)) return local;
  const known = [...KNOWN_PREFIXES].join(', ');
  throw new XPathFilterError(`xpathFilter uses the unknown namespace prefix "${prefix}" (known: ${known})`);
}

/**
 * Validates the lexical form of `expression` and returns it with the known namespace prefixes
 * removed from name tests. Everything else, whitespace and literals included, is kept as written.
 * Throws XPathFilterError.
 */
export function rewriteExpression(expression: string): string {
  const tokens = scan(expression);
  if (tokens.length === 0) throw new XPathFilterError('xpathFilter is empty');
  let out = '';
  let copied = 0;
  let previous: Token | undefined;
  for (const raw of tokens) {
    let token: Token = raw;
    if (raw.kind === 'star') {
      if (!expectsOperand(previous)) token = { kind: 'multiply', start: raw.start, end: raw.end };
    } else if (raw.kind === 'name') {
      if (!expectsOperand(previous)) {
        if (raw.prefix !== undefined || !OPERATOR_NAMES.has(raw.local)) {
          throw invalid(
            `unexpected name "${expression.slice(raw.start, raw.end)}" at position ${raw.start + 1}`,
          );
        }
        token = { kind: 'operator', start: raw.start, end: raw.end };
      } else {
        const text = rewriteName(expression, raw);
        out += expression.slice(copied, raw.start) + text;
        copied = raw.end;
      }
    }
    previous = token;
  }
  return out + expression.slice(copied);
}
