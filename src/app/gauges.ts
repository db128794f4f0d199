import type { Bus } from "../bus/index.js";
import { type Messaging, pendingMessageCount } from "../messaging/index.js";
import { CachedFigures, type Metrics } from "../metrics/index.js";
import { registryFigures } from "../registry/index.js";
import { activeChatSessionCount } from "../sessions/index.js";
import type { Store } from "../store/database.js";
import { liveVoiceAgentCount } from "../voice/index.js";

/**
 * The gauges of one gateway, read at each scrape: what this process already keeps (in flight, pool, bus
 * connection) as is, and the network's sizes (backlog, sessions online, accounts, chat sessions, voice agents)
 * from the store in one round of small counts over partial indexes, at most every five seconds.
 */
export function registerGauges(metrics: Metrics, parts: { store: Store; bus: Bus; messaging: Messaging }): void {
  const { store, bus, messaging } = parts;
  const db = store.db;
  const figures = new CachedFigures(async () => {
    const [pending, registry, chats, voice] = await Promise.all([
      pendingMessageCount(db),
      registryFigures(db),
      activeChatSessionCount(db),
      liveVoiceAgentCount(db),
    ]);
    return { pending, accounts: registry.accounts, online: registry.sessionsOnline, chats, voice };
  });
  metrics.gauge(
    "agentnet_messages_pending",
    "Messages accepted or delivered and not yet processed, rejected or expired, in the whole network (read from the store, at most every 5 s).",
    () => figures.get("pending"),
  );
  metrics.gauge("agentnet_messages_in_flight", "Messages pushed to this gateway's Subscribe streams and not acked yet.", () =>
    messaging.inFlightCount(),
  );
  metrics.gauge("agentnet_sessions_online", "Agent sessions online in the whole network (from the store, at most every 5 s).", () =>
    figures.get("online"),
  );
  metrics.gauge("agentnet_registry_accounts", "Agent accounts in the registry (from the store, at most every 5 s).", () =>
    figures.get("accounts"),
  );
  metrics.gauge("agentnet_chat_sessions_active", "Chat sessions open in the whole network (from the store, at most every 5 s).", () =>
    figures.get("chats"),
  );
  metrics.gauge(
    "agentnet_voice_agents_running",
    "Voice agents started through this network and not stopped yet (from the store, at most every 5 s).",
    () => figures.get("voice"),
  );
  metrics.labelledGauge("agentnet_store_pool_connections", "Connections of this gateway's PostgreSQL pool, by state.", "state", () => ({
    in_use: store.pool.total - store.pool.idle,
    idle: store.pool.idle,
  }));
  metrics.gauge("agentnet_store_pool_waiting", "Statements of this gateway waiting for a pooled connection.", () => store.pool.waiting);
  let connected = 1;
  bus.onConnectionChange((event) => {
    connected = event === "reconnected" ? 1 : 0;
  });
  metrics.gauge("agentnet_bus_connected", "1 while this gateway's bus connection is up, 0 while it is lost.", () => connected);
}
