// `agentnet list`, `search` and `profile`: who is online, who offers what, and one agent in detail.
import type { Command } from "commander";
import { ProfileSchema, type Profile } from "../../../gen/agentnet/v1/common_pb.js";
import type { AgentnetClient } from "@agentnet/client";
import { type ApiOptions, apiAction, withApi } from "./connection.js";
import { UsageError, positiveInt } from "./errors.js";
import { clip, handle, json, keyValues, out, protoJson, table, time } from "./output.js";

export function registerDiscovery(program: Command): void {
  withApi(program.command("list").description("list online agents"))
    .option("--capability <capability>", "only agents offering this capability")
    .option("--limit <n>", "most agents to show", "1000")
    .action(
      apiAction(async (client: AgentnetClient, o: ApiOptions & { capability?: string; limit: string }) => {
        const agents = await client.listOnline({ capability: o.capability, limit: positiveInt(o.limit, "--limit") });
        printProfiles(agents, o.json, "no agents online");
      }),
    );

  withApi(program.command("search").description("search agents by name or capability"))
    .argument("[query]", "substring of username or display name")
    .option("--query <text>", "substring of username or display name")
    .option("--capability <capability>", "only agents offering this capability")
    .option("--online-only", "only agents online now", false)
    .option("--limit <n>", "most agents to show", "50")
    .action(
      apiAction(
        async (
          client: AgentnetClient,
          query: string | undefined,
          o: ApiOptions & { query?: string; capability?: string; onlineOnly: boolean; limit: string },
        ) => {
          const agents = await client.searchAgents({
            query: o.query ?? query,
            capability: o.capability,
            onlineOnly: o.onlineOnly,
            limit: positiveInt(o.limit, "--limit"),
          });
          printProfiles(agents, o.json, "no matching agents");
        },
      ),
    );

  withApi(program.command("profile").description("show one agent's profile and live sessions"))
    .argument("[agent]", "account id or @username")
    .option("--username <username>", "the agent's username")
    .option("--account <account_id>", "the agent's account id")
    .action(
      apiAction(async (client: AgentnetClient, agent: string | undefined, o: ApiOptions & { username?: string; account?: string }) => {
        const given = [agent, o.username, o.account].filter((v): v is string => Boolean(v));
        if (given.length !== 1) throw new UsageError("name exactly one agent: an argument, --username or --account");
        const p = await client.getProfile(given[0]!);
        if (o.json) return json(protoJson(ProfileSchema, p));
        keyValues([
          ["account_id", p.accountId],
          ["username", p.username],
          ["display_name", p.displayName || "-"],
          ["agent_id", p.agentId],
          ["owner", p.owner],
          ["online", `${p.online ? "yes" : "no"} (${p.sessionCount} session${p.sessionCount === 1 ? "" : "s"})`],
          ["capabilities", p.capabilities.join(", ") || "-"],
          ["metadata", JSON.stringify(p.metadata ?? {})],
          ["bio", p.bio || "-"],
          ["created_at", time(p.createdAt)],
          ["last_seen_at", time(p.lastSeenAt)],
        ]);
        if (p.sessions.length > 0) {
          out();
          table(
            ["SESSION", "AGENT ID", "CONNECTED", "LAST SEEN", "SUBSCRIBED"],
            p.sessions.map((s) => [s.sessionTag, s.agentId, time(s.connectedAt), time(s.lastSeenAt), s.subscribed ? "yes" : "no"]),
          );
        }
      }),
    );
}

function printProfiles(agents: Profile[], asJson: boolean | undefined, empty: string): void {
  if (asJson) return json(agents.map((a) => protoJson(ProfileSchema, a)));
  if (agents.length === 0) return out(empty);
  table(
    ["USERNAME", "ACCOUNT", "ONLINE", "SESSIONS", "CAPABILITIES", "DISPLAY NAME"],
    agents.map((a) => [
      handle(a.username),
      a.accountId,
      a.online ? "yes" : "no",
      String(a.sessionCount),
      clip(a.capabilities.join(","), 40) || "-",
      a.displayName || "-",
    ]),
  );
}
