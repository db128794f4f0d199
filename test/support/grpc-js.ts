import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto");

/** A plain @grpc/grpc-js client of one agentnet service, built from the .proto files like any outside client. */
export function grpcJsClient(address: string, file: string, service: string): grpc.Client {
  const definition = protoLoader.loadSync(file, {
    includeDirs: [protoDir],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of service.split(".")) node = (node as Record<string, unknown>)[part];
  const Ctor = node as grpc.ServiceClientConstructor;
  return new Ctor(address, grpc.credentials.createInsecure());
}

/** Calls a unary method and resolves with the response or rejects with the grpc-js ServiceError. */
export function unary<T>(client: grpc.Client, method: string, request: object, metadata: Record<string, string> = {}): Promise<T> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, request, md, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** Calls a path the server may not know, with an empty request body. */
export function rawUnary(client: grpc.Client, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      (err, res) => (err ? reject(err) : resolve(res ?? Buffer.alloc(0))),
    );
  });
}
