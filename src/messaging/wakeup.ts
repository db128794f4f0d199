/** A stream loop's doorbell: `wait` sleeps until `ring` or the timeout (keepalive time), saying which came. */
export class Wakeup {
  private ringing: (() => void) | undefined;

  ring(): void {
    this.ringing?.();
  }

  /** True when rung, false when `ms` passed first. */
  wait(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.ringing = undefined;
        resolve(false);
      }, ms);
      this.ringing = () => {
        clearTimeout(timer);
        this.ringing = undefined;
        resolve(true);
      };
    });
  }
}
