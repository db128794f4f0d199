// The agentnet services as Connect clients over one transport, with credentials and typed errors added by
// interceptors.
import { type Client, type Interceptor, type StreamResponse, type Transport, createClient } from "@connectrpc/connect";
import { AuthService } from "@agentnet/gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import { SessionService } from "@agentnet/gen/agentnet/v1/session_pb.js";
import { TokenService } from "@agentnet/gen/agentnet/v1/token_pb.js";
import { VoiceAgentService } from "@agentnet/gen/agentnet/v1/voice_pb.js";
import { toAgentnetError } from "./errors.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./options.js";
import { SendBatcher } from "./send-batcher.js";

export interface Services {
  auth: Client<typeof AuthService>;
  registry: Client<typeof RegistryService>;
  messaging: Client<typeof MessagingService>;
  sessions: Client<typeof SessionService>;
  tokens: Client<typeof TokenService>;
  voice: Client<typeof VoiceAgentService>;
  /**
   * Waits (bounded) until the connection is up, or throws UnavailableError `connect_timeout`; resolves at once on
   * transports without a connection of their own (Connect over HTTP/1.1 or fetch).
   */
  waitReady: (timeoutMs?: number) => Promise<void>;
  /** Coalesces sends that answer once stored into SendBatch calls; undefined when `coalesceSends` is false. */
  sendBatcher: SendBatcher | undefined;
}

export interface ServicesOptions {
  /** Default true: see ConnectOptions.coalesceSends. */
  coalesceSends?: boolean;
  maxMessageBytes?: number;
}

export function createServices(
  transport: Transport,
  waitReady: Services["waitReady"] = async () => undefined,
  o: ServicesOptions = {},
): Services {
  const messaging = createClient(MessagingService, transport);
  return {
    auth: createClient(AuthService, transport),
    registry: createClient(RegistryService, transport),
    messaging,
    sessions: createClient(SessionService, transport),
    tokens: createClient(TokenService, transport),
    voice: createClient(VoiceAgentService, transport),
    waitReady,
    sendBatcher:
      o.coalesceSends === false ? undefined : new SendBatcher(messaging, waitReady, o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES),
  };
}

/** Sends `authorization: Bearer <credential>` (a Login token or an API key secret) on every call. */
export function bearer(credential: string | undefined): Interceptor {
  return (next) => (req) => {
    if (credential) req.header.set("authorization", `Bearer ${credential}`);
    return next(req);
  };
}

/** Rethrows every failure, unary or mid-stream, as the AgentnetError subclass its reason names. */
export const typedErrors: Interceptor = (next) => async (req) => {
  let res: Awaited<ReturnType<typeof next>>;
  try {
    res = await next(req);
  } catch (err) {
    throw toAgentnetError(err);
  }
  if (!res.stream) return res;
  const stream: StreamResponse = res;
  return { ...stream, message: typedStream(stream.message) };
};

async function* typedStream<T>(source: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* source;
  } catch (err) {
    throw toAgentnetError(err);
  }
}
