import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ScalarType, fromBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { DescriptorProto, EnumDescriptorProto, FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { SessionService } from "../../gen/agentnet/v1/session_pb.js";
import { StatsService } from "../../gen/agentnet/v1/stats_pb.js";
import { TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { VoiceAgentService } from "../../gen/agentnet/v1/voice_pb.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

// The RPC names DESIGN.md fixes; clients, docs and outside checks rely on them.
const CONTRACT: Record<string, string[]> = {
  "agentnet.v1.AuthService": ["Login", "Verify", "CreateApiKey", "ListApiKeys", "RevokeApiKey", "CreateUser"],
  "agentnet.v1.RegistryService": [
    "Register",
    "Heartbeat",
    "Deregister",
    "ListOnline",
    "SearchAgents",
    "GetProfile",
    "UpdateProfile",
    "ResolveAccount",
    "GetAgentStatus",
    "ListAgents",
    "WatchPresence",
  ],
  "agentnet.v1.MessagingService": [
    "Send",
    "Request",
    "Reply",
    "Subscribe",
    "Ack",
    "WatchReceipts",
    "ListThreads",
    "GetThreadMessages",
    "SearchMessages",
    "GetThreadStatus",
    "PutBlob",
    "GetBlob",
    "HeadBlob",
    "DeleteBlob",
  ],
  "agentnet.v1.SessionService": [
    "CreateSession",
    "GetSession",
    "ListSessions",
    "DeleteSession",
    "SendSessionMessage",
    "StreamSession",
    "ListProviders",
  ],
  "agentnet.v1.TokenService": ["GetConfig", "IssueRtcToken", "IssueRtmToken"],
  "agentnet.v1.VoiceAgentService": ["StartVoiceAgent", "StopVoiceAgent", "GetVoiceAgent", "ListVoiceAgents", "Speak", "Interrupt"],
};

// Browsers cannot send client streams, so these four server streams are the only streaming RPCs.
const SERVER_STREAMS = [
  "agentnet.v1.MessagingService.Subscribe",
  "agentnet.v1.MessagingService.WatchReceipts",
  "agentnet.v1.RegistryService.WatchPresence",
  "agentnet.v1.SessionService.StreamSession",
];

// RPCs added beyond DESIGN.md's names, each by the issue that needed it; DESIGN.md's names stay as they are.
const ADDITIONS: Record<string, string[]> = {
  // Issue #14 (speed): many messages in one call and one commit.
  "agentnet.v1.MessagingService": ["SendBatch"],
  // Issue #18 (web console): the figures of its header, without scraping Prometheus.
  "agentnet.v1.StatsService": ["GetNetworkStats"],
};

const services: DescService[] = [
  AuthService,
  RegistryService,
  MessagingService,
  SessionService,
  TokenService,
  VoiceAgentService,
  StatsService,
];
const methods: DescMethod[] = services.flatMap((s) => s.methods);

describe("agentnet.v1 contract (generated descriptors)", () => {
  it("declares the six services with exactly the RPC names of DESIGN.md, plus the listed additions (and their services)", () => {
    const actual = Object.fromEntries(services.map((s) => [s.typeName, s.methods.map((m) => m.name).sort()]));
    const names = new Set([...Object.keys(CONTRACT), ...Object.keys(ADDITIONS)]);
    const expected = Object.fromEntries([...names].map((k) => [k, [...(CONTRACT[k] ?? []), ...(ADDITIONS[k] ?? [])].sort()]));
    expect(actual).toEqual(expected);
  });

  it("streams only from server to client, in exactly the four streaming RPCs", () => {
    const streaming = methods.filter((m) => m.methodKind !== "unary");
    expect(streaming.every((m) => m.methodKind === "server_streaming")).toBe(true);
    expect(streaming.map((m) => `${m.parent.typeName}.${m.name}`).sort()).toEqual([...SERVER_STREAMS].sort());
  });

  it("pages every list RPC with page_size, page_token and next_page_token", () => {
    const lists = methods.filter((m) => /^(List|Search)/.test(m.name) || m.name === "GetThreadMessages");
    expect(lists.length).toBeGreaterThan(0);
    for (const m of lists) {
      expect(scalarField(m.input, "page_size"), `${m.name} page_size`).toBe(ScalarType.INT32);
      expect(scalarField(m.input, "page_token"), `${m.name} page_token`).toBe(ScalarType.STRING);
      expect(scalarField(m.output, "next_page_token"), `${m.name} next_page_token`).toBe(ScalarType.STRING);
    }
  });

  it("marks read-only unary RPCs NO_SIDE_EFFECTS so Connect clients may use GET", () => {
    const readOnly = methods.filter((m) => m.methodKind === "unary" && /^(Get|List|Search|Head|Resolve|Verify|Issue)/.test(m.name));
    const notMarked = readOnly.filter((m) => m.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS).map((m) => m.name);
    expect(notMarked).toEqual([]);
  });
});

describe("agentnet.v1 documentation (source info from buf build)", () => {
  // protoc-gen-es strips comments from the embedded descriptors, so read them from a fresh buf image.
  const image = execFileSync(join(root, "node_modules", ".bin", "buf"), ["build", "--as-file-descriptor-set", "-o", "-#format=binpb"], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = fromBinary(FileDescriptorSetSchema, new Uint8Array(image)).file.filter((f) => f.package === "agentnet.v1");

  it("builds the six service files of DESIGN.md", () => {
    const names = files.map((f) => f.name);
    for (const n of ["auth", "registry", "messaging", "session", "token", "voice"]) {
      expect(names).toContain(`agentnet/v1/${n}.proto`);
    }
  });

  it("gives every service, method, message, field, oneof, enum and enum value a leading comment", () => {
    const undocumented = files.flatMap(undocumentedElements);
    expect(undocumented).toEqual([]);
  });
});

function scalarField(message: DescMessage, name: string): ScalarType | undefined {
  const field = message.fields.find((f) => f.name === name);
  return field?.fieldKind === "scalar" ? field.scalar : undefined;
}

/** Names of the elements of one file whose leading comment is missing or blank. */
function undocumentedElements(file: FileDescriptorProto): string[] {
  const comments = new Map<string, string>();
  for (const loc of file.sourceCodeInfo?.location ?? []) {
    comments.set(loc.path.join("."), loc.leadingComments ?? "");
  }
  const missing: string[] = [];
  const check = (path: number[], name: string): void => {
    if ((comments.get(path.join(".")) ?? "").trim() === "") missing.push(`${file.name}: ${name}`);
  };

  const walkEnum = (e: EnumDescriptorProto, path: number[], scope: string): void => {
    check(path, `${scope}${e.name}`);
    e.value.forEach((v, i) => check([...path, 2, i], `${scope}${e.name}.${v.name}`));
  };
  const walkMessage = (m: DescriptorProto, path: number[], scope: string): void => {
    if (m.options?.mapEntry) return; // synthesized for map fields; documented on the field
    const name = `${scope}${m.name}`;
    check(path, name);
    m.field.forEach((f, i) => check([...path, 2, i], `${name}.${f.name}`));
    m.oneofDecl.forEach((o, i) => {
      // proto3 `optional` fields get a synthetic oneof that has no source of its own.
      const synthetic = m.field.some((f) => f.oneofIndex === i && f.proto3Optional);
      if (!synthetic) check([...path, 8, i], `${name}.${o.name}`);
    });
    m.nestedType.forEach((n, i) => walkMessage(n, [...path, 3, i], `${name}.`));
    m.enumType.forEach((e, i) => walkEnum(e, [...path, 4, i], `${name}.`));
  };

  file.messageType.forEach((m, i) => walkMessage(m, [4, i], ""));
  file.enumType.forEach((e, i) => walkEnum(e, [5, i], ""));
  file.service.forEach((s, i) => {
    check([6, i], s.name);
    s.method.forEach((m, j) => check([6, i, 2, j], `${s.name}.${m.name}`));
  });
  return missing;
}
