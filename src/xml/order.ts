/**
 * @module Schema order of conference documents.
 *
 * The RFC 6501 grammar interleaves freely, but the RFC 4575 XSD that the CCMP schema imports uses
 * sequences, so output follows the XSD order, with RFC 6501 elements after the RFC 4575 ones (in
 * the `##other` slot). Unknown elements keep their relative order at the end.
 */
import { NS } from './namespaces.ts';

export type DocType =
  | 'conference'
  | 'description'
  | 'host'
  | 'state'
  | 'uris'
  | 'uri'
  | 'media-list'
  | 'medium'
  | 'sidebars-by-val'
  | 'users'
  | 'user'
  | 'endpoint'
  | 'media'
  | 'conference-time'
  | 'time-entry'
  | 'floor-information'
  | 'floor-policy'
  | 'floor'
  | 'other';

interface TypeInfo {
  order: string[];
  children?: Record<string, DocType>;
}

const i = (name: string) => `${NS.info} ${name}`;
const x = (name: string) => `${NS.xcon} ${name}`;

const TYPES: Record<DocType, TypeInfo> = {
  conference: {
    order: [
      i('conference-description'),
      i('host-info'),
      i('conference-state'),
      i('users'),
      i('sidebars-by-ref'),
      i('sidebars-by-val'),
      x('floor-information'),
    ],
    children: {
      [i('conference-description')]: 'description',
      [i('host-info')]: 'host',
      [i('conference-state')]: 'state',
      [i('users')]: 'users',
      [i('sidebars-by-ref')]: 'uris',
      [i('sidebars-by-val')]: 'sidebars-by-val',
      [x('floor-information')]: 'floor-information',
    },
  },
  description: {
    order: [
      i('display-text'),
      i('subject'),
      i('free-text'),
      i('keywords'),
      i('conf-uris'),
      i('service-uris'),
      i('maximum-user-count'),
      i('available-media'),
      x('language'),
      x('allow-sidebars'),
      x('cloning-parent'),
      x('sidebar-parent'),
      x('conference-time'),
    ],
    children: {
      [i('conf-uris')]: 'uris',
      [i('service-uris')]: 'uris',
      [i('available-media')]: 'media-list',
      [x('conference-time')]: 'conference-time',
    },
  },
  host: { order: [i('display-text'), i('web-page'), i('uris')], children: { [i('uris')]: 'uris' } },
  state: { order: [i('user-count'), i('active'), i('locked'), x('allow-conference-event-subscription')] },
  uris: { order: [i('entry')], children: { [i('entry')]: 'uri' } },
  uri: { order: [i('uri'), i('display-text'), i('purpose'), i('modified'), x('conference-password')] },
  'media-list': { order: [i('entry')], children: { [i('entry')]: 'medium' } },
  medium: {
    order: [i('display-text'), i('type'), i('status'), x('mixing-mode'), x('codecs'), x('controls')],
  },
  'sidebars-by-val': { order: [i('entry')], children: { [i('entry')]: 'conference' } },
  users: {
    order: [
      i('user'),
      x('join-handling'),
      x('user-admission-policy'),
      x('allowed-users-list'),
      x('deny-users-list'),
    ],
    children: { [i('user')]: 'user' },
  },
  user: {
    order: [
      i('display-text'),
      i('associated-aors'),
      i('roles'),
      i('languages'),
      i('cascaded-focus'),
      i('endpoint'),
      x('provide-anonymity'),
      x('allow-refer-users-dynamically'),
      x('allow-invite-users-dynamically'),
      x('allow-remove-users-dynamically'),
    ],
    children: { [i('associated-aors')]: 'uris', [i('endpoint')]: 'endpoint' },
  },
  endpoint: {
    order: [
      i('display-text'),
      i('referred'),
      i('status'),
      i('joining-method'),
      i('joining-info'),
      i('disconnection-method'),
      i('disconnection-info'),
      i('media'),
      i('call-info'),
    ],
    children: { [i('media')]: 'media' },
  },
  media: {
    order: [
      i('display-text'),
      i('type'),
      i('label'),
      i('src-id'),
      i('status'),
      x('to-mixer'),
      x('from-mixer'),
    ],
  },
  'conference-time': { order: [x('entry')], children: { [x('entry')]: 'time-entry' } },
  'time-entry': {
    order: [
      x('base'),
      x('mixing-start-offset'),
      x('mixing-end-offset'),
      x('can-join-after-offset'),
      x('must-join-before-offset'),
      x('request-user'),
      x('notify-end-of-conference'),
      x('allowed-extend-mixing-end-offset'),
    ],
  },
  'floor-information': {
    order: [
      x('conference-ID'),
      x('allow-floor-events'),
      x('floor-request-handling'),
      x('conference-floor-policy'),
    ],
    children: { [x('conference-floor-policy')]: 'floor-policy' },
  },
  'floor-policy': { order: [x('floor')], children: { [x('floor')]: 'floor' } },
  floor: { order: [x('media-label'), x('algorithm'), x('max-floor-users'), x('moderator-id')] },
  other: { order: [] },
};

const RANKS = new Map<DocType, Map<string, number>>(
  (Object.keys(TYPES) as DocType[]).map((t) => [t, new Map(TYPES[t].order.map((k, idx) => [k, idx]))]),
);

/** Position of a child within its parent's type; unknown children sort last. */
export function rank(type: DocType, ns: string, name: string): number {
  return RANKS.get(type)?.get(`${ns} ${name}`) ?? Number.MAX_SAFE_INTEGER;
}

export function childType(type: DocType, ns: string, name: string): DocType {
  return TYPES[type].children?.[`${ns} ${name}`] ?? 'other';
}
