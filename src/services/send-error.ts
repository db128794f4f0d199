import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { SendErrorSchema } from "../../gen/agentnet/v1/messaging_pb.js";
import { toConnectError } from "../server/errors.js";

/**
 * One refused item of a SendBatch, as the error Send would have raised for it: the same code, reason, field and
 * retry delay, flattened into the result so the other items' outcomes still arrive. An error that Send would
 * answer with INTERNAL (a bug) stays that item's: the other items may be stored already, and failing the call
 * would tell the sender they were not. `onInternal` logs it, as a failed call is logged.
 */
export function toSendError(err: unknown, onInternal: (err: unknown) => void): MessageInitShape<typeof SendErrorSchema> {
  const connectError = toConnectError(err);
  if (connectError.code === Code.Internal) onInternal(err);
  const info = connectError.findDetails(ErrorInfoSchema)[0];
  const retry = connectError.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return {
    code: codeName(connectError.code),
    reason: info?.reason ?? "",
    message: connectError.rawMessage,
    field: info?.metadata.field ?? "",
    retryAfterMs: retry ? retry.seconds * 1000n + BigInt(Math.round(retry.nanos / 1_000_000)) : 0n,
    metadata: info?.metadata ?? {},
  };
}

/** `Code.InvalidArgument` → "INVALID_ARGUMENT", the name gRPC documents. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
