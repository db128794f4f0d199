import { Code, ConnectError } from "@connectrpc/connect";
import { A2A_ERRORS, A2A_ERROR_DOMAIN, A2A_PROTOCOL_VERSION, A2aError } from "../a2a/index.js";
import { DomainError } from "../errors.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { fromDomainError } from "../server/errors.js";

// A2A's errors in each binding (A2A §5.4, §9.5, §10.6): A2A's own with ErrorInfo domain "a2a-protocol.org" and
// their reason; agentnet's refusals (credentials, limits, validation) as agentnet answers them everywhere.

/** A2A's error as the gRPC binding answers it; any other error is left to the error interceptor. */
export function toA2aConnectError(err: unknown): unknown {
  if (!(err instanceof A2aError)) return err;
  const code = A2A_ERRORS[err.type].kind === "internal" ? Code.Internal : fromDomainError(err).code;
  return new ConnectError(err.message, code, undefined, [
    { desc: ErrorInfoSchema, value: { reason: err.type, domain: A2A_ERROR_DOMAIN, metadata: err.metadata } },
  ]);
}

/** A JSON-RPC 2.0 error object: A2A's codes for A2A's errors, the standard ones for agentnet's. */
export interface JsonRpcError {
  code: number;
  message: string;
  data: Array<Record<string, unknown>>;
}

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

export function toJsonRpcError(err: unknown): { error: JsonRpcError; httpStatus: number } {
  if (err instanceof A2aError) {
    return {
      httpStatus: 200,
      error: {
        code: A2A_ERRORS[err.type].jsonRpcCode,
        message: err.message,
        data: [{ "@type": ERROR_INFO_TYPE, reason: err.type, domain: A2A_ERROR_DOMAIN, metadata: err.metadata }],
      },
    };
  }
  if (err instanceof DomainError) {
    const data: Array<Record<string, unknown>> = [
      {
        "@type": ERROR_INFO_TYPE,
        reason: err.reason,
        domain: "agentnet.dev",
        metadata: err.field === undefined ? err.metadata : { ...err.metadata, field: err.field },
      },
    ];
    if (err.field !== undefined) {
      data.push({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [{ field: err.field, description: err.message }],
      });
    }
    if (err.retryAfterMs !== undefined) {
      data.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${(err.retryAfterMs / 1000).toFixed(3)}s` });
    }
    // Credentials are refused at the HTTP level too (401/403), so HTTP clients and auth handlers see it.
    const httpStatus = err.kind === "unauthenticated" ? 401 : err.kind === "permission_denied" ? 403 : 200;
    return { httpStatus, error: { code: JSON_RPC_CODES[err.kind], message: err.message, data } };
  }
  return {
    httpStatus: 200,
    error: { code: -32603, message: "Internal error", data: [{ "@type": ERROR_INFO_TYPE, reason: "internal", domain: "agentnet.dev" }] },
  };
}

/**
 * agentnet's error kinds in JSON-RPC: validation is -32602 (Invalid params); the others take server-error codes
 * after A2A's own (-32001…-32009), one per kind; ErrorInfo's reason says exactly what happened.
 */
const JSON_RPC_CODES: Record<DomainError["kind"], number> = {
  invalid_argument: -32602,
  unauthenticated: -32011,
  permission_denied: -32012,
  not_found: -32013,
  already_exists: -32014,
  failed_precondition: -32015,
  resource_exhausted: -32016,
  unavailable: -32017,
  deadline_exceeded: -32018,
  unimplemented: -32601,
};

/** The A2A-Version a client asked for (empty: not said, taken as this gateway's); others are refused. */
export function checkA2aVersion(header: string | null | undefined): void {
  const asked = (header ?? "").trim();
  if (asked === "") return;
  const [major, minor = "0"] = asked.split(".");
  const [ourMajor, ourMinor] = A2A_PROTOCOL_VERSION.split(".");
  if (major !== ourMajor || minor !== ourMinor) {
    throw new A2aError(
      "VERSION_NOT_SUPPORTED",
      `A2A-Version ${asked} is not served here; this gateway speaks A2A ${A2A_PROTOCOL_VERSION}`,
      {
        requested: asked,
        supported: A2A_PROTOCOL_VERSION,
      },
    );
  }
}
