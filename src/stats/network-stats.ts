import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import { accountTraffic, latestMessageSeq, pendingMessageCount } from "../messaging/index.js";
import { ownedAccountIds, registryFigures } from "../registry/index.js";
import type { Database } from "../store/schema.js";

/** The figures StatsService.GetNetworkStats answers with. */
export interface NetworkStatsFigures {
  scope: "network" | "own_accounts";
  agentsOnline: number;
  sessionsOnline: number;
  messagesPerSecond: number;
  rateWindowSeconds: number;
  messagesPending: number;
  readAt: Date;
}

interface NetworkRead {
  at: number;
  agentsOnline: number;
  sessionsOnline: number;
  pending: number;
  /** The newest message's seq: messages are numbered in storage order, so the rate is the seq's growth. */
  maxSeq: number;
}

const WINDOW_MS = 10_000;

/**
 * The network at a glance. One small read of the network's figures at most every `maxAgeMs`, shared by every
 * caller; the message rate comes from how far the messages' seq moved over the last ten seconds of such reads, so
 * it costs no scan of the messages. A user who is not an admin gets their own accounts' rate and backlog instead,
 * counted by messaging over the seq range of that window and the inbox index. The counts are the owning domains'
 * (registry, messaging): this room reads no table itself.
 */
export class NetworkStats {
  private reads: NetworkRead[] = [];
  private reading: Promise<NetworkRead> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxAgeMs = 2000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async figures(caller: Principal): Promise<NetworkStatsFigures> {
    const last = await this.current();
    const base = this.baseline(last);
    const window = base ? (last.at - base.at) / 1000 : 0;
    if (caller.admin) {
      return {
        scope: "network",
        agentsOnline: last.agentsOnline,
        sessionsOnline: last.sessionsOnline,
        messagesPerSecond: base && window > 0 ? (last.maxSeq - base.maxSeq) / window : 0,
        rateWindowSeconds: window,
        messagesPending: last.pending,
        readAt: new Date(last.at),
      };
    }
    const own = await this.ownFigures(caller.userId, base?.maxSeq);
    return {
      scope: "own_accounts",
      agentsOnline: last.agentsOnline,
      sessionsOnline: last.sessionsOnline,
      messagesPerSecond: base && window > 0 ? own.recent / window : 0,
      rateWindowSeconds: window,
      messagesPending: own.pending,
      readAt: new Date(last.at),
    };
  }

  /** The oldest read of the last ten seconds that is older than the newest, to measure the rate against. */
  private baseline(last: NetworkRead): NetworkRead | undefined {
    return this.reads.find((r) => r !== last && last.at - r.at <= WINDOW_MS + this.maxAgeMs);
  }

  private current(): Promise<NetworkRead> {
    const last = this.reads.at(-1);
    if (last && this.now() - last.at < this.maxAgeMs) return Promise.resolve(last);
    this.reading ??= this.readNetwork()
      .then((read) => {
        this.reads = [...this.reads.filter((r) => read.at - r.at <= WINDOW_MS + this.maxAgeMs), read];
        return read;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private async readNetwork(): Promise<NetworkRead> {
    const at = this.now();
    const [registry, pending, maxSeq] = await Promise.all([
      registryFigures(this.db),
      pendingMessageCount(this.db),
      latestMessageSeq(this.db),
    ]);
    return { at, agentsOnline: registry.accountsOnline, sessionsOnline: registry.sessionsOnline, pending, maxSeq };
  }

  private async ownFigures(userId: string, sinceSeq: number | undefined): Promise<{ recent: number; pending: number }> {
    return accountTraffic(this.db, await ownedAccountIds(this.db, userId), sinceSeq);
  }
}
