/**
 * Retry with backoff for reaching one contact: one attempt at a time, waits of
 * 0.25 s · 2^n (capped at `maxDelayMs`) between failures, and after `maxFailures` in a row
 * it gives up (onGiveUp: the caller marks waiting messages failed) until reset() — a new
 * message, /retry, or an accept. Nothing is retried forever.
 *
 * Not what an attempt does (connector.ts) and not the message bookkeeping.
 */
export interface RetrierOptions {
  readonly maxFailures?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onGiveUp: (lastError: unknown) => void;
  readonly log?: (message: string, code: string) => void;
}

export class Retrier {
  private running = false;
  private failures = 0;
  private gaveUp = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private pending: (() => Promise<void>) | null = null;

  constructor(private readonly options: RetrierOptions) {}

  /** Runs `attempt` now (or after the current backoff); a call while one runs is merged into it. */
  run(attempt: () => Promise<void>): void {
    if (this.stopped || this.gaveUp) return;
    this.pending = attempt;
    if (this.running || this.timer) return;
    this.fire();
  }

  /** A connection came up (by any route): failures are forgotten. */
  succeeded(): void {
    this.failures = 0;
    this.gaveUp = false;
  }

  /** The user acted: try again from scratch. */
  reset(): void {
    this.failures = 0;
    this.gaveUp = false;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get failing(): number {
    return this.failures;
  }

  private fire(): void {
    const attempt = this.pending;
    this.pending = null;
    if (!attempt || this.stopped) return;
    this.running = true;
    attempt().then(
      () => {
        this.running = false;
        this.failures = 0;
      },
      (e: unknown) => {
        this.running = false;
        this.failures += 1;
        const max = this.options.maxFailures ?? 6;
        const code = (e as { code?: string })?.code ?? 'INTERNAL';
        if (this.failures >= max) {
          this.gaveUp = true;
          this.options.log?.(`giving up reaching a contact after ${this.failures} attempts`, code);
          this.options.onGiveUp(e);
          return;
        }
        const delay = Math.min(this.options.maxDelayMs ?? 15_000, (this.options.baseDelayMs ?? 250) * 2 ** (this.failures - 1));
        this.options.log?.(`reaching a contact failed; retrying in ${delay} ms`, code);
        this.pending ??= attempt;
        this.timer = setTimeout(() => {
          this.timer = null;
          this.fire();
        }, delay);
        this.timer.unref();
      },
    );
  }
}
