/** @module HTTP Basic and CCMP `<subject>` credentials, both verified by the directory. */
import type { AuthScheme, Directory } from './types.ts';

export function basicScheme(directory: Directory, realm: string): AuthScheme {
  return {
    name: 'basic',
    challenge: () => `Basic realm="${realm}", charset="UTF-8"`,
    async authenticate(request) {
      const header = request.header('authorization');
      if (!header || !/^basic\s/i.test(header)) return { status: 'absent' };
      const decoded = decodeBase64(header.slice(6).trim());
      const colon = decoded?.indexOf(':') ?? -1;
      if (decoded === undefined || colon < 1) {
        return { status: 'rejected', scheme: 'basic', reason: 'malformed Basic credentials' };
      }
      const username = decoded.slice(0, colon);
      const principal = await directory.verifyPassword(username, decoded.slice(colon + 1));
      if (!principal)
        return { status: 'rejected', scheme: 'basic', reason: 'wrong username or password', user: username };
      return { status: 'authenticated', principal, scheme: 'basic' };
    },
  };
}

export function subjectScheme(directory: Directory): AuthScheme {
  return {
    name: 'subject',
    async authenticate(request) {
      const subject = request.subject;
      if (!subject || (subject.username === undefined && subject.password === undefined))
        return { status: 'absent' };
      if (!subject.username || subject.password === undefined) {
        return {
          status: 'rejected',
          scheme: 'subject',
          reason: '<subject> needs both username and password',
        };
      }
      const principal = await directory.verifyPassword(subject.username, subject.password);
      if (!principal) {
        return {
          status: 'rejected',
          scheme: 'subject',
          reason: 'wrong username or password',
          user: subject.username,
        };
      }
      return { status: 'authenticated', principal, scheme: 'subject' };
    },
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeBase64(value: string): string | undefined {
  try {
    const binary = atob(value);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
