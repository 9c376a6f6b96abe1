/** @module test/helpers/validate.test */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateCcmpResponse, validateConferenceDocument } from './validate.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);

function read(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8');
}

function list(dir: string, suffix: string): string[] {
  return readdirSync(new URL(dir, FIXTURES))
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => dir + name);
}

// Its blueprint has <xcon:media-label>audioLabel</xcon:media-label>, which the RELAX NG types as an integer.
const NON_INTEGER_LABEL = 'rfc6503/s6.2-blueprint-retrieve-response.xml';
const USER_RESPONSE = 'rfc6503/s6.7-user-create-thirdparty-response.xml';

const NAMESPACES =
  'xmlns:ccmp="urn:ietf:params:xml:ns:xcon-ccmp" xmlns:info="urn:ietf:params:xml:ns:conference-info" ' +
  'xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

function sidebarsByValResponse(entries: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<ccmp:ccmpResponse ${NAMESPACES}>
  <ccmpResponse xsi:type="ccmp:ccmp-sidebarsByVal-response-message-type">
    <confUserID>xcon-userid:alice@example.com</confUserID>
    <confObjID>xcon:8977794@example.com</confObjID>
    <operation>retrieve</operation>
    <response-code>200</response-code>
    <version>7</version>
    <ccmp:sidebarsByValResponse>
      <sidebarsByValInfo>${entries}</sidebarsByValInfo>
    </ccmp:sidebarsByValResponse>
  </ccmpResponse>
</ccmp:ccmpResponse>`;
}

function sidebarEntry(id: string, mediaLabel: string): string {
  return `
        <info:entry entity="xcon:${id}@example.com">
          <xcon:floor-information>
            <xcon:conference-floor-policy>
              <xcon:floor id="1"><xcon:media-label>${mediaLabel}</xcon:media-label></xcon:floor>
            </xcon:conference-floor-policy>
          </xcon:floor-information>
        </info:entry>`;
}

describe('validateCcmpResponse', () => {
  const responses = [...list('rfc6503/', '-response.xml'), ...list('linphone/responses/', '.xml')];

  it('finds the example responses', () => {
    expect(responses).toHaveLength(14);
  });

  it.each(responses.filter((file) => file !== NON_INTEGER_LABEL))('accepts %s', (file) => {
    expect(() => {
      validateCcmpResponse(read(file));
    }).not.toThrow();
  });

  it('rejects the RFC 6503 §6.2 blueprint through the RELAX NG', () => {
    expect(() => {
      validateCcmpResponse(read(NON_INTEGER_LABEL));
    }).toThrow(/<blueprintInfo> of the CCMP response is not valid against the RFC 6501 RELAX NG/);
  });

  it('rejects a response without xsi:type', () => {
    const xml = read(USER_RESPONSE).replace(/\s+xsi:type="[^"]*"/, '');
    expect(() => {
      validateCcmpResponse(xml);
    }).toThrow(/RFC 6503 XSD[\s\S]*abstract/);
  });

  it('rejects a response without response-code', () => {
    const xml = read(USER_RESPONSE).replace('<response-code>200</response-code>', '');
    expect(() => {
      validateCcmpResponse(xml);
    }).toThrow(/RFC 6503 XSD[\s\S]*response-code/);
  });

  it('rejects a request', () => {
    expect(() => {
      validateCcmpResponse(read('rfc6503/s6.3-conf-create-clone-request.xml'));
    }).toThrow(/not a CCMP response/);
  });

  it('puts the offending XML in the message', () => {
    const xml = read(USER_RESPONSE).replace('<response-code>200</response-code>', '');
    expect(() => {
      validateCcmpResponse(xml);
    }).toThrow(xml);
  });

  it('checks userInfo against the RELAX NG, which the XSD lets through', () => {
    const xml = read(USER_RESPONSE).replace(
      '</userInfo>',
      '<xcon:allow-refer-users-dynamically>maybe</xcon:allow-refer-users-dynamically></userInfo>',
    );
    expect(() => {
      validateCcmpResponse(xml);
    }).toThrow(/<userInfo> of the CCMP response is not valid against the RFC 6501 RELAX NG/);
  });

  it('checks usersInfo against the RELAX NG', () => {
    const usersResponse = (target: string): string =>
      read('rfc6503/s6.5-users-update-response.xml').replace(
        '<ccmp:usersResponse/>',
        '<ccmp:usersResponse><usersInfo><xcon:allowed-users-list>' +
          `<xcon:target ${target}/>` +
          '</xcon:allowed-users-list></usersInfo></ccmp:usersResponse>',
      );
    expect(() => {
      validateCcmpResponse(usersResponse('uri="xcon-userid:bob@example.com" method="dial-in"'));
    }).not.toThrow();
    // target requires uri.
    expect(() => {
      validateCcmpResponse(usersResponse('method="dial-in"'));
    }).toThrow(/<usersInfo> of the CCMP response is not valid against the RFC 6501 RELAX NG/);
  });

  it('checks every entry of sidebarsByValInfo', () => {
    expect(() => {
      validateCcmpResponse(sidebarsByValResponse(sidebarEntry('sb1', '1') + sidebarEntry('sb2', '2')));
    }).not.toThrow();
    expect(() => {
      validateCcmpResponse(sidebarsByValResponse(sidebarEntry('sb1', '1') + sidebarEntry('sb2', 'two')));
    }).toThrow(/<info:entry> 2 of <sidebarsByValInfo>/);
  });

  it('keeps namespaces declared on the payload and inside it', () => {
    const xml = read(USER_RESPONSE)
      .replace('<userInfo ', '<userInfo xmlns:ns1="urn:example:one" ns1:flag="on" ')
      .replace(
        '</userInfo>',
        '<ns1:a/><ns2:b xmlns:ns2="urn:example:two"><ns2:c>text</ns2:c></ns2:b></userInfo>',
      );
    expect(() => {
      validateCcmpResponse(xml);
    }).not.toThrow();
  });
});

describe('validateConferenceDocument', () => {
  const documents = list('rfc6504/', '-conference-info.xml');

  it.each(documents)('accepts %s', (file) => {
    expect(() => {
      validateConferenceDocument(read(file));
    }).not.toThrow();
  });

  it('rejects a document without entity', () => {
    const xml = `<info:conference-info ${NAMESPACES}><info:users/></info:conference-info>`;
    expect(() => {
      validateConferenceDocument(xml);
    }).toThrow(/RFC 6501 RELAX NG/);
  });
});
