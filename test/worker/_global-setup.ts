/**
 * @module Node side of the Workers tests: a private OpenLDAP on 127.0.0.1 (seeded from
 * test/fixtures/ldap/seed.ldif), handed to the tests in workerd through `inject('ldap')`.
 */
import type { TestProject } from 'vitest/node';
import { serviceAccount, startSlapd } from '../services/slapd.ts';

export interface LdapService {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    ldap: LdapService;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const slapd = await startSlapd();
  project.provide('ldap', { url: slapd.url, baseDn: slapd.suffix, ...serviceAccount(slapd.suffix) });
  return () => slapd.dispose();
}
