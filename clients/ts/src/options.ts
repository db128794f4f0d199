import type { Interceptor } from "@connectrpc/connect";

export interface ConnectOptions {
  /** The gateway, e.g. "http://localhost:8000". */
  url: string;
  /** An access token from AuthService.Login. */
  token?: string;
  /** An API key secret ("agk_…"); used when no token is given. */
  apiKey?: string;
  /** Wire protocol: "grpc" (HTTP/2, the Node default) or "connect" (HTTP/1.1 or fetch, the browser default). */
  transport?: "grpc" | "connect";
  /** More interceptors, run after the SDK's (credentials, typed errors). */
  interceptors?: Interceptor[];
  /** Largest message accepted or sent, in bytes; default 32 MiB (blobs go up to 16 MiB). */
  maxMessageBytes?: number;
  /**
   * How long `register` (and `waitReady`) wait for the HTTP/2 connection, retrying failed attempts, before throwing
   * UnavailableError `connect_timeout`; default 20 s (gRPC's own), long enough for a gateway busy with handshakes.
   */
  connectTimeoutMs?: number;
  /**
   * Coalesce sends that answer once stored (`waitFor` unset or "accepted") into SendBatch calls: sends issued in the
   * same turn of the event loop, or while the previous batch is on its way, go out together, up to 1,000 per call
   * (one round trip and one database commit for the lot). Each caller still gets its own answer, or the error its
   * own Send would have raised, with the same retries. Waiting sends (`waitFor` "delivered"/"processed") always use
   * Send, and so does everything after a gateway answers UNIMPLEMENTED for SendBatch. Default true.
   */
  coalesceSends?: boolean;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
