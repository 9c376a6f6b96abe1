/**
 * @module The cost meter of one filter request.
 *
 * The XPath library offers no hook to stop an evaluation, so the compiled expression tree is
 * instrumented (program.ts) to charge cost units here, and the meter throws when the request's
 * budget is spent; the exception unwinds the library's evaluation. Units are a proxy for CPU work:
 * one per node a location step tests and one per sub-expression evaluated (see program.ts for the
 * rest). The wall clock is checked as well, but only every few thousand units because Date.now()
 * is not free, and it does not advance during synchronous code on Cloudflare Workers: there the
 * unit count is the real guard.
 */
import { budgetExceeded } from './errors.ts';

const CLOCK_CHECK_INTERVAL = 4096;

export class Meter {
  private used = 0;
  private nextClockCheck = CLOCK_CHECK_INTERVAL;
  private readonly startedAt = Date.now();

  constructor(
    private readonly maxUnits: number,
    private readonly maxMillis: number,
  ) {}

  get unitsUsed(): number {
    return this.used;
  }

  charge(units: number): void {
    this.used += units;
    if (this.used > this.maxUnits) throw budgetExceeded(`more than ${this.maxUnits} evaluation steps`);
    if (this.used >= this.nextClockCheck) {
      this.nextClockCheck = this.used + CLOCK_CHECK_INTERVAL;
      this.checkClock();
    }
  }

  checkClock(): void {
    if (Date.now() - this.startedAt > this.maxMillis) throw budgetExceeded(`more than ${this.maxMillis} ms`);
  }
}

// Evaluation is synchronous, so one slot is enough to tell the instrumented tree which meter pays.
let active: Meter | undefined;

export function charge(units: number): void {
  active?.charge(units);
}

/** The meter of the evaluation in progress, if any. */
export function activeMeter(): Meter | undefined {
  return active;
}

/** Runs `fn` with `meter` paying for every instrumented step. */
export function withMeter<T>(meter: Meter, fn: () => T): T {
  const previous = active;
  active = meter;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
