/**
 * @module From a conference document to the connectors' neutral model.
 */
import type {
  ConferenceSpec,
  JoinMethod,
  MediaSpec,
  MediaStatus,
  ParticipantSpec,
  ScheduleSpec,
} from '../../connectors/types.ts';
import { BadRequest } from '../errors.ts';
import { Lru } from '../util/lru.ts';
import { NS } from '../xml/namespaces.ts';
import { attr, child, children, rawText, text, walk, type XElement } from '../xml/tree.ts';
import { description } from './document.ts';
import { parseConferenceTime } from './ical.ts';
import { normalizeId } from './ids.ts';
import { rolesOf, sipUriOf, targetsOf, userElements } from './users.ts';

const STATUSES = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

export function specOf(
  doc: XElement,
  facts: { uri: string; kind: ConferenceSpec['kind']; owner: string; parentUri?: string; password?: string },
): ConferenceSpec {
  const desc = description(doc);
  const read = (ns: string, name: string) => {
    const node = desc ? child(desc, ns, name) : undefined;
    const value = node ? text(node) : '';
    return value === '' ? undefined : value;
  };
  const spec: ConferenceSpec = {
    uri: facts.uri,
    kind: facts.kind,
    media: mediaOf(desc),
    participants: participantsOf(doc),
  };
  if (facts.parentUri) spec.parentUri = facts.parentUri;
  const subject = read(NS.info, 'subject');
  if (subject) spec.subject = subject;
  const freeText = read(NS.info, 'free-text');
  if (freeText) spec.description = freeText;
  const displayText = read(NS.info, 'display-text');
  if (displayText) spec.displayText = displayText;
  if (facts.owner) spec.organizer = facts.owner;
  const max = read(NS.info, 'maximum-user-count');
  if (max !== undefined) spec.maxParticipants = Number(max);
  const state = child(doc, NS.info, 'conference-state');
  const locked = state ? text(child(state, NS.info, 'locked')) : '';
  if (locked !== '') spec.locked = locked === 'true' || locked === '1';
  if (facts.password) spec.password = facts.password;
  const time = desc ? child(desc, NS.xcon, 'conference-time') : undefined;
  const entry = time ? child(time, NS.xcon, 'entry') : undefined;
  const base = entry ? child(entry, NS.xcon, 'base') : undefined;
  if (base && rawText(base).trim() !== '') {
    try {
      spec.schedule = schedule(rawText(base));
    } catch (e) {
      throw new BadRequest(`conference-time: ${e instanceof Error ? e.message : 'not valid iCalendar text'}`);
    }
  }
  return spec;
}

const schedules = new Lru<string, ScheduleSpec>(512);

/** Clients resend the same iCalendar text with every update: parse each text once. */
function schedule(ics: string): ScheduleSpec {
  let found = schedules.get(ics);
  if (!found) {
    found = parseConferenceTime(ics);
    schedules.set(ics, found);
  }
  return structuredClone(found);
}

function mediaOf(desc: XElement | undefined): MediaSpec[] {
  const list = desc ? child(desc, NS.info, 'available-media') : undefined;
  if (!list) return [];
  return children(list, NS.info, 'entry').map((e) => {
    const status = text(child(e, NS.info, 'status'));
    const media: MediaSpec = {
      label: attr(e, 'label') ?? '',
      type: text(child(e, NS.info, 'type')) || 'audio',
      status: (STATUSES.has(status) ? status : 'sendrecv') as MediaStatus,
    };
    const display = text(child(e, NS.info, 'display-text'));
    if (display) media.displayText = display;
    return media;
  });
}

function participantsOf(doc: XElement): ParticipantSpec[] {
  const methods = new Map<string, JoinMethod>();
  for (const t of targetsOf(doc)) {
    const m = t.method.replace(/\s+/g, '-').toLowerCase();
    if (m === 'dial-in' || m === 'dial-out' || m === 'refer') methods.set(normalizeId(t.uri), m);
  }
  return userElements(doc).map((u) => {
    const userId = normalizeId(attr(u, 'entity') ?? '');
    const p: ParticipantSpec = { userId, roles: rolesOf(u), method: methods.get(userId) ?? 'dial-in' };
    const sip = sipUriOf(u);
    if (sip) p.sipUri = sip;
    const display = text(child(u, NS.info, 'display-text'));
    if (display) p.displayName = display;
    return p;
  });
}

/** The conference password(s) of a document (conf-uris entries), the first one being used. */
export function passwordOf(doc: XElement): string | undefined {
  const desc = description(doc);
  const uris = desc ? child(desc, NS.info, 'conf-uris') : undefined;
  if (!uris) return undefined;
  for (const node of walk(uris)) {
    if (node.ns === NS.xcon && node.name === 'conference-password') {
      const value = text(node);
      if (value !== '') return value;
    }
  }
  return undefined;
}
