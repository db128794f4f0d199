import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { refusal } from "../support/config.js";

// Settings that are each within their range but contradict each other are refused at start, naming the variable.

describe("configuration cross-checks", () => {
  const refused = (env: Record<string, string>) => refusal(env)?.variable;

  it("refuses a default TTL above the maximum TTL, and takes one equal to it", () => {
    expect(refused({ AGENTNET_DEFAULT_TTL_MS: "60001", AGENTNET_MAX_TTL_MS: "60000" })).toBe("AGENTNET_DEFAULT_TTL_MS");
    expect(readConfig({ AGENTNET_DEFAULT_TTL_MS: "60000", AGENTNET_MAX_TTL_MS: "60000" }).defaultTtlMs).toBe(60_000);
  });

  it("refuses a heartbeat interval that is not shorter than the session TTL", () => {
    expect(refused({ AGENTNET_HEARTBEAT_INTERVAL_SECONDS: "40", AGENTNET_SESSION_TTL_SECONDS: "40" })).toBe(
      "AGENTNET_HEARTBEAT_INTERVAL_SECONDS",
    );
    expect(refused({ AGENTNET_SESSION_TTL_SECONDS: "10" })).toBe("AGENTNET_HEARTBEAT_INTERVAL_SECONDS"); // default interval 12
    expect(readConfig({ AGENTNET_HEARTBEAT_INTERVAL_SECONDS: "39", AGENTNET_SESSION_TTL_SECONDS: "40" }).heartbeatIntervalSeconds).toBe(39);
  });

  it("starts with the defaults", () => {
    const config = readConfig({});
    expect(config.defaultTtlMs).toBeLessThanOrEqual(config.maxTtlMs);
    expect(config.heartbeatIntervalSeconds).toBeLessThan(config.sessionTtlSeconds);
  });
});
