/**
 * Parser and gateway fuzzing: thousands of mutated CCMP requests (from the RFC 6503, RFC 6504 and Linphone
 * fixtures) and purely random documents, sent through the in-process app with valid credentials, plus a
 * direct fuzz of `parseXml`. Deterministic: every input comes from a seeded PRNG.
 *
 * Reproduce a failure with the seed it prints: `FUZZ_SEED=<seed> npx vitest run test/robustness/fuzz.test.ts`.
 * `FUZZ_CASES` / `FUZZ_PARSE_CASES` change the number of inputs (defaults 5000 and 20000).
 *
 * Sampled CCMP responses are checked against the schemas in two tiers. The envelope (the response with the
 * content of its conference documents cut out and its URIs replaced) must be valid against the RFC 6503 XSD:
 * its structure is the gateway's own. The full response
 * (`validateCcmpResponse`: XSD and RFC 6501 RELAX NG) is reported but does not fail the run, because the
 * operations keep client-supplied content they do not check against the schemas (unknown unqualified
 * elements and attributes, misplaced elements, XCON-URIs with a bare "%") and echo it later;
 * `FUZZ_STRICT_SCHEMA=1` makes those failures too. `FUZZ_VALIDATE_ALL=1` checks every response, not a sample.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DOMParser, XMLSerializer, onErrorStopParsing } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import type { Gateway } from '../../src/gateway.ts';
import { parseXml, XmlError } from '../../src/xml/parse.ts';
import { MESSAGE_TYPES } from '../../src/ccmp/messages.ts';
import { validateCcmpResponse } from '../helpers/validate.ts';
import {
  basic,
  CCMP_NS,
  CCMP_TYPE,
  ccmpRequest,
  INFO_NS,
  makeApp,
  readCcmpResponse,
  userId,
} from './_support.ts';

const SEED = envNumber('FUZZ_SEED', 0x6503);
const CASES = envNumber('FUZZ_CASES', 5000);
const PARSE_CASES = envNumber('FUZZ_PARSE_CASES', 20_000);
/** Failures collected before a run stops. */
const MAX_FAILURES = envNumber('FUZZ_MAX_FAILURES', 5);
const STRICT_SCHEMA = process.env.FUZZ_STRICT_SCHEMA === '1';
const VALIDATE_ALL = process.env.FUZZ_VALIDATE_ALL === '1';
/** Whole-run bounds: generous for slow machines, far below what a hang or a quadratic blow-up costs. */
const APP_RUN_MS = 150_000;
const PARSE_RUN_MS = 60_000;
const REQUEST_MS = 5_000;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${name} must be a whole number, not "${raw}"`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32): the same seed always yields the same inputs.

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  /** 0 ≤ n < max */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

/** An independent stream per case, so that one case can be regenerated from (seed, index). */
function caseRng(seed: number, index: number, salt: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35) ^ salt;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return new Rng(h ^ (h >>> 15));
}

// ---------------------------------------------------------------------------------------------
// Seed documents: the request fixtures, with identities of this gateway's demo directory.

const FIXTURES = new URL('../fixtures/', import.meta.url);

function fixtureFiles(dir: string, match: RegExp): string[] {
  return readdirSync(new URL(`${dir}/`, FIXTURES))
    .filter((f) => match.test(f))
    .sort()
    .map((f) => readFileSync(new URL(`${dir}/${f}`, FIXTURES), 'utf8'));
}

const TEMPLATES: string[] = [
  ...fixtureFiles('rfc6503', /-request\.xml$/),
  ...fixtureFiles('rfc6504', /request.*\.xml$/),
  ...fixtureFiles('linphone', /-request\.xml$/),
].map((xml) =>
  xml
    .replaceAll('marie@sip.example.org', 'alice@example.com')
    .replaceAll('pauline@sip.example.org', 'bob@example.com')
    .replaceAll('sip.example.org', 'example.com'),
);

/** Conference ids in the fixtures, to be replaced by conferences that exist. Blueprints stay. */
const FIXTURE_CONF_ID = /xcon:(?!AudioRoom@|VideoRoom@|default@)[A-Za-z0-9]+@example\.com/g;

// ---------------------------------------------------------------------------------------------
// Dictionaries

const NAMES = [
  'ccmp:ccmpRequest',
  'ccmpRequest',
  'confUserID',
  'confObjID',
  'operation',
  'conference-password',
  'subject',
  'username',
  'password',
  'ccmp:confRequest',
  'ccmp:userRequest',
  'ccmp:usersRequest',
  'ccmp:sidebarByValRequest',
  'ccmp:extendedRequest',
  'confInfo',
  'userInfo',
  'usersInfo',
  'xpathFilter',
  'extensionName',
  'info:conference-description',
  'info:subject',
  'info:display-text',
  'info:conf-uris',
  'info:entry',
  'info:uri',
  'info:users',
  'info:user',
  'info:endpoint',
  'info:media',
  'info:roles',
  'info:available-media',
  'info:maximum-user-count',
  'xcon:allowed-users-list',
  'xcon:target',
  'xcon:conference-password',
  'xcon:conference-time',
  'xcon:base',
  'xcon:sidebar-parent',
  'xcon:floor-information',
  'xcon:mixing-mode',
  'x',
  'a:b',
];

const TEXTS = [
  '',
  ' ',
  'retrieve',
  'create',
  'update',
  'delete',
  'xcon-userid:alice@example.com',
  'xcon-userid:bob@example.com',
  'xcon-userid:Carol@EXAMPLE.COM',
  'xcon-userid:mallory@example.com',
  'xcon-userid:AUTO_GENERATE_1@example.com',
  'xcon-userid:AUTO_GENERATE_2@elsewhere.org',
  'xcon:AUTO_GENERATE_1@example.com',
  'xcon:AudioRoom@example.com',
  'xcon:default@example.com',
  'xcon:nope@example.com',
  'xcon:@',
  'xcon-userid:',
  'sip:alice@example.com',
  'sip:someone@example.com;transport=tcp',
  'tel:+15555550100',
  'mailto:x@example.com',
  'AUTO_GENERATE_1',
  'AUTO_GENERATE_99999999999999999999',
  '0',
  '-1',
  '99999999999999999999999',
  '1e309',
  'NaN',
  'true',
  'false',
  'audio',
  'sendrecv',
  'participant',
  'moderator',
  'administrator',
  'dial-in',
  'dial-out',
  'closedAuthenticated',
  'openAuthenticated',
  'anonymous',
  '//*',
  "/conference-info[conference-description/conference-state/active='false']",
  'count(//*)',
  '(((((((((((',
  'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20250101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nEND:VCALENDAR',
  'BEGIN:VCALENDAR',
  '\u0000',
  '\uFFFE',
  '\uD800',
  '😀'.repeat(50),
  '&amp;&lt;&gt;&quot;&apos;',
  '<![CDATA[<not-an-element/>]]>',
];

const ENTITY_REFS = [
  '&amp;',
  '&lt;',
  '&#65;',
  '&#x1F600;',
  '&#0;',
  '&#x0;',
  '&#1;',
  '&#xD800;',
  '&#xFFFE;',
  '&#x110000;',
  '&#99999999999999999999;',
  '&#;',
  '&#x;',
  '&nbsp;',
  '&lol9;',
  '&xxe;',
  '&',
  '&amp',
  '&&;',
  '&#-1;',
  '%remote;',
  '&#38;#38;',
];

const SNIPPETS = [
  '<info:user entity="xcon-userid:AUTO_GENERATE_3@example.com"><info:endpoint entity="sip:new@example.com"/></info:user>',
  '<info:user entity="xcon-userid:bob@example.com"><info:roles><info:entry>moderator</info:entry></info:roles></info:user>',
  '<info:user/>',
  '<xcon:conference-password>1234</xcon:conference-password>',
  '<conference-password>1234</conference-password>',
  '<subject><username>bob</username><password>wrong</password></subject>',
  '<xpathFilter>//*[local-name()="entry"]</xpathFilter>',
  '<xpathFilter>//*//*//*//*//*//*</xpathFilter>',
  '<xpathFilter>]]]]</xpathFilter>',
  '<extensionName>confSummaryRequest</extensionName>',
  '<confInfo/>',
  '<userInfo entity=""/>',
  '<usersInfo><info:user entity="xcon-userid:carol@example.com"/></usersInfo>',
  '<info:conf-uris><info:entry><info:uri>sip:x@example.com</info:uri><xcon:conference-password>pw</xcon:conference-password></info:entry></info:conf-uris>',
  '<xcon:allowed-users-list><xcon:target uri="xcon-userid:carol@example.com" method="dial-in"/></xcon:allowed-users-list>',
  '<info:available-media><info:entry label="AUTO_GENERATE_7"><info:type>video</info:type></info:entry></info:available-media>',
  '<xcon:sidebar-parent><info:uri>xcon:nope@example.com</info:uri></xcon:sidebar-parent>',
  '<info:conference-state><info:active>true</info:active><info:locked>true</info:locked></info:conference-state>',
  '<x:ext xmlns:x="urn:example:ext"><x:inner a="1"/></x:ext>',
  '<version>7</version>',
  '<!-- a comment -->',
  '<?pi data?>',
  '<![CDATA[ <confUserID>xcon-userid:bob@example.com</confUserID> ]]>',
  '<!DOCTYPE x>',
  '<!ENTITY e "e">',
  '<ccmp:ccmpRequest/>',
  '<ccmpRequest xsi:type="ccmp:ccmp-options-request-message-type"/>',
];

const XSI_TYPES = [
  ...MESSAGE_TYPES.map((t) => `ccmp:ccmp-${t}-request-message-type`),
  'ccmp:ccmp-conf-response-message-type',
  'ccmp:ccmp-request-message-type',
  'ccmp:nonsense',
  'undeclared:ccmp-conf-request-message-type',
  'ccmp-conf-request-message-type',
  ':ccmp-conf-request-message-type',
  'ccmp:',
  '',
  ' ccmp:ccmp-user-request-message-type ',
  'xsi:type',
];

const OPERATIONS = [
  'retrieve',
  'create',
  'update',
  'delete',
  '',
  'RETRIEVE',
  ' update ',
  'patch',
  '<x/>',
  '&amp;',
  '😀',
];

const NAMESPACES = [
  CCMP_NS,
  'urn:ietf:params:xml:ns:xcon:ccmp',
  INFO_NS,
  'urn:ietf:params:xml:ns:xcon-conference-info',
  'http://www.w3.org/2001/XMLSchema-instance',
  'http://www.w3.org/XML/1998/namespace',
  'http://www.w3.org/2000/xmlns/',
  '',
  'urn:example:other',
];

const PROLOGS = [
  '',
  '<?xml version="1.0"?>',
  '<?xml version="1.1" encoding="UTF-8"?>',
  '<?xml version="1.0" encoding="ISO-8859-1"?>',
  '<?xml version="1.0" encoding="UTF-16"?>',
  '<?xml version="2.0"?>',
  '<?xml?>',
  '<?xml version="1.0"?><?xml version="1.0"?>',
  '\uFEFF<?xml version="1.0"?>',
  '  \n<?xml version="1.0"?>',
  '<!-- before --><?xml version="1.0"?>',
  '<!DOCTYPE ccmp:ccmpRequest>',
  '<!DOCTYPE a [<!ENTITY lol "lol">]>',
  '<?xml-stylesheet href="x.xsl"?>',
];

// ---------------------------------------------------------------------------------------------
// Structure of a (possibly already mutated) document, best effort

interface Span {
  name: string;
  start: number;
  /** End of the start tag. */
  openEnd: number;
  /** Start of the end tag (= end for an empty-element tag). */
  closeStart: number;
  end: number;
}

const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:[^<>"']|"[^"<]*"|'[^'<]*')*?)(\/?)>/g;

function elementSpans(xml: string): Span[] {
  if (xml.length > 200_000) return [];
  const stack: { name: string; start: number; openEnd: number }[] = [];
  const spans: Span[] = [];
  for (const m of xml.matchAll(TAG)) {
    const [whole, slash, name = '', , selfClose] = m;
    const at = m.index;
    if (slash) {
      let i = stack.length - 1;
      while (i >= 0 && stack[i]?.name !== name) i--;
      const open = stack[i];
      if (!open) continue;
      stack.length = i;
      spans.push({ name, start: open.start, openEnd: open.openEnd, closeStart: at, end: at + whole.length });
    } else if (selfClose) {
      const end = at + whole.length;
      spans.push({ name, start: at, openEnd: end, closeStart: end, end });
    } else {
      stack.push({ name, start: at, openEnd: at + whole.length });
    }
  }
  return spans;
}

const splice = (s: string, from: number, to: number, insert: string): string =>
  s.slice(0, from) + insert + s.slice(to);

function randomChar(rng: Rng): string {
  switch (rng.int(8)) {
    case 0:
      return String.fromCharCode(rng.int(0x20));
    case 1:
      return rng.pick(['<', '>', '&', '"', "'", '/', '=', ':', ';', '!', '?', '[', ']', '-', '#', '%']);
    case 2:
      return String.fromCharCode(0x20 + rng.int(0x5f));
    case 3:
      return String.fromCharCode(0x80 + rng.int(0x780));
    case 4:
      return String.fromCharCode(0xd800 + rng.int(0x800)); // a lone surrogate
    case 5:
      return String.fromCodePoint(0x10000 + rng.int(0x100000));
    case 6:
      return rng.pick(['\uFFFE', '\uFFFF', '\uFEFF', '\u2028', '\u0085', '\u00A0', '\u200B', '\uFFFD']);
    default:
      return String.fromCharCode(0xe000 + rng.int(0x1ffe));
  }
}

function randomText(rng: Rng, max: number): string {
  let out = '';
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) out += randomChar(rng);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutators: each takes a document and returns a changed one.

type Mutator = (xml: string, rng: Rng) => string;

function withSpan(xml: string, rng: Rng, f: (span: Span) => string): string {
  const spans = elementSpans(xml);
  return spans.length === 0 ? xml : f(rng.pick(spans));
}

function leafSpans(xml: string): Span[] {
  return elementSpans(xml).filter(
    (s) => s.closeStart > s.openEnd && !xml.slice(s.openEnd, s.closeStart).includes('<'),
  );
}

const MUTATORS: Record<string, Mutator> = {
  truncate: (xml, rng) => xml.slice(0, rng.int(xml.length)),
  duplicate: (xml, rng) =>
    withSpan(xml, rng, (s) =>
      splice(xml, s.end, s.end, xml.slice(s.start, s.end).repeat(rng.chance(0.05) ? 40 : 1 + rng.int(3))),
    ),
  remove: (xml, rng) => withSpan(xml, rng, (s) => splice(xml, s.start, s.end, '')),
  removeTags: (xml, rng) =>
    withSpan(xml, rng, (s) => xml.slice(0, s.start) + xml.slice(s.openEnd, s.closeStart) + xml.slice(s.end)),
  move: (xml, rng) =>
    withSpan(xml, rng, (s) => {
      const piece = xml.slice(s.start, s.end);
      const rest = splice(xml, s.start, s.end, '');
      const target = elementSpans(rest);
      return target.length === 0
        ? rest
        : splice(rest, rng.pick(target).openEnd, rng.pick(target).openEnd, piece);
    }),
  unicode: (xml, rng) => {
    let out = xml;
    for (let n = 1 + rng.int(12); n > 0; n--) {
      const at = rng.int(out.length + 1);
      out = splice(out, at, at, randomChar(rng));
    }
    return out;
  },
  unicodeText: (xml, rng) => {
    const leaves = leafSpans(xml);
    if (leaves.length === 0) return xml;
    const s = rng.pick(leaves);
    return splice(xml, s.openEnd, s.closeStart, randomText(rng, 200));
  },
  hugeAttribute: (xml, rng) =>
    withSpan(xml, rng, (s) => {
      const unit = rng.pick(['A', 'é', '😀', '&amp;', ' ', '&#x41;', 'xcon:', '<']);
      const value = unit.repeat(rng.pick([1_000, 20_000, 100_000, 300_000]) / unit.length);
      const tag = xml.slice(s.start, s.openEnd);
      const existing = /\s([\w:.-]+)="[^"]*"/.exec(tag);
      if (existing && rng.chance(0.5)) {
        const from = s.start + existing.index;
        return splice(xml, from, from + existing[0].length, ` ${existing[1] ?? 'a'}="${value}"`);
      }
      const at = s.openEnd - (tag.endsWith('/>') ? 2 : 1);
      return splice(xml, at, at, ` huge${rng.int(100)}="${value}"`);
    }),
  deepNesting: (xml, rng) =>
    withSpan(xml, rng, (s) => {
      const depth = rng.pick([2, 10, 40, 62, 63, 64, 65, 100, 1_000, 20_000]);
      const name = rng.pick(NAMES);
      const closed = rng.chance(0.85);
      const inner = `<${name}>`.repeat(depth) + (closed ? `</${name}>`.repeat(depth) : '');
      return splice(xml, s.openEnd, s.openEnd, inner);
    }),
  entity: (xml, rng) => {
    const ref = rng.pick(ENTITY_REFS);
    if (rng.chance(0.5)) {
      const leaves = leafSpans(xml);
      if (leaves.length > 0) {
        const s = rng.pick(leaves);
        const at = s.openEnd + rng.int(s.closeStart - s.openEnd + 1);
        return splice(xml, at, at, ref);
      }
    }
    const attrs = [...xml.matchAll(/="([^"]*)"/g)];
    if (attrs.length === 0) return xml;
    const m = rng.pick(attrs);
    const at = m.index + 2 + rng.int((m[1]?.length ?? 0) + 1);
    return splice(xml, at, at, ref);
  },
  prefix: (xml, rng) => {
    const prefixes = [...new Set([...xml.matchAll(/xmlns:([\w.-]+)=/g)].map((m) => m[1] ?? ''))];
    if (prefixes.length === 0) return xml;
    const from = rng.pick(prefixes);
    const to = rng.pick(['p', 'xmlns', 'xml', 'ccmp', 'info', 'xsi', 'A-b.c', `n${rng.int(1000)}`, '']);
    switch (rng.int(3)) {
      case 0: // everywhere, declarations included
        return xml
          .replace(new RegExp(`(?<=[<\\s/"]|xmlns:)${from}:`, 'g'), to === '' ? '' : `${to}:`)
          .replaceAll(`xmlns:${from}=`, `xmlns:${to}=`);
      case 1: // only the declaration: every use becomes undeclared
        return xml.replaceAll(`xmlns:${from}=`, `xmlns:${to}=`);
      default: // only the uses
        return xml.replace(new RegExp(`(?<=</?)${from}:`, 'g'), `${to}:`);
    }
  },
  namespace: (xml, rng) => {
    const decls = [...xml.matchAll(/xmlns(:[\w.-]+)?="([^"]*)"/g)];
    if (decls.length === 0) return xml;
    const m = rng.pick(decls);
    return splice(xml, m.index, m.index + m[0].length, `xmlns${m[1] ?? ''}="${rng.pick(NAMESPACES)}"`);
  },
  xsiType: (xml, rng) => xml.replace(/(xsi:type=")[^"]*"/, `$1${rng.pick(XSI_TYPES)}"`),
  operation: (xml, rng) => {
    const m = /<operation>[^<]*<\/operation>/.exec(xml);
    if (!m) {
      return xml.replace(/<\/confUserID>/, `</confUserID><operation>${rng.pick(OPERATIONS)}</operation>`);
    }
    const replacement = rng.chance(0.2)
      ? ''
      : rng.chance(0.2)
        ? `<operation>${rng.pick(OPERATIONS)}</operation>`.repeat(2)
        : `<operation>${rng.pick(OPERATIONS)}</operation>`;
    return splice(xml, m.index, m.index + m[0].length, replacement);
  },
  text: (xml, rng) => {
    const leaves = leafSpans(xml);
    if (leaves.length === 0) return xml;
    const s = rng.pick(leaves);
    const value = rng.pick(TEXTS);
    const escaped = rng.chance(0.8)
      ? value.replace(/&(?!amp;|lt;|gt;|quot;|apos;)/g, '&amp;').replace(/</g, '&lt;')
      : value;
    return splice(xml, s.openEnd, s.closeStart, escaped);
  },
  attributeValue: (xml, rng) => {
    const attrs = [...xml.matchAll(/\s(entity|uri|label|method|id)="([^"]*)"/g)];
    if (attrs.length === 0) return xml;
    const m = rng.pick(attrs);
    const value = rng.pick(TEXTS).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
    return splice(xml, m.index, m.index + m[0].length, ` ${m[1] ?? 'entity'}="${value}"`);
  },
  rename: (xml, rng) =>
    withSpan(xml, rng, (s) => {
      const to = rng.pick(NAMES);
      const close = s.closeStart < s.end ? `</${to}>` : '';
      const open = xml.slice(s.start, s.openEnd).replace(/^<[^\s/>]+/, `<${to}`);
      return xml.slice(0, s.start) + open + xml.slice(s.openEnd, s.closeStart) + close + xml.slice(s.end);
    }),
  snippet: (xml, rng) => withSpan(xml, rng, (s) => splice(xml, s.openEnd, s.openEnd, rng.pick(SNIPPETS))),
  prolog: (xml, rng) => {
    const body = xml.replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '');
    return rng.chance(0.8) ? rng.pick(PROLOGS) + body : body + rng.pick(PROLOGS);
  },
  duplicateAttribute: (xml, rng) => {
    const attrs = [...xml.matchAll(/\s[\w:.-]+="[^"]*"/g)];
    if (attrs.length === 0) return xml;
    const m = rng.pick(attrs);
    return splice(xml, m.index, m.index, m[0]);
  },
  identity: (xml, rng) =>
    xml.replace(/xcon-userid:alice@example\.com/gi, () =>
      rng.pick([
        'xcon-userid:alice@example.com',
        'xcon-userid:ALICE@Example.COM',
        'xcon-userid:bob@example.com',
        'xcon-userid:alice@other.org',
        'alice',
        '',
      ]),
    ),
};

const MUTATOR_NAMES = Object.keys(MUTATORS);

/** Random bytes changes on the UTF-8 encoding: the result is often not UTF-8 any more. */
function mutateBytes(xml: string, rng: Rng): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(new TextEncoder().encode(xml));
  for (let n = 1 + rng.int(8); n > 0 && bytes.length > 0; n--) {
    const at = rng.int(bytes.length);
    bytes[at] = rng.chance(0.5) ? (bytes[at] ?? 0) ^ (1 << rng.int(8)) : rng.int(256);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Random documents

function randomString(rng: Rng): string {
  const alphabet = '<<<>>>//==""\'\'::&;!?[]-#xmlnsccmpRequest aAbB09\n\t';
  let out = '';
  const n = rng.int(rng.chance(0.1) ? 20_000 : 600);
  for (let i = 0; i < n; i++)
    out += rng.chance(0.8) ? alphabet.charAt(rng.int(alphabet.length)) : randomChar(rng);
  return out;
}

function randomTree(rng: Rng, depth: number, budget: { nodes: number }): string {
  budget.nodes--;
  const name = rng.pick(NAMES);
  const attrs = rng.chance(0.3)
    ? ` ${rng.pick(['entity', 'uri', 'label', 'id', 'method', 'xsi:type', 'xmlns:x', 'state'])}="${rng.pick(TEXTS).replace(/[&<"]/g, '')}"`
    : '';
  if (depth <= 0 || budget.nodes <= 0 || rng.chance(0.3)) {
    return rng.chance(0.3)
      ? `<${name}${attrs}/>`
      : `<${name}${attrs}>${rng.pick(TEXTS).replace(/[&<]/g, '')}</${name}>`;
  }
  let inner = '';
  for (let n = rng.int(5); n > 0 && budget.nodes > 0; n--) inner += randomTree(rng, depth - 1, budget);
  return `<${name}${attrs}>${inner}</${name}>`;
}

function randomEnvelope(rng: Rng): string {
  const type = rng.pick(XSI_TYPES).replace(/^ccmp:ccmp-|-request-message-type$/g, '');
  const tree = randomTree(rng, 1 + rng.int(8), { nodes: 1 + rng.int(150) });
  const common = {
    confUserID: rng.chance(0.9) ? userId('alice') : rng.pick(TEXTS),
    ...(rng.chance(0.7) ? { confObjID: rng.pick(TEXTS) } : {}),
    ...(rng.chance(0.8) ? { operation: rng.pick(OPERATIONS).replace(/[&<]/g, '') } : {}),
  };
  return ccmpRequest(type, common, tree);
}

// ---------------------------------------------------------------------------------------------
// One case: a description of how it was made, and the body

interface Case {
  index: number;
  how: string;
  body: string | Uint8Array<ArrayBuffer>;
}

function makeCase(index: number, conferences: readonly string[]): Case {
  const rng = caseRng(SEED, index, 0x1);
  const roll = rng.next();
  if (roll < 0.08) return { index, how: 'random string', body: randomString(rng) };
  if (roll < 0.2) {
    const doc = randomEnvelope(rng);
    return rng.chance(0.2)
      ? { index, how: 'random envelope, bytes', body: mutateBytes(doc, rng) }
      : { index, how: 'random envelope', body: doc };
  }
  const templateIndex = rng.int(TEMPLATES.length);
  let xml = (TEMPLATES[templateIndex] ?? '').replace(FIXTURE_CONF_ID, (id) =>
    rng.chance(0.85) && conferences.length > 0 ? rng.pick(conferences) : id,
  );
  const steps: string[] = [];
  for (let n = rng.chance(0.1) ? 0 : 1 + rng.int(3); n > 0; n--) {
    const name = rng.pick(MUTATOR_NAMES);
    steps.push(name);
    xml = MUTATORS[name]!(xml, rng);
  }
  const how = `template ${templateIndex}, ${steps.join(' + ') || 'unchanged'}`;
  return rng.chance(0.1)
    ? { index, how: `${how} + bytes`, body: mutateBytes(xml, rng) }
    : { index, how, body: xml };
}

/** The credentials of the user the request claims to be, so that requests get past the identity check. */
function credentialsFor(body: string | Uint8Array): string {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const user =
    /<confUserID>\s*xcon-userid:(alice|bob|carol)@example\.com/i.exec(text)?.[1]?.toLowerCase() ?? 'alice';
  return basic(user);
}

function describeInput(c: Case): string {
  const text =
    typeof c.body === 'string' ? c.body : `(bytes, base64) ${Buffer.from(c.body).toString('base64')}`;
  const shown = text.length > 4000 ? `${text.slice(0, 4000)}… (${text.length} characters)` : text;
  return `FUZZ_SEED=${SEED}, case ${c.index} (${c.how}), input:\n${JSON.stringify(shown)}`;
}

// ---------------------------------------------------------------------------------------------
// The envelope of a response, for the XSD check that must always hold

const CCMP_XSD = fileURLToPath(new URL('../fixtures/schemas/xcon-ccmp.rfc6503.xsd', import.meta.url));

/**
 * Elements of a CCMP response whose content comes from conference documents (possibly client-supplied).
 * The URI lists (blueprintsInfo, confsInfo, sidebarsByRefInfo) are built by the gateway and stay, with
 * their URIs replaced (a client may have chosen them).
 */
const DOCUMENT_ELEMENTS = new Set([
  'confInfo',
  'blueprintInfo',
  'sidebarByValInfo',
  'sidebarByRefInfo',
  'userInfo',
  'usersInfo',
  'sidebarsByValInfo',
]);

/** The response with every conference document emptied and every URI replaced by valid placeholders. */
function envelopeOf(xml: string): string {
  const doc = new DOMParser({ onError: onErrorStopParsing, locator: false }).parseFromString(xml, 'text/xml');
  const visit = (el: Element): void => {
    for (const child of Array.from(el.childNodes)) {
      if (child.nodeType !== child.ELEMENT_NODE) continue;
      const e = child as Element;
      if (e.namespaceURI === INFO_NS && e.localName === 'uri') {
        e.textContent = 'xcon:placeholder@example.com';
      } else if (e.namespaceURI === null && DOCUMENT_ELEMENTS.has(e.localName ?? '')) {
        while (e.firstChild) e.removeChild(e.firstChild);
        for (const a of Array.from(e.attributes))
          if (a.prefix !== 'xmlns' && a.name !== 'xmlns') e.removeAttributeNode(a);
        if (
          ['confInfo', 'blueprintInfo', 'sidebarByValInfo', 'sidebarByRefInfo'].includes(e.localName ?? '')
        ) {
          e.setAttribute('entity', 'xcon:placeholder@example.com');
        }
      } else {
        visit(e);
      }
    }
  };
  if (doc.documentElement) visit(doc.documentElement);
  return new XMLSerializer().serializeToString(doc);
}

/** xmllint's complaints about `xml` against the RFC 6503 XSD, or undefined when it is valid. */
function xsdErrors(xml: string): string | undefined {
  try {
    execFileSync('xmllint', ['--noout', '--nonet', '--schema', CCMP_XSD, '-'], {
      input: xml,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return undefined;
  } catch (err) {
    const { status, stderr } = err as { status?: number | null; stderr?: Buffer };
    if (typeof status !== 'number') throw err;
    return (stderr?.toString('utf8') ?? '')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('xml.xsd'))
      .join('\n');
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------

describe(`fuzzing the gateway (FUZZ_SEED=${SEED})`, () => {
  let app: Gateway;
  const conferences: string[] = [];

  async function createConference(subject: string): Promise<void> {
    const body = ccmpRequest(
      'conf',
      { confUserID: userId('alice'), operation: 'create' },
      '<confInfo entity="xcon:AUTO_GENERATE_1@example.com"><info:conference-description>' +
        `<info:subject>${subject}</info:subject></info:conference-description><info:users><xcon:allowed-users-list>` +
        '<xcon:target uri="xcon-userid:bob@example.com" method="dial-in"/>' +
        '<xcon:target uri="xcon-userid:carol@example.com" method="dial-in"/>' +
        '</xcon:allowed-users-list></info:users></confInfo>',
    );
    const res = await app.request('/ccmp', {
      method: 'POST',
      body,
      headers: { 'content-type': CCMP_TYPE, authorization: basic('alice') },
    });
    const answer = readCcmpResponse(await res.text());
    if (answer.code !== 200 || !answer.confObjID)
      throw new Error(`could not create a conference: ${answer.code}`);
    conferences.push(answer.confObjID);
    if (conferences.length > 4) conferences.shift();
  }

  beforeAll(async () => {
    app = await makeApp();
    for (let i = 0; i < 4; i++) await createConference(`pool ${i}`);
  });

  afterAll(() => {
    console.log(`fuzz seed: FUZZ_SEED=${SEED}`);
  });

  it(
    `answers ${CASES} mutated and random requests with 4xx text or a CCMP response, never 5xx`,
    async () => {
      expect(TEMPLATES.length).toBeGreaterThan(30);
      const started = Date.now();
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      const codes = new Map<number, number>();
      const validated = new Set<number>();
      const schemaFindings: string[] = [];
      let validations = 0;
      let slowest = { ms: 0, index: -1 };

      for (let index = 0; index < CASES && failures.length < MAX_FAILURES; index++) {
        // Fresh conferences now and then: the fuzz deletes some.
        if (index > 0 && index % 500 === 0) await createConference(`pool ${index}`);
        const c = makeCase(index, conferences);
        const fail = (why: string) => {
          failures.push(`${why}\n${describeInput(c)}`);
        };
        const t0 = Date.now();
        let status: number;
        let contentType: string;
        let text: string;
        try {
          const viaUserPath = caseRng(SEED, index, 0x2).chance(0.05);
          const res = await withTimeout(
            Promise.resolve(
              app.request(viaUserPath ? '/xcon-userid:alice@example.com' : '/ccmp', {
                method: viaUserPath ? 'PUT' : 'POST',
                body: c.body,
                headers: { 'content-type': CCMP_TYPE, authorization: credentialsFor(c.body) },
              }),
            ),
            REQUEST_MS,
            'the gateway',
          );
          status = res.status;
          contentType = res.headers.get('content-type') ?? '';
          text = await res.text();
        } catch (err) {
          fail(`the request threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          continue;
        }
        const ms = Date.now() - t0;
        if (ms > slowest.ms) slowest = { ms, index };
        statuses.set(status, (statuses.get(status) ?? 0) + 1);

        if (status >= 500) {
          fail(`HTTP ${status}: ${text.slice(0, 500)}`);
          continue;
        }
        if (status !== 200) {
          if (status < 400) fail(`HTTP ${status}: only 200 (CCMP) or 4xx (no CCMP message) are expected`);
          else if (!contentType.startsWith('text/plain') || text.trim() === '') {
            fail(
              `HTTP ${status} without a text body (${contentType}): ${JSON.stringify(text.slice(0, 200))}`,
            );
          }
          continue;
        }
        if (!contentType.startsWith('application/ccmp+xml')) {
          fail(`HTTP 200 with Content-Type ${contentType}`);
          continue;
        }
        let code: number;
        try {
          code = readCcmpResponse(text).code;
        } catch (err) {
          fail(`HTTP 200 without a well-formed CCMP response (${String(err)}):\n${text.slice(0, 2000)}`);
          continue;
        }
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code === 500) {
          fail(`CCMP response-code 500:\n${text.slice(0, 2000)}`);
          continue;
        }
        if (VALIDATE_ALL || index % 50 === 0 || !validated.has(code)) {
          validated.add(code);
          validations++;
          const envelope = xsdErrors(envelopeOf(text));
          if (envelope !== undefined) {
            fail(
              `the CCMP envelope is not valid against the RFC 6503 XSD:\n${envelope}\n--- response ---\n${text.slice(0, 3000)}`,
            );
            continue;
          }
          try {
            validateCcmpResponse(text);
          } catch (err) {
            const finding = `the CCMP response is not valid: ${err instanceof Error ? err.message.slice(0, 3000) : String(err)}`;
            if (STRICT_SCHEMA) fail(finding);
            else schemaFindings.push(`${finding}\n${describeInput(c)}`);
          }
        }
      }

      const elapsed = Date.now() - started;
      console.log(
        `fuzz: ${CASES} requests in ${elapsed} ms (slowest ${slowest.ms} ms, case ${slowest.index}); ` +
          `HTTP ${JSON.stringify(Object.fromEntries(statuses))}; CCMP ${JSON.stringify(Object.fromEntries(codes))}; ` +
          `${validations} responses validated, ${schemaFindings.length} with schema findings in their documents`,
      );
      if (schemaFindings.length > 0) {
        console.warn(
          'conference documents in CCMP responses that are not valid against the schemas ' +
            `(not counted as failures without FUZZ_STRICT_SCHEMA=1):\n${schemaFindings.slice(0, 3).join('\n\n')}`,
        );
      }
      if (failures.length > 0) console.error(failures.join('\n\n'));
      expect(failures, failures.join('\n\n')).toEqual([]);
      // The mix must reach both the HTTP checks and the CCMP operations.
      expect(statuses.get(400) ?? 0).toBeGreaterThan(CASES / 20);
      expect(statuses.get(200) ?? 0).toBeGreaterThan(CASES / 5);
      expect(codes.get(200) ?? 0).toBeGreaterThan(CASES / 100);
      expect(elapsed).toBeLessThan(APP_RUN_MS);
    },
    APP_RUN_MS + 30_000,
  );
});

describe(`fuzzing parseXml (FUZZ_SEED=${SEED})`, () => {
  /** Each call returns or throws XmlError, quickly. */
  function parseBounded(input: string, limitMs: number): { ms: number; error?: string } {
    const t0 = performance.now();
    let error: string | undefined;
    try {
      parseXml(input);
    } catch (err) {
      if (!(err instanceof XmlError)) {
        error = `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} instead of XmlError`;
      }
    }
    const ms = performance.now() - t0;
    if (error === undefined && ms > limitMs) error = `took ${ms.toFixed(0)} ms (limit ${limitMs} ms)`;
    return error === undefined ? { ms } : { ms, error };
  }

  it(
    `returns or throws XmlError quickly for ${PARSE_CASES} inputs`,
    () => {
      const started = Date.now();
      const failures: string[] = [];
      let slowest = 0;
      for (let index = 0; index < PARSE_CASES && failures.length < MAX_FAILURES; index++) {
        const c = makeCase(index, ['xcon:fuzz@example.com']);
        const rng = caseRng(SEED, index, 0x3);
        // Bytes become a string the way a lenient reader would take them.
        let input = typeof c.body === 'string' ? c.body : new TextDecoder().decode(c.body);
        if (rng.chance(0.1)) input = MUTATORS[rng.pick(MUTATOR_NAMES)]!(input, rng);
        const { ms, error } = parseBounded(input, 2_000);
        slowest = Math.max(slowest, ms);
        if (error) failures.push(`${error}\n${describeInput({ ...c, body: input })}`);
      }
      const elapsed = Date.now() - started;
      console.log(`parseXml fuzz: ${PARSE_CASES} inputs in ${elapsed} ms (slowest ${slowest.toFixed(0)} ms)`);
      expect(failures, failures.join('\n\n')).toEqual([]);
      expect(elapsed).toBeLessThan(PARSE_RUN_MS);
    },
    PARSE_RUN_MS + 30_000,
  );

  const SIZE = 512 * 1024;
  const fill = (unit: string, size = SIZE): string => unit.repeat(Math.floor(size / unit.length));
  const manyPrefixes = (n: number): string =>
    Array.from({ length: n }, (_, i) => ` xmlns:p${i}="urn:p"`).join('');

  it.each([
    [
      'namespace declarations on many elements under a wide scope',
      `<r${manyPrefixes(16_000)}>${fill('<c xmlns:a="b"/>', SIZE / 2)}</r>`,
    ],
    ['a default namespace on every element', `<r>${fill('<c xmlns="urn:c"><d/></c>')}</r>`],
    ['many attributes', `<r ${Array.from({ length: 30_000 }, (_, i) => `a${i}="1"`).join(' ')}/>`],
    ['a repeated attribute', `<r ${fill('a="1" ')}/>`],
    ['many siblings', `<r>${fill('<a/>')}</r>`],
    ['many text and comment pieces', `<r>${fill('x<!---->')}</r>`],
    ['many CDATA sections', `<r>${fill('<![CDATA[x]]>y')}</r>`],
    ['many entity references', `<r>${fill('&amp;&#x41;')}</r>`],
    ['bare ampersands', `<r>${fill('&')}</r>`],
    ['a run of <', fill('<')],
    ['a run of <a', fill('<a')],
    ['a run of >', `<r>${fill('>')}</r>`],
    ['unclosed comments', fill('<!--')],
    ['unclosed CDATA sections', `<r>${fill('<![CDATA[')}`],
    ['unclosed processing instructions', fill('<?')],
    ['end tags only', fill('</a>')],
    ['an unclosed attribute value', `<a b="${fill('x')}`],
    ['a run of quotes in a tag', `<a b="${fill('"')}`],
    ['a long name of colons', `<a:${fill(':')}/>`],
    ['whitespace in a start tag', `<a${fill(' ')}/>`],
    ['nesting at the limit, many times', `<r>${fill(`${'<a>'.repeat(63)}${'</a>'.repeat(63)}`)}</r>`],
    ['nesting far beyond the limit', fill('<a>')],
    ['unbalanced open and close tags', fill('<a></b>')],
    [
      'element names that are object keys',
      '<__proto__><constructor x="1"/><toString/><hasOwnProperty/></__proto__>',
    ],
    ['attribute names that are object keys', '<r __proto__="1" constructor="2" toString="3"/>'],
    [
      'xsi:type naming an undeclared prefix',
      '<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="q:t"/>',
    ],
  ])('handles %s in bounded time', (_name, input) => {
    const { ms, error } = parseBounded(input, 5_000);
    expect(error, `after ${ms.toFixed(0)} ms`).toBeUndefined();
  });
});
