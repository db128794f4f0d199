// Every operator command ends in one of three ways: done (exit 0), the request failed (exit 1, one line naming the
// server's reason), or the command line was wrong (exit 2).
import { AgentnetError, ErrorReply, toAgentnetError } from "@agentnet/client";

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function describeFailure(err: unknown): string {
  if (err instanceof UsageError) return err.message;
  if (err instanceof ErrorReply) return `the agent answered with an error: ${err.message} (error_reply)`;
  if (err instanceof AgentnetError || isConnectLike(err)) {
    const e = toAgentnetError(err);
    return `${e.rawMessage.replace(/\s+/g, " ").trim() || e.reason} (${e.reason})`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}

/** Prints the failure as one line on stderr and sets the exit code. */
export function report(err: unknown): void {
  process.stderr.write(`agentnet: ${describeFailure(err)}\n`);
  process.exitCode = exitCodeFor(err);
}

function isConnectLike(err: unknown): boolean {
  return err instanceof Error && err.name === "ConnectError";
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}

export function date(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag} must be a date and time like 2026-01-31T12:00:00Z, got "${value}"`);
  return d;
}
