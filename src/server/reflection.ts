// gRPC server reflection (https://github.com/grpc/grpc/blob/master/doc/server-reflection.md), v1 and
// v1alpha, for Connect: no maintained npm package serves it outside grpc-js. It lets grpcurl, buf curl,
// Postman and friends list and describe our services with no .proto files at hand.
//
// Descriptors come from @bufbuild/protobuf file descriptors. The ones protoc-gen-es embeds in *_pb.ts
// have no comments (it strips source_code_info), so pass descriptorSetRegistry() from
// gen/descriptor_set.ts first: its files keep comments and win over generated ones by file name.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type {
  DescEnum,
  DescExtension,
  DescFile,
  DescMessage,
  DescService,
  FileRegistry,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection as ServerReflectionV1,
  ServerReflectionRequestSchema as RequestV1Schema,
  ServerReflectionResponseSchema as ResponseV1Schema,
  file_grpc_reflection_v1_reflection,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionRequest, ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as RequestV1alphaSchema,
  ServerReflectionResponseSchema as ResponseV1alphaSchema,
  file_grpc_reflection_v1alpha_reflection,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** Where descriptors come from: a registry (e.g. descriptorSetRegistry()) or individual files. */
export type ReflectionFiles = FileRegistry | Iterable<DescFile>;

/** Answers reflection queries; built once at startup, shared by all streams and both versions. */
export class ReflectionIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  /** extendee type name → extension number → file that declares the extension */
  private readonly extensions = new Map<string, Map<number, DescFile>>();
  private readonly messageTypes = new Set<string>();
  private readonly encoded = new Map<string, Uint8Array>();
  readonly serviceNames: readonly string[];

  /**
   * `services` are what list_services reports (the reflection services are added); a DescService
   * also brings its file and imports. Every listed service must resolve to a file, or this throws:
   * a service that `list` shows but `describe` cannot find is a startup bug, not a runtime one.
   */
  constructor(files: ReflectionFiles, services: Iterable<string | DescService>) {
    // Earlier sources win by file name: the caller's files (with comments) over generated ones.
    for (const file of "getFile" in files ? files.files : files) this.addFile(file);
    const names: string[] = [];
    for (const service of services) {
      if (typeof service !== "string") this.addFile(service.file);
      names.push(typeof service === "string" ? service : service.typeName);
    }
    for (const own of [ServerReflectionV1, ServerReflectionV1alpha]) {
      this.addFile(own.file);
      names.push(own.typeName);
    }
    this.serviceNames = [...new Set(names)];
    const unresolved = this.serviceNames.filter((name) => !this.symbols.has(name));
    if (unresolved.length > 0) throw new Error(`reflection: no descriptor for service(s) ${unresolved.join(", ")}`);
  }

  /** The file with that name first, then its transitive imports, each a serialized FileDescriptorProto. */
  fileByFilename(filename: string): Uint8Array[] | undefined {
    const file = this.files.get(filename);
    return file && this.withDependencies(file);
  }

  fileContainingSymbol(symbol: string): Uint8Array[] | undefined {
    const file = this.symbols.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
    return file && this.withDependencies(file);
  }

  fileContainingExtension(typeName: string, number: number): Uint8Array[] | undefined {
    const file = this.extensions.get(typeName)?.get(number);
    return file && this.withDependencies(file);
  }

  /** Undefined when the message type is unknown; empty when nothing extends it. */
  extensionNumbers(typeName: string): number[] | undefined {
    if (!this.messageTypes.has(typeName)) return undefined;
    return [...(this.extensions.get(typeName)?.keys() ?? [])];
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    const pkg = file.proto.package;
    for (const service of file.services) {
      this.addSymbol(service.typeName, file);
      for (const method of service.methods) this.addSymbol(`${service.typeName}.${method.name}`, file);
    }
    for (const message of file.messages) this.addMessage(message, file);
    for (const e of file.enums) this.addEnum(e, pkg, file);
    for (const ext of file.extensions) this.addExtension(ext, file);
    for (const dep of file.dependencies) this.addFile(dep);
  }

  private addMessage(message: DescMessage, file: DescFile): void {
    this.addSymbol(message.typeName, file);
    this.messageTypes.add(message.typeName);
    for (const field of message.fields) this.addSymbol(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs) this.addSymbol(`${message.typeName}.${oneof.name}`, file);
    for (const nested of message.nestedMessages) this.addMessage(nested, file);
    for (const e of message.nestedEnums) this.addEnum(e, message.typeName, file);
    for (const ext of message.nestedExtensions) this.addExtension(ext, file);
  }

  private addEnum(e: DescEnum, scope: string, file: DescFile): void {
    this.addSymbol(e.typeName, file);
    for (const value of e.values) {
      // Enum values are siblings of their enum in protobuf scoping (pkg.VALUE); accept pkg.Enum.VALUE too.
      this.addSymbol(scope === "" ? value.name : `${scope}.${value.name}`, file);
      this.addSymbol(`${e.typeName}.${value.name}`, file);
    }
  }

  private addExtension(ext: DescExtension, file: DescFile): void {
    this.addSymbol(ext.typeName, file);
    let byNumber = this.extensions.get(ext.extendee.typeName);
    if (byNumber === undefined) {
      byNumber = new Map();
      this.extensions.set(ext.extendee.typeName, byNumber);
    }
    if (!byNumber.has(ext.number)) byNumber.set(ext.number, file);
  }

  private addSymbol(name: string, file: DescFile): void {
    if (!this.symbols.has(name)) this.symbols.set(name, file);
  }

  // Always the whole closure: the protocol allows skipping files sent earlier on the stream, but
  // clients that do not cache across requests then fail to resolve imports.
  private withDependencies(root: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const queue: DescFile[] = [root];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const name = file.proto.name;
      if (seen.has(name)) continue;
      seen.add(name);
      const chosen = this.files.get(name) ?? file;
      out.push(this.encode(chosen));
      queue.push(...chosen.dependencies);
    }
    return out;
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }
}

type ResponseInit = MessageInitShape<typeof ResponseV1Schema>["messageResponse"];

/** One request → one response, in the v1 shape (v1alpha is wire-identical and converted). */
export function answerReflection(index: ReflectionIndex, request: ServerReflectionRequest): ServerReflectionResponse {
  return create(ResponseV1Schema, {
    validHost: request.host,
    originalRequest: request,
    messageResponse: respond(index, request.messageRequest),
  });
}

function respond(index: ReflectionIndex, req: ServerReflectionRequest["messageRequest"]): ResponseInit {
  const files = (found: Uint8Array[] | undefined, what: string): ResponseInit =>
    found ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: found } } : errorResponse(Code.NotFound, `${what} not found`);
  switch (req.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
    case "fileByFilename":
      return files(index.fileByFilename(req.value), `file "${req.value}"`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(req.value), `symbol "${req.value}"`);
    case "fileContainingExtension":
      return files(
        index.fileContainingExtension(req.value.containingType, req.value.extensionNumber),
        `extension ${req.value.extensionNumber} of "${req.value.containingType}"`,
      );
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(req.value);
      return numbers
        ? { case: "allExtensionNumbersResponse", value: { baseTypeName: req.value, extensionNumber: numbers } }
        : errorResponse(Code.NotFound, `type "${req.value}" not found`);
    }
    case undefined:
      return errorResponse(Code.InvalidArgument, "no message_request set");
  }
}

// Connect's Code numbers are the gRPC status codes the protocol asks for.
function errorResponse(code: Code, message: string): ResponseInit {
  return { case: "errorResponse", value: { errorCode: code, errorMessage: message } };
}

export function createReflectionServiceImplV1(index: ReflectionIndex): ServiceImpl<typeof ServerReflectionV1> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield answerReflection(index, request);
    },
  };
}

export function createReflectionServiceImplV1alpha(index: ReflectionIndex): ServiceImpl<typeof ServerReflectionV1alpha> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const answer = answerReflection(index, convert(RequestV1alphaSchema, RequestV1Schema, request));
        yield convert(ResponseV1Schema, ResponseV1alphaSchema, answer);
      }
    },
  };
}

// The two versions differ only in package name; their messages are identical on the wire.
function convert<From extends DescMessage, To extends DescMessage>(from: From, to: To, message: MessageShape<From>): MessageShape<To> {
  return fromBinary(to, toBinary(from, message));
}

/**
 * For `connectNodeAdapter({ routes })`: registers grpc.reflection.v1 and v1alpha ServerReflection.
 * Example: `reflectionRoutes(descriptorSetRegistry(), [Health, RegistryService, …])`.
 */
export function reflectionRoutes(files: ReflectionFiles, services: Iterable<string | DescService>): (router: ConnectRouter) => void {
  const index = new ReflectionIndex(files, services);
  return (router) => {
    router.service(ServerReflectionV1, createReflectionServiceImplV1(index));
    router.service(ServerReflectionV1alpha, createReflectionServiceImplV1alpha(index));
  };
}

/** The reflection protos themselves, for callers that build a registry by hand. */
export const reflectionFiles: readonly DescFile[] = [file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection];
