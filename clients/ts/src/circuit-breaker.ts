// The seed's circuit breaker (circuit_breaker_failures = 5, circuit_breaker_reset_seconds = 15): after that many
// consecutive handler failures the circuit opens and messages are rejected with `circuit_open` without running the
// handler; once the reset time has passed one message is let through as a trial, and its success closes it again.

export type CircuitState = "closed" | "open" | "half_open";

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialRunning = false;
  private opened = false;

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (!this.opened) return "closed";
    return this.now() - this.openedAt >= this.resetMs ? "half_open" : "open";
  }

  /** Whether a message may run now; in half-open state only one trial at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.trialRunning) return false;
    this.trialRunning = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.opened = false;
    this.trialRunning = false;
  }

  /** An outcome that says nothing about the handler's health (a deliberate rejection): only ends a trial. */
  neutral(): void {
    this.trialRunning = false;
  }

  failure(): void {
    this.trialRunning = false;
    this.failures += 1;
    if (this.opened || this.failures >= this.threshold) {
      this.opened = true;
      this.openedAt = this.now();
    }
  }
}
