/**
 * @module Invitees: allowed-users-list targets become users with stable XCON-USERIDs.
 *
 * Clients invite people by SIP URI (Linphone) or by XCON-USERID. Each SIP target is resolved to
 * the XCON-USERID of its directory user, or to one allocated and persisted by the gateway (derived
 * the way Linphone derives it, `sip:` → `xcon-userid:`), so the same person never gets two
 * identities. The target is rewritten to that XCON-USERID and a `<user>` carrying the SIP URI in
 * associated-aors is added for it: Linphone pairs every target with such a user.
 */
import { ResourcesNotAvailable } from '../errors.ts';
import { isSignallingUri, normalizeId, userIdFromSipUri } from '../model/ids.ts';
import {
  findUserElement,
  removeUser,
  rolesOf,
  setTargets,
  targetsOf,
  upsertUser,
  userElements,
  type Target,
} from '../model/users.ts';
import { randomId } from '../platform.ts';
import { NS } from '../xml/namespaces.ts';
import { child, text, type XElement } from '../xml/tree.ts';
import type { Ctx } from '../core/types.ts';

export interface ResolvedUser {
  userId: string;
  sipUri?: string;
  displayName?: string;
}

/** The XCON-USERID for a signalling URI, allocating (and persisting) one when nobody has it. */
export async function resolveSignallingUri(ctx: Ctx, uri: string): Promise<ResolvedUser> {
  const clean = uri.trim();
  const principal = await ctx.deps.directory.findByUri(clean);
  const sipUri = /^sips?:/i.test(clean) ? clean.replace(/[;?].*$/, '') : undefined;
  if (principal) {
    return {
      userId: principal.userId,
      ...((principal.sipUri ?? sipUri) ? { sipUri: principal.sipUri ?? sipUri } : {}),
      ...(principal.displayName ? { displayName: principal.displayName } : {}),
    };
  }
  const key = (sipUri ?? clean).toLowerCase();
  const known = await ctx.deps.store.findAllocatedUser(key);
  if (known) return { userId: known, ...(sipUri ? { sipUri } : {}) };
  const candidate =
    (sipUri ? userIdFromSipUri(sipUri) : undefined) ??
    `xcon-userid:${randomId(ctx.deps.platform)}@${ctx.deps.config.domain}`;
  const userId = await ctx.deps.store.allocateUser(candidate, key);
  return { userId, ...(sipUri ? { sipUri } : {}) };
}

/** Facts about a user known by XCON-USERID, for a new `<user>` element. */
export async function describeUser(ctx: Ctx, userId: string): Promise<ResolvedUser> {
  const principal = await ctx.deps.directory.findUser(userId);
  if (principal) {
    return {
      userId: principal.userId,
      ...(principal.sipUri ? { sipUri: principal.sipUri } : {}),
      ...(principal.displayName ? { displayName: principal.displayName } : {}),
    };
  }
  return { userId: normalizeId(userId) };
}

/**
 * Resolves targets to XCON-USERIDs, adds a user per invitee, and drops the users whose target
 * was removed (organizer and moderators excepted).
 */
export async function reconcileParticipants(
  ctx: Ctx,
  doc: XElement,
  owner: string,
  previousTargets: ReadonlySet<string>,
): Promise<void> {
  // Refuse oversized lists before doing per-invitee work on them.
  checkUserLimit(ctx, doc);
  const resolved: Target[] = [];
  const seen = new Set<string>();
  for (const target of targetsOf(doc)) {
    let uri = target.uri;
    let facts: ResolvedUser | undefined;
    if (isSignallingUri(uri)) facts = await resolveSignallingUri(ctx, uri);
    else if (uri.toLowerCase().startsWith('xcon-userid:')) facts = await describeUser(ctx, uri);
    if (facts) uri = facts.userId;
    const method = target.method.replace(/\s+/g, '-');
    const key = `${normalizeId(uri)} ${method}`;
    if (seen.has(key)) continue;
    seen.add(key);
    resolved.push({ uri, method });
    if (facts) {
      const isNew = !findUserElement(doc, facts.userId);
      upsertUser(doc, facts.userId, {
        ...(facts.sipUri ? { sipUri: facts.sipUri } : {}),
        ...(facts.displayName ? { displayName: facts.displayName } : {}),
        ...(isNew ? { roles: ['participant'] } : {}),
      });
    }
  }
  if (targetsOf(doc).length > 0 || resolved.length > 0) setTargets(doc, resolved);
  const current = new Set(resolved.map((t) => normalizeId(t.uri)));
  for (const gone of previousTargets) {
    if (current.has(gone) || gone === normalizeId(owner)) continue;
    const user = findUserElement(doc, gone);
    const roles = user ? rolesOf(user).map((r) => r.toLowerCase()) : [];
    if (!roles.some((r) => ['organizer', 'moderator', 'administrator'].includes(r))) removeUser(doc, gone);
  }
  checkUserLimit(ctx, doc);
}

export function checkUserLimit(ctx: Ctx, doc: XElement): void {
  const count = new Set([
    ...userElements(doc).map((u) => normalizeId(u.attrs.find((a) => a.name === 'entity')?.value ?? '')),
    ...targetsOf(doc).map((t) => normalizeId(t.uri)),
  ]).size;
  const desc = child(doc, NS.info, 'conference-description');
  const declared = Number(text(desc ? child(desc, NS.info, 'maximum-user-count') : undefined) || Infinity);
  const max = Math.min(ctx.deps.config.limits.maxUsersPerConference, declared);
  if (count > max)
    throw new ResourcesNotAvailable(`the conference would have ${count} users; at most ${max} are allowed`);
}

export function targetSet(doc: XElement): Set<string> {
  return new Set(targetsOf(doc).map((t) => normalizeId(t.uri)));
}
