/** @module The CCMP request bodies of the benchmark, and checks on the answers. */

export const DOMAIN = 'example.com';

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<ccmp:ccmpRequest xmlns:ccmp="urn:ietf:params:xml:ns:xcon-ccmp" ' +
  'xmlns:info="urn:ietf:params:xml:ns:conference-info" ' +
  'xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">';
const ENVELOPE_CLOSE = '</ccmp:ccmpRequest>';

export function userId(user: string): string {
  return `xcon-userid:${user}@${DOMAIN}`;
}

/** HTTP Basic credentials; by default those of the demo directory, whose passwords are the user names. */
export function basicAuth(user: string, password = user): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A conference creation as Linphone sends it: subject, media, an iCalendar time, two invitees. */
export function createBody(user: string): string {
  return (
    ENVELOPE_OPEN +
    '<ccmpRequest xsi:type="ccmp:ccmp-conf-request-message-type">' +
    `<confUserID>${userId(user)}</confUserID>` +
    '<operation>create</operation>' +
    '<ccmp:confRequest>' +
    `<confInfo entity="xcon:AUTO_GENERATE_1@${DOMAIN}" state="full">` +
    '<info:conference-description>' +
    '<info:subject>Weekly sync</info:subject>' +
    '<info:free-text>Agenda: roadmap &amp; budget</info:free-text>' +
    '<info:available-media>' +
    media(2, 'audio', 'sendrecv') +
    media(3, 'video', 'sendrecv') +
    media(4, 'text', 'inactive') +
    '</info:available-media>' +
    '<xcon:conference-time><xcon:entry><xcon:base>' +
    [
      'BEGIN:VCALENDAR',
      'METHOD:REQUEST',
      'PRODID:-//Linphone//Conference calendar//EN',
      'VERSION:2.0',
      'BEGIN:VEVENT',
      'DTSTART:20250701T090000Z',
      'DURATION:PT1H',
      'DTSTAMP:20250624T153012Z',
      'UID:2025624T153012Z@domain.invalid',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('&#xD;\n') +
    '</xcon:base></xcon:entry></xcon:conference-time>' +
    '</info:conference-description>' +
    '<info:users state="full"><xcon:allowed-users-list>' +
    `<xcon:target method="dial-in" uri="sip:pauline@${DOMAIN}"/>` +
    `<xcon:target method="dial-in" uri="sip:laure@${DOMAIN}"/>` +
    '</xcon:allowed-users-list></info:users>' +
    '</confInfo></ccmp:confRequest></ccmpRequest>' +
    ENVELOPE_CLOSE
  );
}

function media(label: number, type: string, status: string): string {
  return (
    `<info:entry label="AUTO_GENERATE_${label}"><info:display-text>${type}</info:display-text>` +
    `<info:type>${type}</info:type><info:status>${status}</info:status></info:entry>`
  );
}

export function retrieveBody(user: string, confObjID: string): string {
  return (
    ENVELOPE_OPEN +
    '<ccmpRequest xsi:type="ccmp:ccmp-conf-request-message-type">' +
    `<confUserID>${userId(user)}</confUserID><confObjID>${confObjID}</confObjID>` +
    '<operation>retrieve</operation><ccmp:confRequest/></ccmpRequest>' +
    ENVELOPE_CLOSE
  );
}

export function confsBody(user: string): string {
  return (
    ENVELOPE_OPEN +
    '<ccmpRequest xsi:type="ccmp:ccmp-confs-request-message-type">' +
    `<confUserID>${userId(user)}</confUserID><ccmp:confsRequest/></ccmpRequest>` +
    ENVELOPE_CLOSE
  );
}

const RESPONSE_CODE = /<response-code>(\d+)<\/response-code>/;

/** The CCMP response code of an answer, or undefined when there is none. */
export function responseCode(body: string): number | undefined {
  const m = RESPONSE_CODE.exec(body);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export function confObjIdOf(body: string): string | undefined {
  return /<confObjID>([^<]+)<\/confObjID>/.exec(body)?.[1];
}

/** The number of conferences in a confsResponse. */
export function confsEntries(body: string): number {
  const info = /<confsInfo>([\s\S]*)<\/confsInfo>/.exec(body)?.[1] ?? '';
  return info.split('<info:uri>').length - 1;
}
