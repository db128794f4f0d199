import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** Awaits a call that must fail, and returns its ConnectError for further checks. */
export async function expectError(call: Promise<unknown>, code: Code, reason?: string): Promise<ConnectError> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  expect(caught, "the call should have failed").toBeInstanceOf(ConnectError);
  const err = caught as ConnectError;
  expect(Code[err.code], err.message).toBe(Code[code]);
  if (reason !== undefined) expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe(reason);
  return err;
}

export function fieldOf(err: ConnectError): string | undefined {
  return err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field;
}

export function retryDelayMs(err: ConnectError): number | undefined {
  const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return delay && Number(delay.seconds) * 1000 + delay.nanos / 1e6;
}
