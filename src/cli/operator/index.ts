// The operator commands (the seed's `agentnet list|search|profile|send|request|watch|chat|threads|thread-status|
// thread-messages|message-search`, plus sessions, voice, API keys and users through the server), built on the
// TypeScript SDK.
import type { Command } from "commander";
import { registerAccounts } from "./accounts.js";
import { registerChat } from "./chat.js";
import { registerDiscovery } from "./discovery.js";
import { registerMessages } from "./messages.js";
import { registerSessions } from "./sessions.js";
import { registerThreads } from "./threads.js";
import { registerVoice } from "./voice.js";
import { registerWatch } from "./watch.js";

/** Adds the operator commands; `keys` and `users` get their server-side subcommands beside the local ones. */
export function registerOperatorCommands(program: Command): void {
  registerDiscovery(program);
  registerMessages(program);
  registerWatch(program);
  registerChat(program);
  registerThreads(program);
  registerSessions(program);
  registerVoice(program);
  const group = (name: string, description: string) =>
    program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
  registerAccounts(group("keys", "manage API keys"), group("users", "manage users"));
}
