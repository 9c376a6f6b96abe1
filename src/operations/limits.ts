/**
 * @module Resource limits on creation (CCMP 511).
 *
 * Counting conferences in the store on every create would cost a scan that grows with the data,
 * so counts are read from the store at most every few seconds and the creations made here since
 * are added. Limits are resource guards: being a few creations late across processes is fine.
 */
import { ResourcesNotAvailable } from '../errors.ts';
import type { Ctx, Deps } from '../core/types.ts';
import { Lru } from '../util/lru.ts';

const REFRESH_MS = 5_000;

interface Count {
  value: number;
  at: number;
}

interface Counters {
  total?: Count;
  perUser: Lru<string, Count>;
}

const COUNTERS = new WeakMap<Deps, Counters>();

function countersOf(deps: Deps): Counters {
  let c = COUNTERS.get(deps);
  if (!c) {
    c = { perUser: new Lru(10_000) };
    COUNTERS.set(deps, c);
  }
  return c;
}

/** Throws 511 when one more conference would pass a limit. */
export async function checkCreateLimits(ctx: Ctx): Promise<void> {
  const { limits } = ctx.deps.config;
  const counters = countersOf(ctx.deps);
  const now = ctx.deps.platform.now();
  if (!counters.total || now - counters.total.at > REFRESH_MS) {
    counters.total = {
      value: await ctx.deps.store.count(['conference', 'sidebar-by-val', 'sidebar-by-ref']),
      at: now,
    };
  }
  if (counters.total.value >= limits.maxConferences) {
    throw new ResourcesNotAvailable(`this system holds its maximum of ${limits.maxConferences} conferences`);
  }
  let mine = counters.perUser.get(ctx.userId);
  if (!mine || now - mine.at > REFRESH_MS) {
    // Owned, not taken part in: otherwise others could use up a user's quota by inviting them.
    mine = { value: await ctx.deps.store.countOwned(ctx.userId, ['conference']), at: now };
    counters.perUser.set(ctx.userId, mine);
  }
  if (mine.value >= limits.maxConferencesPerUser) {
    throw new ResourcesNotAvailable(`a user may own at most ${limits.maxConferencesPerUser} conferences`);
  }
}

/** Records a creation made here, so the cached counts stay close until the next refresh. */
export function countCreation(ctx: Ctx): void {
  const counters = countersOf(ctx.deps);
  if (counters.total) counters.total.value++;
  const mine = counters.perUser.get(ctx.userId);
  if (mine) mine.value++;
}
