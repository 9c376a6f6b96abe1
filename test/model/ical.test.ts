import { describe, expect, it } from 'vitest';
import { buildConferenceIcs, parseConferenceTime } from '../../src/model/ical.ts';

/** The `<xcon-conference-info:base>` text of Linphone's create request, after XML parsing (`&#xD;` + newline). */
const LINPHONE = [
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
].join('\r\n');

/** RFC 6504 §5.3 `<xcon:base>` text content, indentation and `DTEND: ` defects included. */
const RFC6504_WEEKLY = `
                     BEGIN:VCALENDAR
                     VERSION:2.0
                     PRODID:-//Mozilla.org/NONSGML
                               Mozilla Calendar V1.0//EN
                     BEGIN:VEVENT
                     DTSTAMP: 20100127T140728Z
                     UID: 20100127T140728Z-345FDA-alice@example.com
                     ORGANIZER:MAILTO:alice@example.com
                     DTSTART:20100127T143000Z
                     RRULE:FREQ=WEEKLY
                     DTEND: 20100127T163000Z
                     END:VEVENT
                     END:VCALENDAR
                   `;

const vevent = (...props: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', ...props, 'END:VEVENT', 'END:VCALENDAR', ''].join(
    '\r\n',
  );

describe('parseConferenceTime', () => {
  it('reads the Linphone create request', () => {
    expect(parseConferenceTime(LINPHONE)).toEqual({
      start: '2025-07-01T09:00:00Z',
      end: '2025-07-01T10:00:00Z',
      durationMinutes: 60,
      ical: LINPHONE,
    });
  });

  it('reads the RFC 6504 §5.3 weekly conference despite its indentation and "DTEND: " spacing', () => {
    const schedule = parseConferenceTime(RFC6504_WEEKLY);
    expect(schedule).toMatchObject({
      start: '2010-01-27T14:30:00Z',
      end: '2010-01-27T16:30:00Z',
      durationMinutes: 120,
      rrule: 'FREQ=WEEKLY',
    });
  });

  it('unfolds folded lines', () => {
    const ics = vevent(
      'DTSTART:20250701T09',
      ' 0000Z',
      'RRULE:FREQ=WEEKLY;',
      '\tBYDAY=MO,WE;COUNT=4',
      'DURATION:PT1H30M',
    );
    expect(parseConferenceTime(ics)).toMatchObject({
      start: '2025-07-01T09:00:00Z',
      durationMinutes: 90,
      // ical.js writes the rule parts in its own canonical order.
      rrule: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE',
    });
  });

  it('accepts LF-only line ends, as left by XML end-of-line normalisation', () => {
    const lf = LINPHONE.replaceAll('\r\n', '\n');
    expect(parseConferenceTime(lf)).toMatchObject({ start: '2025-07-01T09:00:00Z', durationMinutes: 60 });
  });

  it.each(['19691231T235959Z', '19700101T000000Z', '19600101T000000Z'])(
    'reads DTSTART %s as "no scheduled start"',
    (dtstart) => {
      const schedule = parseConferenceTime(vevent(`DTSTART:${dtstart}`, 'DURATION:PT30M'));
      expect(schedule.start).toBeUndefined();
      expect(schedule.end).toBeUndefined();
      expect(schedule.durationMinutes).toBe(30);
    },
  );

  it('takes the duration from DTEND when there is no DURATION', () => {
    expect(parseConferenceTime(vevent('DTSTART:20250701T090000Z', 'DTEND:20250701T104500Z'))).toMatchObject({
      start: '2025-07-01T09:00:00Z',
      end: '2025-07-01T10:45:00Z',
      durationMinutes: 105,
    });
  });

  it('converts zoned times to UTC, with or without a VTIMEZONE', () => {
    const paris = [
      'BEGIN:VTIMEZONE',
      'TZID:Europe/Paris',
      'BEGIN:DAYLIGHT',
      'TZOFFSETFROM:+0100',
      'TZOFFSETTO:+0200',
      'DTSTART:19700329T020000',
      'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
      'END:DAYLIGHT',
      'BEGIN:STANDARD',
      'TZOFFSETFROM:+0200',
      'TZOFFSETTO:+0100',
      'DTSTART:19701025T030000',
      'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
      'END:STANDARD',
      'END:VTIMEZONE',
    ];
    const withTz = ['BEGIN:VCALENDAR', 'VERSION:2.0', ...paris, 'BEGIN:VEVENT']
      .concat(['DTSTART;TZID=Europe/Paris:20250701T090000', 'DTEND;TZID=Europe/Paris:20250701T100000'])
      .concat(['END:VEVENT', 'END:VCALENDAR'])
      .join('\r\n');
    expect(parseConferenceTime(withTz)).toMatchObject({ start: '2025-07-01T07:00:00Z', durationMinutes: 60 });
    const bare = vevent('DTSTART;TZID=America/New_York:20250115T090000', 'DURATION:PT1H');
    expect(parseConferenceTime(bare).start).toBe('2025-01-15T14:00:00Z');
  });

  it.each([
    ['empty text', ''],
    ['text that is not iCalendar', 'hello world'],
    ['a calendar without an event', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n'],
    ['an unterminated calendar', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20250701T090000Z\r\n'],
    ['a bad date', vevent('DTSTART:garbage')],
    ['a bad duration', vevent('DTSTART:20250701T090000Z', 'DURATION:bogus')],
    ['an end before the start', vevent('DTSTART:20250701T090000Z', 'DTEND:20250701T080000Z')],
    ['an unknown time zone', vevent('DTSTART;TZID=Nowhere/Land:20250701T090000')],
  ])('rejects %s with a clear message', (_, ics) => {
    // The caller adds its own context (`conference-time: …`); the message says what is wrong with the text.
    expect(() => parseConferenceTime(ics)).toThrow(/iCalendar text/);
  });
});

describe('buildConferenceIcs', () => {
  const now = new Date('2025-06-24T15:30:12.345Z');

  it('writes CRLF-terminated text in the forms Linphone parses', () => {
    const ics = buildConferenceIcs({
      uid: 'conf-1@sip.example.org',
      start: '2025-07-01T09:00:00Z',
      durationMinutes: 90,
      summary: 'Weekly sync',
      sequence: 2,
      now,
    });
    expect(ics).toBe(
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//CCMP gateway//EN',
        'BEGIN:VEVENT',
        'DTSTART:20250701T090000Z',
        'DURATION:PT1H30M',
        'SUMMARY:Weekly sync',
        'SEQUENCE:2',
        'DTSTAMP:20250624T153012Z',
        'UID:conf-1@sip.example.org',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
    );
    expect(ics.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
  });

  it('writes hours and minutes only, omitting zero parts, and no DURATION for zero', () => {
    const duration = (durationMinutes: number) =>
      /DURATION:([^\r]*)/.exec(
        buildConferenceIcs({ uid: 'u', start: '2025-07-01T09:00:00Z', durationMinutes, now }),
      )?.[1];
    expect(duration(60)).toBe('PT1H');
    expect(duration(45)).toBe('PT45M');
    expect(duration(25 * 60)).toBe('PT25H');
    expect(duration(0)).toBeUndefined();
  });

  it('writes the epoch as DTSTART of an immediate conference, which reads back as no start', () => {
    const ics = buildConferenceIcs({ uid: 'u', durationMinutes: 30, now });
    expect(ics).toContain('DTSTART:19700101T000000Z\r\n');
    expect(parseConferenceTime(ics)).toMatchObject({ durationMinutes: 30 });
    expect(parseConferenceTime(ics).start).toBeUndefined();
  });

  it('round-trips through parseConferenceTime, escaping and folding long text', () => {
    const summary = 'Budget; roadmap, and a subject long enough to need folding at seventy-five octets';
    const ics = buildConferenceIcs({
      uid: 'u',
      start: '2025-07-01T09:00:00.000Z',
      durationMinutes: 60,
      rrule: 'FREQ=WEEKLY;BYDAY=TU',
      summary,
      now,
    });
    expect(ics.split('\r\n').every((line) => line.length <= 75)).toBe(true);
    expect(ics).toContain('SUMMARY:Budget\\; roadmap\\,');
    expect(parseConferenceTime(ics)).toMatchObject({
      start: '2025-07-01T09:00:00Z',
      durationMinutes: 60,
      rrule: 'FREQ=WEEKLY;BYDAY=TU',
    });
  });
});
