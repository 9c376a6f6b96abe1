/**
 * @module Failure throttling for logins and conference passwords.
 *
 * Each key (a user, a client address, a conference) gets a few free failures; after that every
 * further failure is answered more slowly, and past a limit the key is locked out for a while,
 * so short PINs and passwords cannot be brute-forced (RFC 5239 §11.1). No timers: entries expire
 * lazily, and the table is bounded so a flood of keys cannot exhaust memory.
 */

export interface ThrottleOptions {
  /** Failures allowed before answers slow down. */
  freeFailures: number;
  /** Failures within the window that lock the key out. */
  lockoutFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Delay added per failure beyond the free ones, capped at maxDelayMs. */
  delayStepMs: number;
  maxDelayMs: number;
  /** Keys remembered at most; the oldest are forgotten first. */
  maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeFailures: 3,
  lockoutFailures: 10,
  windowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  delayStepMs: 250,
  maxDelayMs: 2_000,
  maxKeys: 50_000,
};

export interface ThrottleState {
  /** Locked out: answer without checking the credentials. */
  locked: boolean;
  retryAfterMs: number;
  /** Wait this long before answering. */
  delayMs: number;
}

interface Entry {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();
  readonly options: ThrottleOptions;

  constructor(
    options: Partial<ThrottleOptions>,
    private readonly now: () => number,
  ) {
    this.options = { ...DEFAULT_THROTTLE, ...options };
  }

  check(key: string): ThrottleState {
    const entry = this.current(key);
    if (!entry) return { locked: false, retryAfterMs: 0, delayMs: 0 };
    const t = this.now();
    if (entry.lockedUntil > t) return { locked: true, retryAfterMs: entry.lockedUntil - t, delayMs: 0 };
    const extra = entry.failures - this.options.freeFailures;
    const delayMs = extra > 0 ? Math.min(this.options.maxDelayMs, extra * this.options.delayStepMs) : 0;
    return { locked: false, retryAfterMs: 0, delayMs };
  }

  /** Records a failure; returns true when this failure locked the key out. */
  fail(key: string): boolean {
    const t = this.now();
    let entry = this.current(key);
    if (!entry) {
      if (this.entries.size >= this.options.maxKeys) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      entry = { failures: 0, firstAt: t, lockedUntil: 0 };
      this.entries.set(key, entry);
    }
    entry.failures++;
    if (entry.failures >= this.options.lockoutFailures && entry.lockedUntil <= t) {
      entry.lockedUntil = t + this.options.lockoutMs;
      return true;
    }
    return false;
  }

  succeed(key: string): void {
    const entry = this.entries.get(key);
    // A lockout stands even against a right guess: otherwise it would leak which guess was right.
    if (entry && entry.lockedUntil <= this.now()) this.entries.delete(key);
  }

  private current(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const t = this.now();
    if (entry.lockedUntil <= t && t - entry.firstAt > this.options.windowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
