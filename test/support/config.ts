import { expect } from "vitest";
import { ConfigError, readConfig } from "../../src/config.js";

/** The ConfigError `readConfig(env)` refuses `env` with; undefined when it takes it. */
export function refusal(env: Record<string, string>): ConfigError | undefined {
  try {
    readConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  return undefined;
}
