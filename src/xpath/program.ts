/**
 * @module A client's XPath expression, parsed by the `xpath` library, checked and instrumented.
 *
 * The library parses into a tree of expression objects, each with an `evaluate(context)` method,
 * and location steps that call `nodeTest.matches(node)` for every candidate node. Instrumenting
 * that tree (own properties on this tree's objects only; the library's shared singletons and
 * prototypes are never touched) lets the meter charge the real work and stop runaway filters. The
 * tree walk also re-checks, on the parsed form, what the tokenizer already refused: variables and
 * functions outside the allowed set, plus the argument counts of the core functions.
 *
 * The library's typings describe only its convenience API, so the internals used here are typed
 * locally. The version of `xpath` is pinned in package.json for this reason.
 */
import xpathModule from 'xpath';
import { XPathFilterError } from './errors.ts';
import { CORE_FUNCTIONS } from './expression.ts';
import { charge } from './meter.ts';

interface XObject {
  booleanValue(): boolean;
}

interface XNodeSetLike extends XObject {
  readonly size: number;
}

interface XStringLike extends XObject {
  stringValue(): string;
}

type Comparison =
  'equals' | 'notequal' | 'lessthan' | 'greaterthan' | 'lessthanorequal' | 'greaterthanorequal';
type Comparable = Record<Comparison, (other: XObject) => XObject>;

interface ExprNode {
  evaluate(context: unknown): XObject;
  lhs?: ExprNode;
  rhs?: ExprNode;
  functionName?: string;
  arguments?: unknown[];
}

interface StepNode {
  nodeTest: { matches(node: unknown, context: unknown): boolean };
  predicates: unknown[];
}

interface Parsed {
  expression: ExprNode;
  evaluate(options: { node: unknown }): XObject;
}

type Class = abstract new (...args: never[]) => object;

interface XPathInternals {
  parse(expression: string): Parsed;
  Step: Class;
  FunctionCall: Class;
  VariableReference: Class;
  XString: Class;
  XNumber: Class;
  XBoolean: Class;
  XNodeSet: Class;
  EqualsOperation: Class;
  NotEqualOperation: Class;
  LessThanOperation: Class;
  GreaterThanOperation: Class;
  LessThanOrEqualOperation: Class;
  GreaterThanOrEqualOperation: Class;
}

const lib = xpathModule as unknown as XPathInternals;

/**
 * Core functions the sandbox refuses anyway. `id()` needs ID-typed attributes, which documents
 * without a DTD do not have, and the DOM answers it with a full scan that no step would pay for.
 */
const REFUSED_CORE_FUNCTIONS: ReadonlySet<string> = new Set(['id']);

/**
 * Characters of a string result charged as one unit. Building a string-value walks the subtree it
 * comes from, and conference documents hold a few characters of text per node.
 */
const CHARS_PER_UNIT = 8;

const COMPARISONS: readonly (readonly [Class, Comparison])[] = [
  [lib.EqualsOperation, 'equals'],
  [lib.NotEqualOperation, 'notequal'],
  [lib.LessThanOperation, 'lessthan'],
  [lib.GreaterThanOperation, 'greaterthan'],
  [lib.LessThanOrEqualOperation, 'lessthanorequal'],
  [lib.GreaterThanOrEqualOperation, 'greaterthanorequal'],
];

function isValue(node: object): boolean {
  return (
    node instanceof lib.XString ||
    node instanceof lib.XNumber ||
    node instanceof lib.XBoolean ||
    node instanceof lib.XNodeSet
  );
}

function checkFunction(node: ExprNode): void {
  const name = node.functionName ?? '';
  const arity = CORE_FUNCTIONS.get(name);
  if (arity === undefined || REFUSED_CORE_FUNCTIONS.has(name)) {
    throw new XPathFilterError(`xpathFilter uses function ${name}(), which is not allowed`);
  }
  const count = node.arguments?.length ?? 0;
  if (count < arity.min || count > arity.max) {
    const expected =
      arity.max === Number.POSITIVE_INFINITY
        ? `at least ${arity.min}`
        : arity.min === arity.max
          ? `${arity.min}`
          : `${arity.min} or ${arity.max}`;
    throw new XPathFilterError(
      `xpathFilter is not valid XPath 1.0: ${name}() takes ${expected} argument(s), not ${count}`,
    );
  }
}

function instrumentStep(step: StepNode): void {
  // Node tests such as node() are singletons shared by every parsed expression: wrap, never patch.
  const test = step.nodeTest;
  step.nodeTest = Object.create(test, {
    matches: {
      value: (node: unknown, context: unknown): boolean => {
        charge(1);
        return test.matches(node, context);
      },
    },
  }) as StepNode['nodeTest'];
}

function instrumentExpression(node: ExprNode): void {
  const comparison = COMPARISONS.find(([cls]) => node instanceof cls)?.[1];
  if (comparison !== undefined && node.lhs !== undefined && node.rhs !== undefined) {
    const { lhs, rhs } = node;
    // Comparing two node-sets compares every pair of string-values (XPath 1.0 §3.4).
    node.evaluate = (context: unknown): XObject => {
      charge(1);
      const left = lhs.evaluate(context);
      const right = rhs.evaluate(context);
      if (left instanceof lib.XNodeSet && right instanceof lib.XNodeSet) {
        charge((left as XNodeSetLike).size * (right as XNodeSetLike).size);
      }
      return (left as unknown as Comparable)[comparison](right);
    };
    return;
  }
  const evaluate = node.evaluate.bind(node);
  node.evaluate = (context: unknown): XObject => {
    charge(1);
    const result = evaluate(context);
    if (result instanceof lib.XString) {
      charge(Math.floor((result as XStringLike).stringValue().length / CHARS_PER_UNIT));
    }
    return result;
  };
}

/** Checks and instruments every node of a parsed tree. */
function prepare(root: ExprNode): void {
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value instanceof lib.VariableReference) {
      throw new XPathFilterError('xpathFilter uses a variable; variables are not allowed');
    }
    if (value instanceof lib.Step) {
      const step = value as StepNode;
      instrumentStep(step);
      visit(step.predicates);
      return;
    }
    if (isValue(value)) return;
    if (value instanceof lib.FunctionCall) checkFunction(value as ExprNode);
    const children = Object.values(value);
    if (typeof (value as Partial<ExprNode>).evaluate === 'function') instrumentExpression(value as ExprNode);
    for (const child of children) visit(child);
  };
  visit(root);
}

/** A compiled expression: pure apart from the meter it charges. Safe to share between requests. */
export class Program {
  private constructor(private readonly parsed: Parsed) {}

  /** Parses `expression` (already rewritten by rewriteExpression). Throws XPathFilterError. */
  static compile(expression: string): Program {
    let parsed: Parsed;
    try {
      parsed = lib.parse(expression);
    } catch (e) {
      throw new XPathFilterError(
        `xpathFilter is not valid XPath 1.0: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    prepare(parsed.expression);
    return new Program(parsed);
  }

  /**
   * Evaluates over a document node and converts the result as XPath's boolean() does: a non-empty
   * node-set, true, a number other than zero and NaN, or a non-empty string is a match.
   */
  test(documentNode: unknown): boolean {
    try {
      return this.parsed.evaluate({ node: documentNode }).booleanValue();
    } catch (e) {
      if (e instanceof XPathFilterError) throw e;
      // Type errors such as count('x') only show up at evaluation time.
      throw new XPathFilterError(
        `xpathFilter could not be evaluated: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}
