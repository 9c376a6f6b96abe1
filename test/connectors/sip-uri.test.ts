import { describe, expect, it } from 'vitest';
import { canonicalSipUri, sipFromXconUserId, xconUserIdFromSip } from '../../connectors/_internal/sip-uri.ts';

describe('canonicalSipUri (liblinphone toStringUriOnlyOrdered)', () => {
  it.each([
    ['sip:conference-focus@sip.example.org', 'sip:conference-focus@sip.example.org'],
    [
      'sip:conference-focus@Sip.Example.org:5060;transport=tcp;conf-id=7f3c2a91',
      'sip:conference-focus@sip.example.org;conf-id=7f3c2a91;transport=tcp',
    ],
    ['"Marie" <sip:marie@sip.example.org;gr=urn:uuid:1234>', 'sip:marie@sip.example.org'],
    [
      '<SIPS:bob:secret@[2001:db8::1]:5061;lr;Transport=TLS?subject=x>',
      'sips:bob@[2001:db8::1];lr;transport=TLS',
    ],
    ['sip:example.org', 'sip:example.org'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalSipUri(input)).toBe(expected);
  });

  it.each([
    '',
    'mailto:bob@example.org',
    'sip:',
    'sip:bob@',
    'sip:bob smith@example.org',
    'sip:bob@exa mple.org',
  ])('rejects %j', (input) => {
    expect(() => canonicalSipUri(input)).toThrow();
  });
});

describe('XCON-USERID derivation (Linphone: the scheme becomes xcon-userid)', () => {
  it('derives the XCON-USERID from a SIP AOR, without parameters', () => {
    expect(xconUserIdFromSip('sip:Marie@sip.example.org;transport=tls')).toBe(
      'xcon-userid:marie@sip.example.org',
    );
  });

  it('derives the SIP AOR back, completing a bare user with the domain', () => {
    expect(sipFromXconUserId('xcon-userid:pauline@sip.example.org', 'example.com')).toBe(
      'sip:pauline@sip.example.org',
    );
    expect(sipFromXconUserId('xcon-userid:laure', 'sip.example.org')).toBe('sip:laure@sip.example.org');
  });
});
