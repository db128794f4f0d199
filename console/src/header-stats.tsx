// The header's figures, polled from StatsService every two seconds (the gateway reads them at most that often
// however many consoles ask): agents online, messages per second, pending backlog — the network's for admins,
// the user's own accounts' for everyone else.
import type { AgentnetClient } from "@agentnet/client/browser";
import { StatsScope, StatsService } from "@agentnet/client/gen";
import { useEffect, useState } from "preact/hooks";

interface Figures {
  online: number;
  rate: number;
  pending: number;
  own: boolean;
}

export function HeaderStats({ client }: { client: AgentnetClient }) {
  const [figures, setFigures] = useState<Figures | undefined>();
  const [stale, setStale] = useState(false);
  useEffect(() => {
    const stats = client.service(StatsService);
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const s = await stats.getNetworkStats({});
        if (stopped) return;
        setFigures({
          online: Number(s.agentsOnline),
          rate: s.messagesPerSecond,
          pending: Number(s.messagesPending),
          own: s.scope === StatsScope.OWN_ACCOUNTS,
        });
        setStale(false);
      } catch {
        // Shown as stale; the next poll tries again.
        if (!stopped) setStale(true);
      }
      if (!stopped) timer = setTimeout(poll, 2000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client]);

  if (!figures) return <div class="stats" aria-hidden="true" />;
  const scope = figures.own ? "your accounts" : "network";
  return (
    <dl class={`stats ${stale ? "stale" : ""}`} aria-label="At a glance" title={stale ? "the gateway did not answer the last update" : ""}>
      <div>
        <dt>online agents</dt>
        <dd data-testid="stat-online">{figures.online}</dd>
      </div>
      <div>
        <dt>msg/s ({scope})</dt>
        <dd data-testid="stat-rate">{figures.rate < 10 ? figures.rate.toFixed(1) : Math.round(figures.rate)}</dd>
      </div>
      <div>
        <dt>pending ({scope})</dt>
        <dd data-testid="stat-pending">{figures.pending}</dd>
      </div>
    </dl>
  );
}
