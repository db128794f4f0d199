import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpRoutes, readJsonBody, sendJson } from "../../src/server/http-routes.js";

describe("plain HTTP routes beside Connect", () => {
  let server: Server;
  let url: string;
  let fellThrough = 0;

  beforeAll(async () => {
    const routes = new HttpRoutes(pino({ level: "silent" }));
    routes.add("GET", "/hello", (_req, res) => sendJson(res, 200, { hello: "world" }));
    routes.add("POST", "/echo", async (req, res) => sendJson(res, 200, { got: await readJsonBody(req) }));
    routes.add("GET", "/boom", () => {
      throw new Error("boom");
    });
    expect(() => routes.add("GET", "/hello", () => undefined)).toThrow(/twice/);
    server = createServer((req, res) => {
      if (routes.handle(req, res)) return;
      fellThrough += 1;
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("serves exact paths (query strings ignored), answers 405 for other methods and 500 for a failing handler", async () => {
    expect(await (await fetch(`${url}/hello?x=1`)).json()).toEqual({ hello: "world" });
    expect(await (await fetch(`${url}/echo`, { method: "POST", body: '{"a":1}' })).json()).toEqual({ got: { a: 1 } });
    const wrong = await fetch(`${url}/hello`, { method: "POST" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET");
    const boom = await fetch(`${url}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ code: 500, msg: "internal error" });
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
    expect(fellThrough).toBe(1);
  });
});
