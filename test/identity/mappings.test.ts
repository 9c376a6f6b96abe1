import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkMappings, defaultMappings, MappingsError, parseMappings } from '../../src/identity/mappings.ts';

const DIR = new URL('../../mappings/', import.meta.url);

function issuesOf(run: () => unknown): { file: string; path: string; message: string }[] {
  try {
    run();
  } catch (err) {
    if (err instanceof MappingsError) return err.issues;
    throw err;
  }
  throw new Error('expected a MappingsError');
}

const valid = {
  directory: { domains: ['example.com'] },
  identity: { sipUri: 'sip:{uid}@example.com' },
};

describe('shipped mappings', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'schema.json');

  it('include the OpenLDAP and Flexisip examples', () => {
    expect(files).toEqual(
      expect.arrayContaining(['openldap-inetorgperson.json', 'flexisip-sip-domain.json']),
    );
  });

  it.each(files)('%s validates against mappings/schema.json', (file) => {
    expect(() => parseMappings(readFileSync(new URL(file, DIR), 'utf8'), file)).not.toThrow();
  });

  it('the default mappings validate too', () => {
    expect(() => checkMappings(defaultMappings('Example.COM'), 'default')).not.toThrow();
    expect(defaultMappings('example.com', ['EXAMPLE.com', 'corp.example.com']).directory.domains).toEqual([
      'example.com',
      'corp.example.com',
    ]);
  });
});

describe('mappings errors', () => {
  it('name the file and the JSON path of every problem at once', () => {
    const issues = issuesOf(() =>
      checkMappings(
        {
          directory: { domains: [], loginAttribute: 'not an attribute' },
          identity: { sipUri: 'http://{uid}' },
          accounts: { Janus: '{uid}' },
          roles: [{ role: 'Administrator', group: 'cn=x,dc=y' }, { role: 'operator' }],
          extra: true,
        },
        'mappings/site.json',
      ),
    );
    expect(issues.every((i) => i.file === 'mappings/site.json')).toBe(true);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '$.directory.domains',
        '$.directory.loginAttribute',
        '$.identity.sipUri',
        '$.accounts.Janus',
        '$.roles[0].role',
        '$.roles[1]',
        '$.extra',
      ]),
    );
    expect(issues.find((i) => i.path === '$.directory.domains')?.message).toBe('must have at least 1 item');
    expect(issues.find((i) => i.path === '$.extra')?.message).toBe('is not an allowed property');
    expect(issues.find((i) => i.path === '$.roles[1]')?.message).toContain('{ group, role }');
  });

  it('report missing sections and wrong types', () => {
    const issues = issuesOf(() => checkMappings({ directory: { domains: 'example.com' } }, 'm.json'));
    expect(issues).toEqual([
      { file: 'm.json', path: '$', message: 'must have the property "identity"' },
      { file: 'm.json', path: '$.directory.domains', message: 'must be an array, not a string' },
    ]);
  });

  it('report template mistakes the schema cannot see', () => {
    const issues = issuesOf(() =>
      checkMappings(
        {
          directory: { domains: ['example.com'], addressLogin: '{user}@{host}', userFilter: '(uid=alice)' },
          identity: { sipUri: 'sip:{uid|upper|bogus}@example.com', displayName: ['{cn}', '{sn'] },
          roles: [{ role: 'administrator', group: 'cn=admins,dc=example,dc=com' }],
        },
        'm.json',
      ),
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      '$.directory.addressLogin: may use only {user} and {domain}',
      '$.directory.userFilter: must contain {user}',
      '$.identity.sipUri: unknown filter "bogus" in "sip:{uid|upper|bogus}@example.com" (known: lower, upper, local, domain, raw)',
      '$.identity.displayName[1]: unclosed "{" in "{sn"',
      '$.roles[0].group: needs "groups" to say where memberships come from',
    ]);
  });

  it('report a file that is not JSON', () => {
    expect(issuesOf(() => parseMappings('{ "directory": ', 'broken.json'))).toEqual([
      { file: 'broken.json', path: '$', message: expect.stringContaining('is not JSON') as unknown },
    ]);
  });

  it('quote unusual property names in paths', () => {
    const issues = issuesOf(() => checkMappings({ ...valid, accounts: { 'my connector': 'x' } }, 'm.json'));
    expect(issues[0]?.path).toBe('$.accounts["my connector"]');
  });

  it('carry all issues in the error message, for the start-up log', () => {
    expect(() => checkMappings({ ...valid, identity: {} }, 'site.json')).toThrow(
      /site\.json: \$\.identity: must have the property "sipUri"/,
    );
  });

  it('accept $comment everywhere', () => {
    expect(() =>
      checkMappings(
        {
          $comment: 'top',
          directory: { $comment: ['a', 'b'], domains: ['example.com'] },
          identity: { $comment: 'x', sipUri: 'sip:{uid}@example.com' },
          accounts: { $comment: 'x', janus: '{uid}' },
          groups: { $comment: 'x', memberOfAttribute: 'memberOf' },
          roles: [{ $comment: 'x', group: 'cn=a,dc=b', role: 'administrator' }],
        },
        'm.json',
      ),
    ).not.toThrow();
  });
});
