import { describe, expect, it } from 'vitest';
import { compileMappings, normalizeDn, type DirectoryEntry } from '../../src/identity/identity-map.ts';
import { checkMappings, type MappingsDocument } from '../../src/identity/mappings.ts';
import { encodeSipUser, parseTemplate, renderTemplate } from '../../src/identity/template.ts';

function entry(dn: string, attrs: Record<string, string | string[]>, groups: string[] = []): DirectoryEntry {
  return {
    dn,
    attributes: new Map(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]])),
    groups,
  };
}

const map = (doc: MappingsDocument) => compileMappings(checkMappings(doc, 'test'));

describe('loginFor', () => {
  const m = map({
    directory: { domains: ['example.com', 'alias.example.com'] },
    identity: { sipUri: 'sip:{uid}@example.com' },
  });

  it('takes a plain login as it is', () => {
    expect(m.loginFor('alice')).toBe('alice');
    expect(m.loginFor('alice@elsewhere.org')).toBe('alice@elsewhere.org');
  });

  it('derives the login from XCON-USERIDs and SIP URIs of its domains, case-insensitively', () => {
    expect(m.loginFor('xcon-userid:alice@example.com')).toBe('alice');
    expect(m.loginFor('XCON-USERID:alice@EXAMPLE.COM')).toBe('alice');
    expect(m.loginFor('sip:alice@alias.example.com;transport=tls')).toBe('alice');
    expect(m.loginFor('sips:alice@example.com:5061')).toBe('alice');
  });

  it('decodes percent-encoded user parts', () => {
    expect(m.loginFor('xcon-userid:meta*(x)%5cuser@example.com')).toBe('meta*(x)\\user');
    expect(m.loginFor('xcon-userid:bad%zzuser@example.com')).toBeUndefined();
  });

  it('refuses foreign domains and malformed addresses', () => {
    expect(m.loginFor('xcon-userid:alice@evil.org')).toBeUndefined();
    expect(m.loginFor('xcon-userid:alice')).toBeUndefined();
    expect(m.loginFor('sip:@example.com')).toBeUndefined();
  });

  it('follows addressLogin, e.g. for mail logins', () => {
    const byMail = map({
      directory: { domains: ['example.com'], loginAttribute: 'mail', addressLogin: '{user}@{domain}' },
      identity: { sipUri: 'sip:{mail|raw}' },
    });
    expect(byMail.loginFor('sip:alice@example.com')).toBe('alice@example.com');
    expect(byMail.userFilter).toBe('(mail={user})');
  });
});

describe('principal', () => {
  const m = map({
    name: 'test',
    directory: { domains: ['example.com'] },
    identity: { sipUri: 'sip:{uid}@example.com', displayName: ['{displayName}', '{cn}'] },
    accounts: { janus: '{uid}', mail: '{mail|local}', missing: '{roomNumber}' },
    groups: { memberOfAttribute: 'memberOf' },
    roles: [
      { group: 'cn=Conf-Admins, ou=groups, dc=example, dc=com', role: 'administrator' },
      { attribute: 'employeeType', value: 'operator', role: 'operator' },
    ],
  });

  it('builds the XCON-USERID the way Linphone does, from the SIP AOR', () => {
    const p = m.principal(
      entry('uid=alice,dc=example,dc=com', { uid: 'alice', cn: 'Alice L', mail: 'a.l@example.com' }),
    );
    expect(p).toEqual({
      userId: 'xcon-userid:alice@example.com',
      username: 'alice',
      sipUri: 'sip:alice@example.com',
      displayName: 'Alice L',
      systemRoles: [],
      accounts: { janus: 'alice', mail: 'a.l' },
    });
  });

  it('maps groups (DNs compared loosely) and attribute values to system roles', () => {
    const p = m.principal(
      entry(
        'uid=bob,dc=example,dc=com',
        {
          uid: 'bob',
          memberOf: 'CN=conf-admins,OU=groups,DC=example,DC=com',
          employeeType: ['staff', 'Operator'],
        },
        ['cn=conf-admins,ou=groups,dc=example,dc=com'],
      ),
    );
    expect(p?.systemRoles).toEqual(['administrator', 'operator']);
  });

  it('percent-encodes what a SIP user part cannot hold, so the XCON-USERID stays one token', () => {
    const p = m.principal(entry('uid=x', { uid: 'a;b c\\d' }));
    expect(p?.sipUri).toBe('sip:a%3Bb%20c%5Cd@example.com');
    expect(p?.userId).toBe('xcon-userid:a%3bb%20c%5cd@example.com');
  });

  it('gives no principal when the mappings cannot make an address', () => {
    expect(m.principal(entry('cn=printer', { cn: 'Printer' }))).toBeUndefined();
  });

  it('uses an explicit userId template when given', () => {
    const custom = map({
      directory: { domains: ['example.com'] },
      identity: { sipUri: 'sip:{uid}@sip.example.com', userId: 'xcon-userid:{employeeNumber}@example.com' },
    });
    expect(custom.principal(entry('uid=a', { uid: 'a', employeeNumber: '1001' }))?.userId).toBe(
      'xcon-userid:1001@example.com',
    );
    expect(custom.attributes).toEqual(expect.arrayContaining(['uid', 'employeenumber']));
  });
});

describe('templates', () => {
  it('render undefined when a value is missing, for fallbacks', () => {
    expect(renderTemplate(parseTemplate('{a} {b}'), (n) => (n === 'a' ? 'x' : undefined))).toBeUndefined();
  });

  it('apply filters in order', () => {
    const t = parseTemplate('{mail|domain|upper}');
    expect(renderTemplate(t, () => 'Alice@Example.com')).toBe('EXAMPLE.COM');
  });

  it('encode SIP user parts byte by byte', () => {
    expect(encodeSipUser('é*()')).toBe('%C3%A9*()');
  });

  it('normalize DNs for comparison', () => {
    expect(normalizeDn('CN=A , OU=B')).toBe('cn=a,ou=b');
    expect(normalizeDn('cn=a\\,b,dc=c')).toBe('cn=a\\,b,dc=c');
  });
});
