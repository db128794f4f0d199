import { type Kysely, sql } from "kysely";
import type { Principal } from "../auth/index.js";
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
 * counted over the seq range of that window (a range of the seq index, not the table) and the inbox index.
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
    const row = await this.db
      .selectNoFrom([
        sql<string>`(select count(distinct account_id) from agent_sessions where status = 'online')`.as("agents"),
        sql<string>`(select count(*) from agent_sessions where status = 'online')`.as("sessions"),
        sql<string>`(select count(*) from messages where status in ('accepted', 'delivered') and expires_at > now())`.as("pending"),
        sql<string>`(select coalesce(max(seq), 0) from messages)`.as("max_seq"),
      ])
      .executeTakeFirstOrThrow();
    return {
      at,
      agentsOnline: Number(row.agents),
      sessionsOnline: Number(row.sessions),
      pending: Number(row.pending),
      maxSeq: Number(row.max_seq),
    };
  }

  private async ownFigures(userId: string, sinceSeq: number | undefined): Promise<{ recent: number; pending: number }> {
    const owned = this.db.selectFrom("accounts").select("account_id").where("owner_user_id", "=", userId);
    const row = await this.db
      .selectNoFrom((eb) => [
        eb
          .selectFrom("messages")
          .select(eb.fn.countAll<string>().as("n"))
          .where("to_account_id", "in", owned)
          .where("status", "in", ["accepted", "delivered"])
          .where("expires_at", ">", new Date())
          .as("pending"),
        sinceSeq === undefined
          ? sql<string>`0`.as("recent")
          : eb
              .selectFrom("messages")
              .select(eb.fn.countAll<string>().as("n"))
              .where("seq", ">", sinceSeq)
              .where((w) => w.or([w("from_account_id", "in", owned), w("to_account_id", "in", owned)]))
              .as("recent"),
      ])
      .executeTakeFirstOrThrow();
    return { recent: Number(row.recent), pending: Number(row.pending) };
  }
}
