import { existsSync } from "node:fs";
import path from "node:path";
import dotenv from "dotenv";
import { TRACES_SAMPLERS, type TracingConfig } from "./tracing/config.js";

/** A configuration value that cannot be used; `message` names the variable and says why. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`invalid configuration: ${variable} ${reason}`);
    this.name = "ConfigError";
  }
}

export interface Config {
  /** Interface the gateway listens on. */
  host: string;
  /** The one port for gRPC, gRPC-Web and Connect (HTTP/2 cleartext and HTTP/1.1). */
  port: number;
  /** PostgreSQL connection string; unset means the embedded PostgreSQL server of `dataDir`, started by agentnet. */
  databaseUrl: string | undefined;
  /** NATS server URL(s); unset means the in-process bus (single gateway). */
  natsUrl: string | undefined;
  /** Folder for the embedded PostgreSQL (cluster, socket, log, lock), the bootstrap admin password and other local state. */
  dataDir: string;
  /** JWT signing secret; unset means one generated once and kept in the store. */
  jwtSecret: string | undefined;
  /** Lifetime of a Login access token, in seconds. */
  jwtTtlSeconds: number;
  /** Password of the bootstrap `admin` user created on an empty database. */
  adminPassword: string | undefined;
  /** Origins allowed by CORS; `["*"]` allows any. */
  corsOrigins: string[];
  /** Serve the web console at `/` and `/console/` (AGENTNET_CONSOLE). */
  console: boolean;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** `pretty` lines for people, `json` lines for log shippers; `auto`: pretty when stdout is a terminal. */
  logFormat: "auto" | "json" | "pretty";
  /** Login attempts per minute per client address and username. */
  loginRatePerMinute: number;
  /** Verify calls per minute per client address. */
  verifyRatePerMinute: number;
  /** Seconds live streams get to finish on shutdown before connections are cut. */
  shutdownGraceSeconds: number;
  /** Register calls per minute per owning user (RegistryService.Register answers RESOURCE_EXHAUSTED beyond it). */
  registerRatePerMinute: number;
  /** Seconds between heartbeats that Register tells agents to keep (the seed's 12). */
  heartbeatIntervalSeconds: number;
  /** Seconds without heartbeat or open Subscribe stream after which a session is evicted (the seed's 40). */
  sessionTtlSeconds: number;
  /** How often each gateway sweeps for sessions past their TTL and messages past theirs, in milliseconds. */
  sweepIntervalMs: number;
  /**
   * How often each gateway looks in the store for messages its live streams should have but were not pushed (a
   * lease that ran out on a crashed gateway, an announcement lost in a bus outage), in milliseconds.
   */
  redeliveryIntervalMs: number;
  /** How long a pushed, unacked message stays with its stream before another may get it, in milliseconds. */
  deliveryLeaseMs: number;
  /** TTL of a message sent without one, in milliseconds (the seed's 30,000). */
  defaultTtlMs: number;
  /** Longest TTL a sender may ask for, in milliseconds. */
  maxTtlMs: number;
  /** Largest message payload, in bytes of compact JSON (the seed's 256,000). */
  maxPayloadBytes: number;
  /** Sends per second per sender account (token refill rate; the seed's 5). */
  sendRatePerSecond: number;
  /** Sends a sender account may burst before the rate applies (the seed's 10). */
  sendRateBurst: number;
  /** Largest blob, in bytes. */
  maxBlobBytes: number;
  /** Days an offline session is kept before it is pruned (the seed's 14). */
  sessionRetentionDays: number;
  /** Days of inactivity after which a thread and its messages are pruned (the seed's 30). */
  threadRetentionDays: number;
  /** Seconds between runs of the retention job (pruning stale threads) on each gateway. */
  retentionIntervalSeconds: number;
  /** PutBlob calls per minute per owning account. */
  blobRatePerMinute: number;
  /** Agora tokens and Conversational AI voice agents (TokenService, VoiceAgentService, the seed's HTTP routes). */
  voice: VoiceConfig;
  /** Chat sessions with hosted AI agents (SessionService) and their providers. */
  sessions: SessionsConfig;
  /** Prometheus metrics at `GET /metrics` on the one port. */
  metrics: MetricsConfig;
  /** OpenTelemetry traces, exported over OTLP/HTTP from the standard OTEL_* variables; off without an endpoint. */
  tracing: TracingConfig;
}

export interface MetricsConfig {
  /** Serve `GET /metrics` (and collect Node's process metrics for it). */
  enabled: boolean;
  /** When set, a scrape must send `Authorization: Bearer <token>`. */
  token: string | undefined;
}

/** Agora regions whose Conversational AI endpoint AGORA_REGION picks (`global` is api.agora.io). */
export const AGORA_REGIONS = ["global", "us", "eu", "ap", "cn"] as const;
export type AgoraRegion = (typeof AGORA_REGIONS)[number];

export const TTS_VENDORS = ["minimax", "elevenlabs"] as const;
export type TtsVendor = (typeof TTS_VENDORS)[number];

export interface VoiceConfig {
  /** APP_ID and APP_CERTIFICATE; undefined when neither is set (the voice RPCs answer `voice_not_configured`). */
  agora: { appId: string; appCertificate: string } | undefined;
  /** Conversational AI REST API v2 base, without a trailing slash (…/api/conversational-ai-agent/v2). */
  apiBaseUrl: string;
  region: AgoraRegion;
  /** RESTful customer credentials: Basic auth instead of `agora token=` when set. */
  customer: { id: string; secret: string } | undefined;
  llm: { url: string; apiKey: string | undefined; model: string };
  tts: {
    vendor: TtsVendor;
    minimax: { apiKey: string | undefined; groupId: string | undefined; model: string; voiceId: string };
    elevenlabs: { apiKey: string | undefined; model: string; voiceId: string };
  };
  asr: { vendor: "deepgram"; apiKey: string | undefined; model: string; language: string };
  /** System instructions and greeting of an agent started without its own. */
  instructions: string;
  greeting: string;
  idleTimeoutSeconds: number;
  /** Longest a voice agent may run; the watchdog stops it after that. */
  maxDurationSeconds: number;
  watchdogIntervalMs: number;
  /** Serve the seed's HTTP routes (/get_config, /v2/startAgent, /v2/stopAgent) without credentials. */
  publicSeedRoutes: boolean;
}

type Env = Record<string, string | undefined>;

/**
 * Loads `.env.local` then `.env` from `cwd` into `process.env` without overriding variables that are already
 * set (the seed's convention: the real environment wins, `.env.local` beats `.env`).
 */
export function loadEnvFiles(cwd = process.cwd()): void {
  const files = [".env.local", ".env"].map((f) => path.join(cwd, f)).filter((f) => existsSync(f));
  if (files.length > 0) dotenv.config({ path: files, quiet: true });
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function readConfig(env: Env = process.env): Config {
  return crossChecked({
    host: str(env, "HOST") ?? "0.0.0.0",
    port: int(env, "PORT", 8000, { min: 0, max: 65535 }),
    databaseUrl: url(env, "DATABASE_URL", ["postgres:", "postgresql:"]),
    natsUrl: natsUrls(env, "NATS_URL"),
    dataDir: path.resolve(str(env, "AGENTNET_DATA_DIR") ?? ".agentnet"),
    jwtSecret: secret(env, "AGENTNET_JWT_SECRET"),
    jwtTtlSeconds: int(env, "AGENTNET_JWT_TTL_SECONDS", 3600, { min: 60, max: 30 * 86400 }),
    adminPassword: password(env, "AGENTNET_ADMIN_PASSWORD"),
    corsOrigins: list(env, "AGENTNET_CORS_ORIGINS") ?? ["*"],
    logLevel: oneOf(env, "LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"),
    logFormat: oneOf(env, "AGENTNET_LOG_FORMAT", ["auto", "json", "pretty"], "auto"),
    loginRatePerMinute: int(env, "AGENTNET_LOGIN_RATE_PER_MINUTE", 10, { min: 1, max: 100000 }),
    verifyRatePerMinute: int(env, "AGENTNET_VERIFY_RATE_PER_MINUTE", 50, { min: 1, max: 100000 }),
    shutdownGraceSeconds: int(env, "AGENTNET_SHUTDOWN_GRACE_SECONDS", 5, { min: 0, max: 300 }),
    registerRatePerMinute: int(env, "AGENTNET_REGISTER_RATE_PER_MINUTE", 6000, { min: 1, max: 1_000_000 }),
    heartbeatIntervalSeconds: int(env, "AGENTNET_HEARTBEAT_INTERVAL_SECONDS", 12, { min: 1, max: 3600 }),
    sessionTtlSeconds: int(env, "AGENTNET_SESSION_TTL_SECONDS", 40, { min: 2, max: 86400 }),
    sweepIntervalMs: int(env, "AGENTNET_SWEEP_INTERVAL_MS", 1000, { min: 50, max: 60000 }),
    redeliveryIntervalMs: int(env, "AGENTNET_REDELIVERY_INTERVAL_MS", 2000, { min: 50, max: 60000 }),
    deliveryLeaseMs: int(env, "AGENTNET_DELIVERY_LEASE_MS", 30_000, { min: 1000, max: 3_600_000 }),
    defaultTtlMs: int(env, "AGENTNET_DEFAULT_TTL_MS", 30_000, { min: 1, max: 30 * 86_400_000 }),
    maxTtlMs: int(env, "AGENTNET_MAX_TTL_MS", 7 * 86_400_000, { min: 1, max: 365 * 86_400_000 }),
    maxPayloadBytes: int(env, "AGENTNET_MAX_PAYLOAD_BYTES", 256_000, { min: 1024, max: 64 * 1024 * 1024 }),
    sendRatePerSecond: int(env, "AGENTNET_SEND_RATE_PER_SECOND", 5, { min: 1, max: 1_000_000 }),
    sendRateBurst: int(env, "AGENTNET_SEND_RATE_BURST", 10, { min: 1, max: 1_000_000 }),
    maxBlobBytes: int(env, "AGENTNET_MAX_BLOB_BYTES", 16 * 1024 * 1024, { min: 1024, max: 256 * 1024 * 1024 }),
    sessionRetentionDays: int(env, "AGENTNET_SESSION_RETENTION_DAYS", 14, { min: 1, max: 3650 }),
    threadRetentionDays: int(env, "AGENTNET_THREAD_RETENTION_DAYS", 30, { min: 1, max: 3650 }),
    retentionIntervalSeconds: int(env, "AGENTNET_RETENTION_INTERVAL_SECONDS", 3600, { min: 1, max: 7 * 86400 }),
    blobRatePerMinute: int(env, "AGENTNET_BLOB_RATE_PER_MINUTE", 120, { min: 1, max: 1_000_000 }),
    voice: readVoiceConfig(env),
    sessions: readSessionsConfig(env),
    console: bool(env, "AGENTNET_CONSOLE", true),
    metrics: { enabled: bool(env, "AGENTNET_METRICS", true), token: bearerToken(env, "AGENTNET_METRICS_TOKEN") },
    tracing: readTracingConfig(env),
  });
}

/** Settings that are each in range but contradict each other. */
function crossChecked(config: Config): Config {
  if (config.defaultTtlMs > config.maxTtlMs) {
    throw new ConfigError("AGENTNET_DEFAULT_TTL_MS", `must not exceed AGENTNET_MAX_TTL_MS (${config.defaultTtlMs} > ${config.maxTtlMs})`);
  }
  // Agents heartbeat at the interval they are told; one at or past the TTL would be evicted between beats.
  if (config.heartbeatIntervalSeconds >= config.sessionTtlSeconds) {
    throw new ConfigError(
      "AGENTNET_HEARTBEAT_INTERVAL_SECONDS",
      `must be less than AGENTNET_SESSION_TTL_SECONDS (${config.heartbeatIntervalSeconds} >= ${config.sessionTtlSeconds})`,
    );
  }
  return config;
}

const AGORA_REST_HOSTS: Record<AgoraRegion, string> = {
  global: "api.agora.io",
  us: "api-us-west-1.agora.io",
  eu: "api-eu-west-1.agora.io",
  ap: "api-ap-southeast-1.agora.io",
  cn: "api-cn-east-1.sd-rtn.com",
};

/** The variable names follow the Agora seed where it names them (APP_ID, APP_CERTIFICATE, LLM_API_KEY, …). */
function readVoiceConfig(env: Env): VoiceConfig {
  const appId = hex32(env, "APP_ID");
  const appCertificate = hex32(env, "APP_CERTIFICATE");
  if ((appId === undefined) !== (appCertificate === undefined)) {
    throw new ConfigError(
      appId === undefined ? "APP_ID" : "APP_CERTIFICATE",
      `must be set together with ${appId === undefined ? "APP_CERTIFICATE" : "APP_ID"}`,
    );
  }
  const customerId = str(env, "AGORA_CUSTOMER_ID");
  const customerSecret = str(env, "AGORA_CUSTOMER_SECRET");
  if ((customerId === undefined) !== (customerSecret === undefined)) {
    throw new ConfigError(
      customerId === undefined ? "AGORA_CUSTOMER_ID" : "AGORA_CUSTOMER_SECRET",
      `must be set together with ${customerId === undefined ? "AGORA_CUSTOMER_SECRET" : "AGORA_CUSTOMER_ID"}`,
    );
  }
  const region = oneOf(env, "AGORA_REGION", AGORA_REGIONS, "global");
  const apiBaseUrl = (
    url(env, "AGORA_API_BASE_URL", ["https:", "http:"]) ?? `https://${AGORA_REST_HOSTS[region]}/api/conversational-ai-agent/v2`
  ).replace(/\/+$/, "");
  const minimaxKey = str(env, "TTS_MINIMAX_API_KEY");
  const elevenlabsKey = str(env, "TTS_ELEVENLABS_API_KEY");
  // The seed's .env names only TTS_ELEVENLABS_API_KEY while its code uses MiniMax: without TTS_VENDOR, the vendor
  // whose key is present wins, MiniMax when both or neither are.
  const defaultVendor: TtsVendor = minimaxKey === undefined && elevenlabsKey !== undefined ? "elevenlabs" : "minimax";
  return {
    agora: appId !== undefined && appCertificate !== undefined ? { appId, appCertificate } : undefined,
    apiBaseUrl,
    region,
    customer: customerId !== undefined && customerSecret !== undefined ? { id: customerId, secret: customerSecret } : undefined,
    llm: {
      url: url(env, "LLM_URL", ["https:", "http:"]) ?? "https://api.openai.com/v1/chat/completions",
      apiKey: str(env, "LLM_API_KEY"),
      model: str(env, "LLM_MODEL") ?? "gpt-4o-mini",
    },
    tts: {
      vendor: oneOf(env, "TTS_VENDOR", TTS_VENDORS, defaultVendor),
      minimax: {
        apiKey: minimaxKey,
        groupId: str(env, "TTS_MINIMAX_GROUP_ID"),
        model: str(env, "TTS_MINIMAX_MODEL") ?? "speech_2_6_turbo",
        voiceId: str(env, "TTS_MINIMAX_VOICE_ID") ?? "English_captivating_female1",
      },
      elevenlabs: {
        apiKey: elevenlabsKey,
        model: str(env, "TTS_ELEVENLABS_MODEL") ?? "eleven_flash_v2_5",
        voiceId: str(env, "TTS_ELEVENLABS_VOICE_ID") ?? "21m00Tcm4TlvDq8ikWAM",
      },
    },
    asr: {
      vendor: "deepgram",
      apiKey: str(env, "ASR_DEEPGRAM_API_KEY"),
      model: str(env, "ASR_DEEPGRAM_MODEL") ?? "nova-3",
      language: str(env, "ASR_DEEPGRAM_LANGUAGE") ?? "en",
    },
    instructions:
      str(env, "AGENTNET_VOICE_INSTRUCTIONS") ?? "You are a friendly voice assistant. Keep your answers short and conversational.",
    greeting: str(env, "AGENTNET_VOICE_GREETING") ?? "Hi there! How can I help you today?",
    idleTimeoutSeconds: int(env, "AGENTNET_VOICE_IDLE_TIMEOUT_SECONDS", 30, { min: 0, max: 86400 }),
    maxDurationSeconds: int(env, "AGENTNET_VOICE_MAX_DURATION_SECONDS", 3600, { min: 1, max: 86400 }),
    watchdogIntervalMs: int(env, "AGENTNET_VOICE_WATCHDOG_INTERVAL_MS", 15_000, { min: 50, max: 3_600_000 }),
    publicSeedRoutes: bool(env, "AGENTNET_VOICE_PUBLIC_SEED_ROUTES", false),
  };
}

/** An Agora App ID or App Certificate: 32 hexadecimal characters. The value never appears in the error. */
function hex32(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  if (!/^[0-9a-fA-F]{32}$/.test(raw)) throw new ConfigError(name, `must be 32 hexadecimal characters (got ${raw.length} characters)`);
  return raw;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === "" ? undefined : v;
}

function int(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < range.min || n > range.max) {
    throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${n}`);
  }
  return n;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, "is not a valid URL");
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(" or ")}`);
  }
  return raw;
}

function natsUrls(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  for (const part of raw.split(",")) {
    url({ [name]: part }, name, ["nats:", "tls:", "ws:", "wss:"]);
  }
  return raw;
}

function secret(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (raw.length < 32) throw new ConfigError(name, "must be at least 32 characters long");
  return raw;
}

/**
 * The OpenTelemetry SDK's own variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/),
 * read here rather than by the SDK so that a bad value is refused at start like any other, naming the variable.
 */
function readTracingConfig(env: Env): TracingConfig {
  const exporter = oneOf(env, "OTEL_TRACES_EXPORTER", ["otlp", "none"], "otlp");
  const protocolVar = str(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
  // Spans go out as OTLP/HTTP with JSON bodies, which collectors take on their HTTP port beside protobuf.
  oneOf(env, protocolVar, ["http/json", "http/protobuf"], "http/protobuf");
  const tracesUrl = url(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ["http:", "https:"]);
  const baseUrl = url(env, "OTEL_EXPORTER_OTLP_ENDPOINT", ["http:", "https:"]);
  const endpoint = tracesUrl ?? (baseUrl === undefined ? undefined : `${baseUrl.replace(/\/+$/, "")}/v1/traces`);
  const disabled = bool(env, "OTEL_SDK_DISABLED", false) || exporter === "none";
  const headersVar = str(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS") ? "OTEL_EXPORTER_OTLP_TRACES_HEADERS" : "OTEL_EXPORTER_OTLP_HEADERS";
  return {
    endpoint: disabled ? undefined : endpoint,
    headers: keyValues(env, headersVar),
    serviceName: str(env, "OTEL_SERVICE_NAME") ?? "agentnet",
    sampler: oneOf(env, "OTEL_TRACES_SAMPLER", TRACES_SAMPLERS, "parentbased_always_on"),
    samplerRatio: ratio(env, "OTEL_TRACES_SAMPLER_ARG", 1),
    ...batchSpanProcessor(env),
  };
}

/** The batch span processor's OTEL_BSP_* variables (the SDK no longer reads them itself), with its defaults. */
function batchSpanProcessor(env: Env): Pick<TracingConfig, "scheduleDelayMs" | "maxQueueSize" | "maxExportBatchSize" | "exportTimeoutMs"> {
  const maxQueueSize = int(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, { min: 1, max: 1_000_000 });
  const maxExportBatchSize = int(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", Math.min(512, maxQueueSize), { min: 1, max: 1_000_000 });
  if (maxExportBatchSize > maxQueueSize) {
    throw new ConfigError(
      "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
      `must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${maxExportBatchSize} > ${maxQueueSize})`,
    );
  }
  return {
    scheduleDelayMs: int(env, "OTEL_BSP_SCHEDULE_DELAY", 5000, { min: 1, max: 600_000 }),
    maxQueueSize,
    maxExportBatchSize,
    exportTimeoutMs: int(env, "OTEL_BSP_EXPORT_TIMEOUT", 30_000, { min: 1, max: 600_000 }),
  };
}

/** `key1=value1,key2=value2` with URL-encoded values (the OTLP headers format). */
function keyValues(env: Env, name: string): Record<string, string> {
  const raw = str(env, name);
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    const key = eq < 0 ? "" : pair.slice(0, eq).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key))
      throw new ConfigError(name, `must be key=value pairs separated by commas, got "${pair.trim()}"`);
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(name, `has a value that is not URL-encoded properly (key ${key})`);
    }
  }
  return out;
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || n < 0 || n > 1) throw new ConfigError(name, `must be a number from 0 to 1, got "${raw}"`);
  return n;
}

function bearerToken(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < 16) throw new ConfigError(name, `must be at least 16 characters long (got ${raw.length})`);
  if (!/^[\x21-\x7e]+$/.test(raw)) throw new ConfigError(name, "must be printable ASCII without spaces (it travels in an HTTP header)");
  return raw;
}

function password(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (raw.length < 8) throw new ConfigError(name, "must be at least 8 characters long");
  return raw;
}

function list(env: Env, name: string): string[] | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return items.length > 0 ? items : undefined;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

/** Names of the hosted-agent providers (AgentConfig.provider); `openai_compatible` is any base URL (vLLM, Ollama, …). */
export const CHAT_PROVIDERS = ["echo", "openai", "groq", "together", "novita", "openai_compatible", "anthropic"] as const;
export type ChatProviderName = (typeof CHAT_PROVIDERS)[number];

/** Where one provider is reached. Keys are secrets: never logged. */
export interface ChatProviderEndpoint {
  /** Unset: the provider is not configured (`openai_compatible` is configured by its base URL alone). */
  apiKey: string | undefined;
  /** Unset: the provider's public endpoint. */
  baseUrl: string | undefined;
  /** Unset: the built-in default model. */
  model: string | undefined;
}

export interface SessionsConfig {
  /** Provider of an agent created without one. */
  defaultProvider: ChatProviderName;
  /** A session expires this long after creation. */
  lifetimeSeconds: number;
  /** …or after this long without a message or turn. */
  inactivitySeconds: number;
  /** StreamSession sends a ping after this long. */
  pingIntervalMs: number;
  /** A provider call running longer ends its turn with an `error` event (`provider_timeout`). */
  providerTimeoutMs: number;
  /** Per-agent token budget per window when CreateSession gives none; 0: no budget. */
  tokensPerMinute: number;
  /** Length of the token window ("per minute" unless changed, e.g. by tests). */
  tokenWindowSeconds: number;
  createRatePerMinute: number;
  /** GetSession, ListSessions and StreamSession calls per minute per user. */
  queryRatePerMinute: number;
  messageRatePerMinute: number;
  /** Turns one gateway runs at once; more wait for a free gateway. */
  maxConcurrentTurns: number;
  /** A gateway's claim on a running turn lasts this long unless renewed; after it another gateway takes the turn. */
  turnLeaseMs: number;
  /** Pause between the words the echo provider streams. */
  echoDelayMs: number;
  providers: Record<Exclude<ChatProviderName, "echo">, ChatProviderEndpoint>;
}

function readSessionsConfig(env: Env): SessionsConfig {
  const endpoint = (prefix: string): ChatProviderEndpoint => ({
    apiKey: str(env, `${prefix}_API_KEY`),
    baseUrl: url(env, `${prefix}_BASE_URL`, ["https:", "http:"])?.replace(/\/+$/, ""),
    model: str(env, `${prefix}_MODEL`),
  });
  return {
    defaultProvider: oneOf(env, "AGENTNET_CHAT_DEFAULT_PROVIDER", CHAT_PROVIDERS, "echo"),
    lifetimeSeconds: int(env, "AGENTNET_CHAT_SESSION_LIFETIME_SECONDS", 3600, { min: 1, max: 7 * 86400 }),
    inactivitySeconds: int(env, "AGENTNET_CHAT_INACTIVITY_SECONDS", 600, { min: 1, max: 7 * 86400 }),
    pingIntervalMs: int(env, "AGENTNET_CHAT_PING_INTERVAL_MS", 30_000, { min: 50, max: 600_000 }),
    providerTimeoutMs: int(env, "AGENTNET_CHAT_PROVIDER_TIMEOUT_MS", 60_000, { min: 50, max: 600_000 }),
    tokensPerMinute: int(env, "AGENTNET_CHAT_TOKENS_PER_MINUTE", 20_000, { min: 0, max: 100_000_000 }),
    tokenWindowSeconds: int(env, "AGENTNET_CHAT_TOKEN_WINDOW_SECONDS", 60, { min: 1, max: 3600 }),
    createRatePerMinute: int(env, "AGENTNET_CHAT_CREATE_RATE_PER_MINUTE", 5, { min: 1, max: 1_000_000 }),
    queryRatePerMinute: int(env, "AGENTNET_CHAT_QUERY_RATE_PER_MINUTE", 10, { min: 1, max: 1_000_000 }),
    messageRatePerMinute: int(env, "AGENTNET_CHAT_MESSAGE_RATE_PER_MINUTE", 60, { min: 1, max: 1_000_000 }),
    maxConcurrentTurns: int(env, "AGENTNET_CHAT_MAX_CONCURRENT_TURNS", 64, { min: 1, max: 10_000 }),
    turnLeaseMs: int(env, "AGENTNET_CHAT_TURN_LEASE_MS", 30_000, { min: 100, max: 600_000 }),
    echoDelayMs: int(env, "AGENTNET_CHAT_ECHO_DELAY_MS", 5, { min: 0, max: 60_000 }),
    providers: {
      openai: endpoint("OPENAI"),
      groq: endpoint("GROQ"),
      together: endpoint("TOGETHER"),
      novita: endpoint("NOVITA"),
      openai_compatible: endpoint("OPENAI_COMPATIBLE"),
      anthropic: endpoint("ANTHROPIC"),
    },
  };
}
