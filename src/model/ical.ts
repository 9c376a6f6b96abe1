/**
 * @module iCalendar text of `xcon:conference-time` ⇄ the neutral schedule.
 *
 * CCMP carries a conference's schedule as iCalendar text (RFC 5545) inside `<xcon:base>`. Parsing is
 * done by ical.js; this module only repairs what the XML around the text does to it, and applies
 * the conventions clients rely on: Linphone says "now" with a DTSTART at or before the Unix epoch,
 * and parses back only the `yyyyMMddTHHmmssZ` / `PT<h>H<m>M` forms it writes itself.
 * Pure JavaScript, no Node APIs: it runs on Cloudflare Workers too.
 */
import ICAL from 'ical.js';
import type { ScheduleSpec } from '../../connectors/types.ts';

type IcalComponent = InstanceType<typeof ICAL.Component>;
type IcalProperty = InstanceType<typeof ICAL.Property>;
type IcalTime = InstanceType<typeof ICAL.Time>;

/** Reads the schedule of the first VEVENT. Throws an Error saying what is wrong for unusable text. */
export function parseConferenceTime(ics: string): ScheduleSpec {
  const text = repair(ics);
  if (text === '') throw new Error('the iCalendar text is empty');
  let root: IcalComponent;
  try {
    root = new ICAL.Component(first(ICAL.parse(text)));
  } catch (err) {
    throw new Error(`unparseable iCalendar text (${messageOf(err)})`, { cause: err });
  }
  const event = root.name === 'vevent' ? root : root.getFirstSubcomponent('vevent');
  if (!event) throw new Error('the iCalendar text has no VEVENT');

  try {
    const dtstart = event.getFirstProperty('dtstart');
    const dtend = event.getFirstProperty('dtend');
    const duration = event.getFirstProperty('duration');
    const rrule = event.getFirstProperty('rrule');
    const startAt = dtstart ? instant(dtstart) : undefined;
    // Linphone's immediate conferences: 19691231T235959Z (time -1) or 19700101T000000Z (time 0).
    const start = startAt !== undefined && startAt > 0 ? startAt : undefined;

    let seconds: number | undefined;
    if (duration) {
      seconds = (duration.getFirstValue() as InstanceType<typeof ICAL.Duration>).toSeconds();
    } else if (dtend && start !== undefined) {
      seconds = instant(dtend) - start;
    }
    if (seconds !== undefined && seconds < 0) throw new Error('the event ends before it starts');

    const schedule: ScheduleSpec = { ical: ics };
    if (start !== undefined) schedule.start = iso(start);
    if (start !== undefined && seconds !== undefined) schedule.end = iso(start + seconds);
    // Whole minutes, rounded up so that a conference is never scheduled shorter than asked.
    if (seconds !== undefined && seconds > 0) schedule.durationMinutes = Math.ceil(seconds / 60);
    if (rrule) schedule.rrule = String(rrule.getFirstValue());
    return schedule;
  } catch (err) {
    throw new Error(`bad date, time or duration in the iCalendar text (${messageOf(err)})`, {
      cause: err,
    });
  }
}

export interface ConferenceIcsInput {
  uid: string;
  /** ISO 8601 instant; absent for an immediate conference. */
  start?: string;
  durationMinutes?: number;
  /** RFC 5545 RRULE value, e.g. `FREQ=WEEKLY;BYDAY=MO`. */
  rrule?: string;
  summary?: string;
  sequence?: number;
  /** DTSTAMP: when this text is produced. */
  now: Date;
}

/** CRLF-terminated VCALENDAR text in the forms Linphone's own ICS grammar accepts. */
export function buildConferenceIcs(input: ConferenceIcsInput): string {
  const calendar = new ICAL.Component('vcalendar');
  calendar.addPropertyWithValue('version', '2.0');
  calendar.addPropertyWithValue('prodid', '-//CCMP gateway//EN');
  const event = new ICAL.Component('vevent');
  // Linphone always expects a DTSTART; it writes the epoch itself for an immediate conference.
  const start = input.start === undefined ? new Date(0) : new Date(input.start);
  if (Number.isNaN(start.getTime())) throw new Error(`bad conference start ${String(input.start)}`);
  event.addPropertyWithValue('dtstart', utc(start));
  const minutes = input.durationMinutes ?? 0;
  if (minutes > 0) {
    // Hours and minutes only, like Linphone: its parser has no days, so 25 hours stay PT25H.
    const hours = Math.floor(minutes / 60);
    event.addPropertyWithValue('duration', new ICAL.Duration({ hours, minutes: minutes % 60 }));
  }
  if (input.rrule) event.addPropertyWithValue('rrule', ICAL.Recur.fromString(input.rrule));
  if (input.summary) event.addPropertyWithValue('summary', input.summary);
  if (input.sequence !== undefined) event.addPropertyWithValue('sequence', input.sequence);
  event.addPropertyWithValue('dtstamp', utc(input.now));
  event.addPropertyWithValue('uid', input.uid);
  calendar.addSubcomponent(event);
  return `${calendar.toString()}\r\n`;
}

/**
 * Undoes what an XML document does to embedded iCalendar text: the indentation of the surrounding
 * markup on every line (RFC 6504's examples), blank lines, CRs lost to XML line-end normalisation,
 * and a space after the property's colon (`DTEND: 2010…`, also RFC 6504), which ical.js would
 * otherwise read as part of a date.
 */
function repair(ics: string): string {
  const lines = ics.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const content = lines.filter((line) => line.trim() !== '');
  const [head, ...rest] = content;
  if (head === undefined) return '';
  const indent = Math.min(...rest.map((line) => line.search(/[^ \t]/)));
  const body = Number.isFinite(indent) ? rest.map((line) => line.slice(indent)) : rest;
  return [head.trimStart(), ...body]
    .map((line) => line.replace(/^([A-Za-z0-9-]+(?:;[^:"]*(?:"[^"]*"[^:"]*)*)?):[ \t]+/, '$1:'))
    .join('\r\n');
}

function first(jcal: unknown): unknown[] {
  // ical.js returns an array of components when the text holds several.
  const list = jcal as unknown[];
  return Array.isArray(list[0]) ? (list[0] as unknown[]) : list;
}

/** Unix seconds of a DATE-TIME or DATE property. */
function instant(property: IcalProperty): number {
  const time = property.getFirstValue() as IcalTime;
  const tzid = property.getParameter('tzid');
  if (time.zone?.tzid === 'floating' && typeof tzid === 'string' && tzid !== '') {
    // A TZID without its VTIMEZONE: resolve IANA names with the platform's time zone data.
    return zonedToUnix(time, tzid);
  }
  // UTC, zones defined in the text, and floating times (read as UTC: there is no better reference).
  return time.toUnixTime();
}

function zonedToUnix(time: IcalTime, zone: string): number {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (err) {
    throw new Error(`unknown time zone ${zone} and no VTIMEZONE for it`, { cause: err });
  }
  const wall = Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second);
  const offsetAt = (ms: number) => {
    const parts = format.formatToParts(new Date(ms));
    const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    const seen = Date.UTC(
      part('year'),
      part('month') - 1,
      part('day'),
      part('hour'),
      part('minute'),
      part('second'),
    );
    return seen - ms;
  };
  // Two passes settle the offset on either side of a daylight-saving change.
  let utcMs = wall - offsetAt(wall);
  utcMs = wall - offsetAt(utcMs);
  return Math.floor(utcMs / 1000);
}

function utc(date: Date): IcalTime {
  return ICAL.Time.fromJSDate(date, true);
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
