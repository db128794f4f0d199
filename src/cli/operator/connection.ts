// Server URL and credentials of operator commands: flags first, then AGENTNET_URL / AGENTNET_TOKEN /
// AGENTNET_API_KEY / AGENTNET_TRANSPORT. Every command runs through `apiAction`, which opens the client, turns
// failures into one line and an exit code, and closes the connection.
import type { Command } from "commander";
import { type Actor, type AgentnetClient, type Target, connect } from "@agentnet/client";
import { AgentType } from "@agentnet/client/gen";
import { UsageError, report } from "./errors.js";

export interface ApiOptions {
  url?: string;
  token?: string;
  apiKey?: string;
  transport?: string;
  json?: boolean;
}

export const DEFAULT_URL = "http://localhost:8000";

/** Adds the connection flags and --json to a command. */
export function withApi(cmd: Command): Command {
  return cmd
    .option("--url <url>", `gateway URL (env AGENTNET_URL, default ${DEFAULT_URL})`)
    .option("--token <token>", "access token from Login (env AGENTNET_TOKEN)")
    .option("--api-key <secret>", "API key secret (env AGENTNET_API_KEY)")
    .option("--transport <grpc|connect>", "wire protocol (env AGENTNET_TRANSPORT, default grpc)")
    .option("--json", "print JSON for scripts instead of tables", false);
}

export function openClient(o: ApiOptions): AgentnetClient {
  const env = process.env;
  const url = o.url ?? env["AGENTNET_URL"] ?? DEFAULT_URL;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http:// or https:// URL, got "${url}"`);
  const token = o.token ?? env["AGENTNET_TOKEN"];
  const apiKey = o.apiKey ?? env["AGENTNET_API_KEY"];
  if (!token && !apiKey) throw new UsageError("no credentials: pass --token or --api-key, or set AGENTNET_TOKEN or AGENTNET_API_KEY");
  const transport = o.transport ?? env["AGENTNET_TRANSPORT"] ?? "grpc";
  if (transport !== "grpc" && transport !== "connect") throw new UsageError(`--transport must be grpc or connect, got "${transport}"`);
  return connect({ url: url.replace(/\/+$/, ""), token, apiKey, transport });
}

/**
 * Wraps a command's work: the last argument commander passes is the Command itself, whose merged options hold the
 * connection flags. Failures become one line on stderr with exit code 1 (request) or 2 (usage).
 */
export function apiAction<Args extends unknown[]>(work: (client: AgentnetClient, ...args: Args) => Promise<void>) {
  return async (...args: Args): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    let client: AgentnetClient | undefined;
    try {
      client = openClient(cmd.opts<ApiOptions>());
      await work(client, ...args);
    } catch (err) {
      report(err);
    } finally {
      await client?.close().catch(() => undefined);
    }
  };
}

/**
 * The account a command acts as: `--as` (account id or @username), or else the caller's only agent account (the
 * hosted agents of the caller's chat sessions are not counted, as on the server). Owning none or several is a usage
 * error that says what to do.
 */
export async function actingAs(client: AgentnetClient, as: string | undefined): Promise<Actor> {
  if (as) return client.as(as);
  const owned = (await client.ownedAccounts()).filter((a) => a.agentType !== AgentType.HOSTED);
  if (owned.length === 1) return client.as(owned[0]!.accountId);
  if (owned.length === 0)
    throw new UsageError("you own no agent account to act as: register one (an agent does that on start) or pass --as");
  const names = owned.map((a) => `@${a.username}`).join(", ");
  throw new UsageError(`you own ${owned.length} agent accounts (${names}): choose one with --as`);
}

export interface TargetOptions {
  to?: string;
  toUsername?: string;
  toAccount?: string;
  toCapability?: string;
}

/** Adds the recipient flags: --to (any form) or the seed's --to-username / --to-account, or --to-capability. */
export function withTarget(cmd: Command): Command {
  return cmd
    .option("--to <recipient>", "account id, @username or capability:<name>")
    .option("--to-username <username>", "recipient by username")
    .option("--to-account <account_id>", "recipient by account id")
    .option("--to-capability <capability>", "one online agent offering this capability");
}

export function targetOf(o: TargetOptions): Target {
  const given: Target[] = [];
  if (o.to) given.push(o.to);
  if (o.toUsername) given.push({ username: o.toUsername });
  if (o.toAccount) given.push({ accountId: o.toAccount });
  if (o.toCapability) given.push({ capability: o.toCapability });
  if (given.length !== 1) throw new UsageError("give exactly one recipient: --to, --to-username, --to-account or --to-capability");
  return given[0]!;
}
