/** @module Helpers shared by the auth tests: requests, clocks, the mappings of the seeded directory. */
import { readFileSync } from 'node:fs';
import type { AuthRequest } from '../../src/auth/types.ts';
import { compileMappings, type IdentityMap } from '../../src/identity/identity-map.ts';
import { parseMappings } from '../../src/identity/mappings.ts';

export function request(
  headers: Record<string, string> = {},
  extra: Partial<Omit<AuthRequest, 'header'>> = {},
): AuthRequest {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'POST',
    url: '/xml/',
    clientAddress: '192.0.2.10',
    header: (name) => lower.get(name.toLowerCase()),
    ...extra,
  };
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` };
}

/** A clock the test moves by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

export const MAPPINGS_FILE = new URL('../../mappings/openldap-inetorgperson.json', import.meta.url);

/** The shipped OpenLDAP mappings: they fit the seeded test directory. */
export function seededMappings(): IdentityMap {
  return compileMappings(parseMappings(readFileSync(MAPPINGS_FILE, 'utf8'), 'openldap-inetorgperson.json'));
}
