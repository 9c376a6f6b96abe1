/**
 * @module The sandboxed evaluator for CCMP `<xpathFilter>` (RFC 6503 blueprintsRequest,
 * confsRequest, sidebarsByValRequest and sidebarsByRefRequest).
 *
 * A filter is an XPath 1.0 expression evaluated once per conference document, with the document
 * node as context; a document is listed when the result, converted as by XPath's boolean(), is
 * true: a non-empty node-set, true, a number other than 0 and NaN, or a non-empty string.
 *
 * Names match by local name, so both the RFC style, `/conference-info[conference-state/active='false']`,
 * and prefixed names, `/info:conference-info/xcon:floor-information` (also with the `ccmp:`,
 * `conference-info:` and `xcon-conference-info:` prefixes), work; any other prefix is refused.
 *
 * The expression comes from the client and costs server time (RFC 6503 sets no limits), so it is
 * sandboxed: a length cap; only the XPath 1.0 core functions (without `id()`); no variables; a cap on
 * the number of documents per request; and an evaluation budget per request, counted in steps and
 * in wall-clock time. Callers must pass only documents the requester may read. XPathFilterError
 * has `kind` 'invalid' (answer 400) or 'budget' (answer 510); XPathDocumentError means a stored
 * document is broken (an internal error).
 */
import { budgetExceeded, XPathFilterError } from './errors.ts';
import { rewriteExpression } from './expression.ts';
import { namespaceFreeDocument } from './document.ts';
import { Lru } from '../util/lru.ts';
import { activeMeter, Meter, withMeter } from './meter.ts';
import { Program } from './program.ts';

export { XPathDocumentError, XPathFilterError } from './errors.ts';
export type { XPathFilterErrorKind } from './errors.ts';

export interface XPathLimits {
  /** Longest expression accepted, in UTF-16 code units. */
  maxExpressionLength: number;
  /** Most documents one request may filter; more is a budget error before any work is done. */
  maxDocuments: number;
  /** Evaluation steps per request: nodes tested by location steps, sub-expressions evaluated, and so on. */
  maxNodesVisited?: number;
  /** Wall-clock time per request, parsing included. */
  maxMillis?: number;
}

export const DEFAULT_XPATH_LIMITS: Readonly<Required<XPathLimits>> = {
  maxExpressionLength: 1024,
  maxDocuments: 10_000,
  // Node evaluates roughly 2 to 4 million steps a second, so in Node the time budget usually bites
  // first; on Workers, where the clock stands still during synchronous code, this limit does.
  maxNodesVisited: 1_000_000,
  maxMillis: 250,
};

export interface CompiledFilter {
  /** True when the filter selects this document. Throws XPathFilterError or XPathDocumentError. */
  matches(documentXml: string): boolean;
}

/** Compiled programs are immutable and independent of the limits, so requests share them. */
const compiled = new Lru<string, { rewritten: string; program: Program }>(100);

function resolveLimits(limits: Partial<XPathLimits> | undefined): Required<XPathLimits> {
  const resolved = { ...DEFAULT_XPATH_LIMITS };
  for (const key of Object.keys(resolved) as (keyof XPathLimits)[]) {
    const value = limits?.[key];
    if (value !== undefined) resolved[key] = value;
  }
  return resolved;
}

class Filter implements CompiledFilter {
  constructor(
    /** The expression as evaluated, known prefixes removed. */
    readonly expression: string,
    private readonly program: Program,
    private readonly limits: Required<XPathLimits>,
  ) {}

  matches(documentXml: string): boolean {
    // Inside filterDocuments the request's meter pays; a lone call gets a budget of its own.
    const meter = activeMeter() ?? new Meter(this.limits.maxNodesVisited, this.limits.maxMillis);
    const document = namespaceFreeDocument(documentXml);
    return withMeter(meter, () => this.program.test(document));
  }
}

/** Checks and compiles a client's filter. Throws XPathFilterError (kind 'invalid'). */
export function compileXPathFilter(expression: string, limits?: Partial<XPathLimits>): CompiledFilter {
  const resolved = resolveLimits(limits);
  if (expression.length > resolved.maxExpressionLength) {
    throw new XPathFilterError(`xpathFilter is longer than ${resolved.maxExpressionLength} characters`);
  }
  let entry = compiled.get(expression);
  if (entry === undefined) {
    const rewritten = rewriteExpression(expression);
    entry = { rewritten, program: Program.compile(rewritten) };
    compiled.set(expression, entry);
  }
  return new Filter(entry.rewritten, entry.program, resolved);
}

/**
 * The items whose document the filter selects, in their original order. The whole call shares one
 * budget; exceeding it throws XPathFilterError (kind 'budget') rather than returning a partial list.
 */
export function filterDocuments<T>(
  filter: CompiledFilter,
  items: T[],
  getXml: (t: T) => string,
  limits?: Partial<XPathLimits>,
): T[] {
  const resolved = resolveLimits(limits);
  if (items.length > resolved.maxDocuments) {
    throw budgetExceeded(`more than ${resolved.maxDocuments} documents`);
  }
  const meter = new Meter(resolved.maxNodesVisited, resolved.maxMillis);
  return withMeter(meter, () =>
    items.filter((item) => {
      // Checked per document too: parsing is not metered in steps.
      meter.checkClock();
      return filter.matches(getXml(item));
    }),
  );
}
