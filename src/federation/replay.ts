/**
 * @module The replay cache of site tokens: every `jti` accepted is remembered until its token
 * expires, and a token seen again is refused.
 *
 * No timers: expired entries are dropped lazily, oldest first, whenever a token arrives. The table
 * is bounded; when it is full of live tokens, new ones are refused (fail closed) rather than
 * forgetting a live one, which would let it be replayed. One cache per gateway instance: with
 * several instances behind a balancer, a token replayed to another instance is caught only by its
 * short lifetime (see docs/federation.md).
 */

export type ReplayVerdict = 'fresh' | 'replay' | 'full';

export class ReplayCache {
  /** Key → the time (ms) after which its token can no longer be accepted anyway. */
  private readonly seen = new Map<string, number>();

  constructor(readonly maxEntries: number) {}

  /** Records a token seen at `now` and valid until `forgetAfter`. */
  remember(key: string, forgetAfter: number, now: number): ReplayVerdict {
    this.prune(now);
    if (this.seen.has(key)) return 'replay';
    if (this.seen.size >= this.maxEntries) return 'full';
    this.seen.set(key, forgetAfter);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Drops expired entries from the oldest on, stopping at the first live one. Lifetimes differ a
   * little between issuers, so a live entry may shield a few expired ones for a while: that only
   * delays their removal, it never removes a live entry.
   */
  private prune(now: number): void {
    for (const [key, forgetAfter] of this.seen) {
      if (forgetAfter > now) break;
      this.seen.delete(key);
    }
  }
}
