// Plain @grpc/grpc-js clients built from the vendored .proto files, as a non-Connect gRPC client sees us.
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto");

// The options under which grpc-js objects match protobuf-es JSON (see TOOLCHAIN.md).
const loaderOptions: protoLoader.Options = {
  includeDirs: [protoDir],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function load(file: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, loaderOptions));
}

function constructorAt(root: grpc.GrpcObject, dotted: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of dotted.split(".")) node = (node as Record<string, unknown>)[part];
  if (typeof node !== "function") throw new Error(`no service ${dotted}`);
  return node as grpc.ServiceClientConstructor;
}

export type UnaryCallback<T> = (error: grpc.ServiceError | null, response?: T) => void;

export interface GrpcJsHealthClient extends grpc.Client {
  Check(request: { service: string }, callback: UnaryCallback<{ status: string }>): grpc.ClientUnaryCall;
  List(request: object, callback: UnaryCallback<{ statuses: Record<string, { status: string }> }>): grpc.ClientUnaryCall;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

export interface GrpcJsReflectionRequest {
  host?: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  listServices?: string;
  allExtensionNumbersOfType?: string;
  fileContainingExtension?: { containingType: string; extensionNumber: number };
}

export interface GrpcJsReflectionResponse {
  validHost: string;
  messageResponse: string;
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  listServicesResponse?: { service: { name: string }[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

export interface GrpcJsReflectionClient extends grpc.Client {
  ServerReflectionInfo(): grpc.ClientDuplexStream<GrpcJsReflectionRequest, GrpcJsReflectionResponse>;
}

export function grpcJsHealthClient(address: string): GrpcJsHealthClient {
  const Ctor = constructorAt(load("grpc/health/v1/health.proto"), "grpc.health.v1.Health");
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as GrpcJsHealthClient;
}

export function grpcJsReflectionClient(address: string, version: "v1" | "v1alpha"): GrpcJsReflectionClient {
  const root = load(`grpc/reflection/${version}/reflection.proto`);
  const Ctor = constructorAt(root, `grpc.reflection.${version}.ServerReflection`);
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as GrpcJsReflectionClient;
}

/** Writes every request on one bidi stream, half-closes, and collects the answers in order. */
export function reflectOverGrpcJs(
  client: GrpcJsReflectionClient,
  requests: GrpcJsReflectionRequest[],
): Promise<GrpcJsReflectionResponse[]> {
  return new Promise((resolve, reject) => {
    const responses: GrpcJsReflectionResponse[] = [];
    const call = client.ServerReflectionInfo();
    call.on("data", (response: GrpcJsReflectionResponse) => responses.push(response));
    call.on("error", reject);
    call.on("end", () => resolve(responses));
    for (const request of requests) call.write(request);
    call.end();
  });
}

export function unary<T>(start: (callback: UnaryCallback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, response) => (error ? reject(error) : resolve(response as T)));
  });
}

export { grpc };
