import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Transport } from "@connectrpc/connect";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { descriptorSetRegistry } from "../../gen/descriptor_set.js";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";
import { Health, file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { HealthStatusRegistry, healthRoutes } from "../../src/server/health.js";
import { ReflectionIndex, answerReflection, reflectionRoutes } from "../../src/server/reflection.js";
import { startH2cServer } from "./h2c-server.js";
import type { TestServer } from "./h2c-server.js";
import { grpcJsReflectionClient, reflectOverGrpcJs } from "./grpc-js-clients.js";
import type { GrpcJsReflectionRequest, GrpcJsReflectionResponse } from "./grpc-js-clients.js";

const LISTED = [
  "grpc.health.v1.Health",
  "agentnet.v1.AuthService",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

type RequestInit = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

/** What a test needs from a response, whichever client and version produced it. */
interface Answer {
  validHost: string;
  files?: FileDescriptorProto[];
  services?: string[];
  extensionNumbers?: number[];
  errorCode?: number;
}

function decodeFiles(bytes: Uint8Array[]): FileDescriptorProto[] {
  return bytes.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

function fromConnect(response: v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse): Answer {
  const r = response.messageResponse;
  switch (r.case) {
    case "fileDescriptorResponse":
      return { validHost: response.validHost, files: decodeFiles(r.value.fileDescriptorProto) };
    case "listServicesResponse":
      return { validHost: response.validHost, services: r.value.service.map((s) => s.name) };
    case "allExtensionNumbersResponse":
      return { validHost: response.validHost, extensionNumbers: r.value.extensionNumber };
    case "errorResponse":
      return { validHost: response.validHost, errorCode: r.value.errorCode };
    default:
      throw new Error("empty response");
  }
}

function fromGrpcJs(response: GrpcJsReflectionResponse): Answer {
  const answer: Answer = { validHost: response.validHost };
  if (response.fileDescriptorResponse) answer.files = decodeFiles(response.fileDescriptorResponse.fileDescriptorProto);
  if (response.listServicesResponse) answer.services = response.listServicesResponse.service.map((s) => s.name);
  if (response.allExtensionNumbersResponse) answer.extensionNumbers = response.allExtensionNumbersResponse.extensionNumber;
  if (response.errorResponse) answer.errorCode = response.errorResponse.errorCode;
  return answer;
}

async function* each<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

type Reflect = (requests: RequestInit[]) => Promise<Answer[]>;

function connectReflect(transport: Transport, version: "v1" | "v1alpha"): Reflect {
  return async (requests) => {
    if (version === "v1") {
      const client = createClient(v1.ServerReflection, transport);
      return (await collect(client.serverReflectionInfo(each(requests)))).map(fromConnect);
    }
    // Same wire format, other package: re-read each v1 request as v1alpha.
    const alpha = requests.map((r) =>
      fromBinary(
        v1alpha.ServerReflectionRequestSchema,
        toBinary(v1.ServerReflectionRequestSchema, create(v1.ServerReflectionRequestSchema, r)),
      ),
    );
    const client = createClient(v1alpha.ServerReflection, transport);
    return (await collect(client.serverReflectionInfo(each(alpha)))).map(fromConnect);
  };
}

function grpcJsRequest(init: RequestInit): GrpcJsReflectionRequest {
  const r = init.messageRequest;
  const request: GrpcJsReflectionRequest = { host: init.host ?? "" };
  switch (r?.case) {
    case "listServices":
      request.listServices = r.value;
      break;
    case "fileByFilename":
      request.fileByFilename = r.value;
      break;
    case "fileContainingSymbol":
      request.fileContainingSymbol = r.value;
      break;
    case "allExtensionNumbersOfType":
      request.allExtensionNumbersOfType = r.value;
      break;
    case "fileContainingExtension":
      request.fileContainingExtension = {
        containingType: r.value.containingType ?? "",
        extensionNumber: r.value.extensionNumber ?? 0,
      };
      break;
  }
  return request;
}

function grpcJsReflect(address: string, version: "v1" | "v1alpha"): Reflect {
  return async (requests) => {
    const client = grpcJsReflectionClient(address, version);
    try {
      return (await reflectOverGrpcJs(client, requests.map(grpcJsRequest))).map(fromGrpcJs);
    } finally {
      client.close();
    }
  };
}

const list: RequestInit = { host: "example", messageRequest: { case: "listServices", value: "*" } };
const symbol = (value: string): RequestInit => ({ messageRequest: { case: "fileContainingSymbol", value } });
const filename = (value: string): RequestInit => ({ messageRequest: { case: "fileByFilename", value } });

function leadingComment(file: FileDescriptorProto, path: number[]): string | undefined {
  const key = path.join(".");
  return file.sourceCodeInfo?.location.find((l) => l.path.join(".") === key)?.leadingComments;
}

describe("gRPC server reflection over a real h2c server", () => {
  let server: TestServer;
  let transport: Transport;

  beforeAll(async () => {
    const health = healthRoutes(new HealthStatusRegistry());
    const reflection = reflectionRoutes(descriptorSetRegistry(), [Health, AuthService]);
    server = await startH2cServer((router) => {
      health(router);
      // Reflection needs only the descriptor; calls would answer UNIMPLEMENTED.
      router.service(AuthService, {});
      reflection(router);
    });
    transport = createGrpcTransport({ baseUrl: server.baseUrl });
  });

  afterAll(async () => {
    await server.close();
  });

  const clients: [string, () => Reflect][] = [
    ["Connect v1", () => connectReflect(transport, "v1")],
    ["Connect v1alpha", () => connectReflect(transport, "v1alpha")],
    ["grpc-js v1", () => grpcJsReflect(server.address, "v1")],
    ["grpc-js v1alpha", () => grpcJsReflect(server.address, "v1alpha")],
  ];

  describe.each(clients)("%s", (_name, makeReflect) => {
    it("lists the served services and echoes the host", async () => {
      const [answer] = await makeReflect()([list]);
      expect(answer?.services).toEqual(LISTED);
      expect(answer?.validHost).toBe("example");
    });

    it("finds the file of a method, requested file first, with doc comments", async () => {
      const [answer] = await makeReflect()([symbol("grpc.health.v1.Health.Check")]);
      const file = answer?.files?.[0];
      expect(file?.name).toBe("grpc/health/v1/health.proto");
      expect(file?.service[0]?.method.map((m) => m.name)).toEqual(["Check", "List", "Watch"]);
      // service 6, index 0, method 2, index 0: the comment on Health.Check
      expect(leadingComment(file!, [6, 0, 2, 0])).toContain("Check gets the health of the specified service");
    });

    it("describes one of our own services with its imports", async () => {
      const [answer] = await makeReflect()([symbol("agentnet.v1.AuthService.Login")]);
      expect(answer?.files?.[0]?.name).toBe("agentnet/v1/auth.proto");
      expect(answer?.files?.[0]?.sourceCodeInfo?.location.length).toBeGreaterThan(0);
      const rebuilt = createFileRegistry(create(FileDescriptorSetSchema, { file: [...(answer?.files ?? [])].reverse() }));
      expect(rebuilt.getService("agentnet.v1.AuthService")?.method.login).toBeDefined();
    });

    it("answers file_by_filename with the file then its transitive imports", async () => {
      const [answer] = await makeReflect()([filename("google/rpc/error_details.proto")]);
      expect(answer?.files?.map((f) => f.name)).toEqual(["google/rpc/error_details.proto", "google/protobuf/duration.proto"]);
      // The served set is complete: a client can build a registry from it.
      const rebuilt = createFileRegistry(create(FileDescriptorSetSchema, { file: [...(answer?.files ?? [])].reverse() }));
      expect(rebuilt.getMessage("google.rpc.RetryInfo")?.field.retryDelay?.message?.typeName).toBe("google.protobuf.Duration");
    });

    it("resolves nested symbols: messages, enums, enum values, fields", async () => {
      const answers = await makeReflect()([
        symbol("grpc.health.v1.HealthCheckResponse.ServingStatus"),
        symbol("grpc.health.v1.HealthCheckResponse.SERVING"),
        symbol("grpc.health.v1.HealthCheckResponse.status"),
        symbol("google.rpc.BadRequest.FieldViolation"),
        symbol(".grpc.health.v1.HealthCheckRequest"),
      ]);
      expect(answers.map((a) => a.files?.[0]?.name)).toEqual([
        "grpc/health/v1/health.proto",
        "grpc/health/v1/health.proto",
        "grpc/health/v1/health.proto",
        "google/rpc/error_details.proto",
        "grpc/health/v1/health.proto",
      ]);
    });

    it("answers unknown symbols, files and extensions with error_response NOT_FOUND, and keeps the stream open", async () => {
      const answers = await makeReflect()([
        symbol("no.such.Symbol"),
        filename("no/such.proto"),
        { messageRequest: { case: "fileContainingExtension", value: { containingType: "google.rpc.ErrorInfo", extensionNumber: 100 } } },
        { messageRequest: { case: "allExtensionNumbersOfType", value: "no.such.Message" } },
        { messageRequest: { case: "allExtensionNumbersOfType", value: "google.rpc.ErrorInfo" } },
        list,
      ]);
      expect(answers.slice(0, 4).map((a) => a.errorCode)).toEqual([Code.NotFound, Code.NotFound, Code.NotFound, Code.NotFound]);
      expect(answers[4]?.extensionNumbers).toEqual([]);
      expect(answers[5]?.services).toEqual(LISTED);
    });
  });
});

describe("ReflectionIndex", () => {
  it("works from generated descriptors alone, without comments (protoc-gen-es strips them)", () => {
    const index = new ReflectionIndex([file_google_rpc_error_details], [Health]);
    const response = answerReflection(index, fromBinary(v1.ServerReflectionRequestSchema, new Uint8Array()));
    expect(response.messageResponse.case).toBe("errorResponse");
    const files = index.fileContainingSymbol("grpc.health.v1.Health.Watch");
    const health = fromBinary(FileDescriptorProtoSchema, files![0]!);
    expect(health.name).toBe(file_grpc_health_v1_health.proto.name);
    expect(health.sourceCodeInfo).toBeUndefined();
    expect(index.fileByFilename("google/rpc/error_details.proto")).toHaveLength(2);
  });

  it("refuses a listed service it has no descriptor for", () => {
    expect(() => new ReflectionIndex([], ["agentnet.v1.Missing"])).toThrow(/agentnet.v1.Missing/);
  });
});
