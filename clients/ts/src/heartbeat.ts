// Heartbeats at the interval the server asks for (Register's heartbeat_interval, updated by each answer). An open
// Subscribe stream also keeps the session alive; heartbeats cover agents that only send, and gaps in the stream.
import type { Client } from "@connectrpc/connect";
import type { RegistryService } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import { toAgentnetError } from "./errors.js";

export class HeartbeatLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly registry: Client<typeof RegistryService>,
    private readonly sessionTag: () => string,
    private intervalMs: number,
    private readonly onSessionLost: () => Promise<void>,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  setInterval(ms: number): void {
    if (ms > 0) this.intervalMs = ms;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), this.intervalMs);
    // A heartbeat alone must not keep a process alive that has nothing else to do.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async beat(): Promise<void> {
    try {
      const res = await this.registry.heartbeat({ sessionTag: this.sessionTag() }, { timeoutMs: this.intervalMs });
      this.setInterval(res.heartbeatInterval * 1000);
    } catch (err) {
      // Transient failures are retried at the next beat; an evicted session is registered again.
      if (!this.stopped && toAgentnetError(err).reason === "session_not_found") await this.onSessionLost().catch(() => undefined);
    }
    this.schedule();
  }
}
