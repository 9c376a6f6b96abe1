/**
 * @module A small JSON Schema validator: the subset that `mappings/schema.json` uses, and no more.
 *
 * A dependency would do more, but the mappings are validated once at start and need clear messages
 * more than completeness. Keywords outside the subset make the validator throw, so the schema can
 * never rely on a rule that is silently skipped.
 */

export interface SchemaNode {
  $schema?: string;
  $id?: string;
  $comment?: string;
  $defs?: Record<string, SchemaNode>;
  $ref?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  minProperties?: number;
  items?: SchemaNode;
  minItems?: number;
  uniqueItems?: boolean;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  anyOf?: SchemaNode[];
}

export interface SchemaIssue {
  /** JSON path of the offending value, `$` for the document itself. */
  path: string;
  message: string;
}

const ANNOTATIONS = new Set(['$schema', '$id', '$comment', '$defs', 'title', 'description']);
const CHECKS = new Set([
  '$ref',
  'type',
  'properties',
  'patternProperties',
  'additionalProperties',
  'required',
  'minProperties',
  'items',
  'minItems',
  'uniqueItems',
  'enum',
  'const',
  'pattern',
  'minLength',
  'maxLength',
  'anyOf',
]);

/** Every problem found in `value`, in document order; an empty list means valid. */
export function validateJson(schema: SchemaNode, value: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  check(schema, schema, value, '$', issues);
  return issues;
}

/** Appends a property name to a JSON path, quoting names that are not plain identifiers. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function check(root: SchemaNode, node: SchemaNode, value: unknown, path: string, out: SchemaIssue[]): void {
  for (const keyword of Object.keys(node)) {
    if (!ANNOTATIONS.has(keyword) && !CHECKS.has(keyword)) {
      throw new Error(`JSON schema keyword "${keyword}" is not supported by this validator`);
    }
  }
  if (node.$ref !== undefined) check(root, resolve(root, node.$ref), value, path, out);

  if (node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((t) => hasType(value, t))) {
      out.push({ path, message: `must be ${types.map(article).join(' or ')}, not ${describe(value)}` });
      return;
    }
  }
  if (node.enum !== undefined && !node.enum.some((e) => sameJson(e, value))) {
    out.push({ path, message: `must be one of ${node.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  }
  if (node.const !== undefined && !sameJson(node.const, value)) {
    out.push({ path, message: `must be ${JSON.stringify(node.const)}` });
  }
  if (typeof value === 'string') checkString(node, value, path, out);
  if (Array.isArray(value)) checkArray(root, node, value, path, out);
  else if (isObject(value)) checkObject(root, node, value, path, out);

  if (node.anyOf !== undefined) {
    const attempts = node.anyOf.map((branch) => {
      const branchIssues: SchemaIssue[] = [];
      check(root, branch, value, path, branchIssues);
      return { branch, branchIssues };
    });
    if (!attempts.some((a) => a.branchIssues.length === 0)) {
      const forms = attempts.map(
        (a) => a.branch.description ?? a.branchIssues.map((i) => i.message).join('; '),
      );
      out.push({ path, message: `must match one of: ${forms.join(' | ')}` });
    }
  }
}

function checkString(node: SchemaNode, value: string, path: string, out: SchemaIssue[]): void {
  // Length in code points, as JSON Schema counts it.
  const length = Array.from(value).length;
  if (node.minLength !== undefined && length < node.minLength) {
    out.push({
      path,
      message: node.minLength === 1 ? 'must not be empty' : `must have at least ${node.minLength} characters`,
    });
  }
  if (node.maxLength !== undefined && length > node.maxLength) {
    out.push({ path, message: `must have at most ${node.maxLength} characters` });
  }
  if (node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(value)) {
    out.push({ path, message: `${JSON.stringify(value)} does not match ${node.pattern}` });
  }
}

function checkArray(
  root: SchemaNode,
  node: SchemaNode,
  value: unknown[],
  path: string,
  out: SchemaIssue[],
): void {
  if (node.minItems !== undefined && value.length < node.minItems) {
    out.push({ path, message: `must have at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}` });
  }
  if (node.uniqueItems === true) {
    value.forEach((item, i) => {
      if (value.findIndex((other) => sameJson(other, item)) < i) {
        out.push({ path: childPath(path, i), message: 'repeats an earlier item' });
      }
    });
  }
  const items = node.items;
  if (items !== undefined) {
    value.forEach((item, i) => {
      check(root, items, item, childPath(path, i), out);
    });
  }
}

function checkObject(
  root: SchemaNode,
  node: SchemaNode,
  value: Record<string, unknown>,
  path: string,
  out: SchemaIssue[],
): void {
  for (const name of node.required ?? []) {
    if (!Object.hasOwn(value, name)) out.push({ path, message: `must have the property "${name}"` });
  }
  if (node.minProperties !== undefined && Object.keys(value).length < node.minProperties) {
    out.push({
      path,
      message: `must have at least ${node.minProperties} propert${node.minProperties === 1 ? 'y' : 'ies'}`,
    });
  }
  for (const [key, child] of Object.entries(value)) {
    const at = childPath(path, key);
    let known = false;
    const declared =
      node.properties && Object.hasOwn(node.properties, key) ? node.properties[key] : undefined;
    if (declared) {
      known = true;
      check(root, declared, child, at, out);
    }
    for (const [pattern, schema] of Object.entries(node.patternProperties ?? {})) {
      if (new RegExp(pattern, 'u').test(key)) {
        known = true;
        check(root, schema, child, at, out);
      }
    }
    if (known || node.additionalProperties === undefined || node.additionalProperties === true) continue;
    if (node.additionalProperties === false) out.push({ path: at, message: 'is not an allowed property' });
    else check(root, node.additionalProperties, child, at, out);
  }
}

function resolve(root: SchemaNode, ref: string): SchemaNode {
  const m = /^#\/\$defs\/([^/]+)$/.exec(ref);
  const target = m?.[1] !== undefined ? root.$defs?.[m[1]] : undefined;
  if (!target) {
    throw new Error(`JSON schema reference "${ref}" cannot be resolved (only #/$defs/<name> is supported)`);
  }
  return target;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      throw new Error(`JSON schema type "${type}" is not supported by this validator`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return article(typeof value);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
    );
  }
  return false;
}
