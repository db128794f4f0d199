import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { HealthStatusRegistry, ServingStatus, healthRoutes } from "../../src/server/health.js";
import { startH2cServer } from "./h2c-server.js";
import type { TestServer } from "./h2c-server.js";
import { grpc, grpcJsHealthClient, unary } from "./grpc-js-clients.js";
import type { GrpcJsHealthClient } from "./grpc-js-clients.js";

const SERVICE = "agentnet.v1.RegistryService";

describe("grpc.health.v1.Health over a real h2c server", () => {
  let registry: HealthStatusRegistry;
  let server: TestServer;
  let connect: Client<typeof Health>;
  let grpcJs: GrpcJsHealthClient;

  beforeAll(async () => {
    registry = new HealthStatusRegistry([SERVICE]);
    server = await startH2cServer(healthRoutes(registry));
    connect = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    grpcJs = grpcJsHealthClient(server.address);
  });

  afterAll(async () => {
    grpcJs.close();
    await server.close();
  });

  it("Check answers SERVING for the server and for a registered service (Connect client)", async () => {
    expect((await connect.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await connect.check({ service: SERVICE })).status).toBe(ServingStatus.SERVING);
  });

  it("Check answers NOT_FOUND with an ErrorInfo for an unknown service (Connect client)", async () => {
    const error = await connect.check({ service: "no.such.Service" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const connectError = error as ConnectError;
    expect(connectError.code).toBe(Code.NotFound);
    const [info] = connectError.findDetails(ErrorInfoSchema);
    expect(info?.reason).toBe("service_not_found");
    expect(info?.domain).toBe("agentnet.dev");
  });

  it("Check works from grpc-js, including NOT_FOUND", async () => {
    const ok = await unary<{ status: string }>((cb) => grpcJs.Check({ service: "" }, cb));
    expect(ok.status).toBe("SERVING");
    const error = await unary((cb) => grpcJs.Check({ service: "no.such.Service" }, cb)).catch((e: unknown) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  it("List returns every status including the overall one", async () => {
    const list = await connect.list({});
    expect(Object.keys(list.statuses).sort()).toEqual(["", SERVICE]);
    const fromGrpcJs = await unary<{ statuses: Record<string, { status: string }> }>((cb) => grpcJs.List({}, cb));
    expect(fromGrpcJs.statuses[SERVICE]?.status).toBe("SERVING");
  });

  it("Watch sends the current status, then changes (Connect client)", async () => {
    const abort = new AbortController();
    const stream = connect.watch({ service: SERVICE }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    registry.setStatus(SERVICE, ServingStatus.NOT_SERVING);
    expect((await stream.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    registry.setStatus(SERVICE, ServingStatus.SERVING);
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  it("Watch of an unknown service says SERVICE_UNKNOWN and stays open until it appears", async () => {
    const abort = new AbortController();
    const stream = connect.watch({ service: "late.Service" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    registry.setStatus("late.Service", ServingStatus.SERVING);
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  it("Watch receives a status change (grpc-js client)", async () => {
    const seen = await new Promise<string[]>((resolve, reject) => {
      const statuses: string[] = [];
      const call = grpcJs.Watch({ service: SERVICE });
      call.on("data", (response: { status: string }) => {
        statuses.push(response.status);
        if (statuses.length === 1) registry.setStatus(SERVICE, ServingStatus.NOT_SERVING);
        if (statuses.length === 2) {
          call.cancel();
          resolve(statuses);
        }
      });
      call.on("error", (error: grpc.ServiceError) => {
        if (error.code !== grpc.status.CANCELLED) reject(error);
      });
    });
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    registry.setStatus(SERVICE, ServingStatus.SERVING);
  });

  // Last: shutdown is one-way.
  it("shutdown turns everything NOT_SERVING and ends Watch streams", async () => {
    const received: ServingStatus[] = [];
    const watching = (async () => {
      for await (const response of connect.watch({ service: SERVICE })) {
        received.push(response.status);
        if (received.length === 1) registry.shutdown();
      }
    })();
    await watching; // resolves only because the server ended the stream with OK
    expect(received).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect((await connect.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    registry.setStatus(SERVICE, ServingStatus.SERVING);
    expect((await connect.check({ service: SERVICE })).status).toBe(ServingStatus.NOT_SERVING);
    // A Watch that starts after shutdown gets the status and ends at once.
    const late: ServingStatus[] = [];
    for await (const response of connect.watch({ service: "" })) late.push(response.status);
    expect(late).toEqual([ServingStatus.NOT_SERVING]);
  });
});

describe("HealthStatusRegistry", () => {
  it("a slow watcher gets only the newest status and no repeats", async () => {
    const registry = new HealthStatusRegistry(["a"]);
    const abort = new AbortController();
    const watch = registry.watch("a", abort.signal);
    expect((await watch.next()).value).toBe(ServingStatus.SERVING);
    registry.setStatus("a", ServingStatus.NOT_SERVING);
    registry.setStatus("a", ServingStatus.SERVING);
    registry.setStatus("a", ServingStatus.NOT_SERVING);
    expect((await watch.next()).value).toBe(ServingStatus.NOT_SERVING);
    const pending = watch.next();
    abort.abort();
    expect((await pending).done).toBe(true);
  });
});
