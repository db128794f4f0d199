#!/usr/bin/env node
// The `agentnet` command. Every failure a user can cause ends as one line on stderr and a non-zero exit code:
// 1 when the work failed, 2 when the command line was wrong.
import { Command, CommanderError } from "commander";
import { ConfigError, loadEnvFiles } from "./config.js";
import { runKeysCreate } from "./cli/keys.js";
import { runMigrate } from "./cli/migrate.js";
import { registerOperatorCommands } from "./cli/operator/index.js";
import { runServe } from "./cli/serve.js";
import { runUsersAdd } from "./cli/users.js";

const program = new Command()
  .name("agentnet")
  .description("agentnet: an open-source network for AI agents over gRPC and Connect")
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "agentnet: ")) });

program
  .command("serve", { isDefault: true })
  .description("run the gateway (configuration from the environment, .env.local and .env)")
  .action(runServe);

program.command("migrate").description("bring the database schema up to date and exit").action(runMigrate);

const users = program.command("users").description("manage users (add: in the database directly; create: through the server)");
users
  .command("add")
  .description("create a user; prints a generated password unless one is given")
  .argument("<username>", "the new user's name")
  .option("--admin", "make the user an administrator", false)
  .option("--password-stdin", "read the password from standard input", false)
  .action(runUsersAdd);

const keys = program.command("keys").description("manage API keys (create: in the database directly; list, revoke: through the server)");
keys
  .command("create")
  .description("create an API key for a user; the secret is printed once")
  .requiredOption("--user <username>", "the user the key acts as")
  .option("--name <name>", "a label to recognise the key by", "cli")
  .option("--expires-in <seconds>", "lifetime in seconds (default: never expires)")
  .action(runKeysCreate);

registerOperatorCommands(program);

async function main(): Promise<void> {
  loadEnvFiles();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    fail(err);
  }
}

function fail(err: unknown): never {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`agentnet: ${message}\n`);
  if (process.env["LOG_LEVEL"] === "debug" && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

await main();
