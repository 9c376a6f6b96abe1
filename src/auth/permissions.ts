/**
 * @module The permission table: message × operation × role.
 *
 * Roles are RFC 6501 conference roles as the requester holds them in the target object
 * (moderator — which includes the organizer and a conference-level administrator —, participant,
 * observer, none) plus the system role `administrator` from the directory. Each cell says what
 * happens: `allow`; `self` (only on the requester's own user); `policy` (allowed when the
 * conference's own policy says so: open admission for joining, allow-sidebars for sidebars); or
 * the CCMP code that refuses it — 401 not authorized for this object, 403 operation invalid for
 * this object, 426 the requester may not change it.
 */
import type { MessageType, Operation } from '../ccmp/messages.ts';

export const ACTORS = ['administrator', 'moderator', 'participant', 'observer', 'none'] as const;
export type Actor = (typeof ACTORS)[number];
export type Access = 'allow' | 'self' | 'policy' | 401 | 403 | 426;

type Row = Record<Actor, Access>;

const row = (
  administrator: Access,
  moderator: Access,
  participant: Access,
  observer: Access,
  none: Access,
): Row => ({
  administrator,
  moderator,
  participant,
  observer,
  none,
});

const EVERYONE = row('allow', 'allow', 'allow', 'allow', 'allow');
const MEMBERS = row('allow', 'allow', 'allow', 'allow', 401);
const CHANGE = row('allow', 'allow', 426, 426, 401);
const REMOVE = row('allow', 'allow', 401, 401, 401);
const ADMIN_ONLY = row('allow', 403, 403, 403, 403);
const NEVER = row(403, 403, 403, 403, 403);

export const PERMISSIONS: Record<
  Exclude<MessageType, 'options' | 'extended'>,
  Partial<Record<Operation, Row>>
> = {
  blueprints: { retrieve: EVERYONE },
  blueprint: { retrieve: EVERYONE, create: ADMIN_ONLY, update: ADMIN_ONLY, delete: ADMIN_ONLY },
  confs: { retrieve: EVERYONE },
  conf: { create: EVERYONE, retrieve: MEMBERS, update: CHANGE, delete: REMOVE },
  users: { retrieve: MEMBERS, update: CHANGE, create: NEVER, delete: NEVER },
  user: {
    create: row('allow', 'allow', 'self', 'self', 'policy'),
    retrieve: MEMBERS,
    update: row('allow', 'allow', 'self', 'self', 401),
    delete: row('allow', 'allow', 'self', 'self', 401),
  },
  sidebarsByVal: { retrieve: MEMBERS },
  sidebarsByRef: { retrieve: MEMBERS },
  sidebarByVal: {
    create: row('allow', 'allow', 'policy', 401, 401),
    retrieve: MEMBERS,
    update: CHANGE,
    delete: REMOVE,
  },
  sidebarByRef: {
    create: row('allow', 'allow', 'policy', 401, 401),
    retrieve: MEMBERS,
    update: CHANGE,
    delete: REMOVE,
  },
};

/** The cell for a request; undefined when the operation does not exist for the message. */
export function permission(message: MessageType, operation: Operation, actor: Actor): Access | undefined {
  if (message === 'options' || message === 'extended') return 'allow';
  return PERMISSIONS[message][operation]?.[actor];
}

/** Maps a conference role (RFC 6501 roles entry) to the actor class it grants. */
export function actorForRole(role: string): Actor {
  switch (role.toLowerCase()) {
    case 'administrator':
    case 'moderator':
    case 'organizer':
      return 'moderator';
    case 'participant':
    case 'user':
    case 'invited':
      return 'participant';
    case 'observer':
      return 'observer';
    default:
      return 'none';
  }
}

const RANK: Record<Actor, number> = { administrator: 4, moderator: 3, participant: 2, observer: 1, none: 0 };

export function strongest(actors: Actor[]): Actor {
  return actors.reduce<Actor>((best, a) => (RANK[a] > RANK[best] ? a : best), 'none');
}
