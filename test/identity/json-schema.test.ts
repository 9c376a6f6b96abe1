import { describe, expect, it } from 'vitest';
import { validateJson, type SchemaNode } from '../../src/identity/json-schema.ts';

describe('validateJson', () => {
  const schema: SchemaNode = {
    type: 'object',
    properties: {
      list: { type: 'array', items: { $ref: '#/$defs/name' }, uniqueItems: true },
      either: { type: ['string', 'array'], minLength: 2, minItems: 1 },
      pick: { enum: ['a', 'b'] },
    },
    $defs: { name: { type: 'string', pattern: '^[a-z]+$' } },
  };

  it('accepts a valid document', () => {
    expect(validateJson(schema, { list: ['a', 'b'], either: 'xy', pick: 'a' })).toEqual([]);
  });

  it('gives a JSON path for each problem', () => {
    expect(validateJson(schema, { list: ['a', 'A', 'a'], either: [], pick: 'c' })).toEqual([
      { path: '$.list[2]', message: 'repeats an earlier item' },
      { path: '$.list[1]', message: '"A" does not match ^[a-z]+$' },
      { path: '$.either', message: 'must have at least 1 item' },
      { path: '$.pick', message: 'must be one of "a", "b"' },
    ]);
  });

  it('applies string rules only to strings and array rules only to arrays', () => {
    expect(validateJson(schema, { either: 'x' })).toEqual([
      { path: '$.either', message: 'must have at least 2 characters' },
    ]);
    expect(validateJson(schema, { either: 3 })).toEqual([
      { path: '$.either', message: 'must be a string or an array, not a number' },
    ]);
  });

  it('refuses schema keywords it does not implement, rather than skipping them', () => {
    expect(() => validateJson({ type: 'object', oneOf: [] } as unknown as SchemaNode, {})).toThrow(
      /"oneOf" is not supported/,
    );
    expect(() => validateJson({ $ref: '#/definitions/x' }, {})).toThrow(/cannot be resolved/);
  });
});
