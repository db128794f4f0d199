// The SDK's browser entry (Connect-Web over fetch) in headless Chromium: a page registers an agent and receives a
// streamed answer sent by a Node agent through the gateway. The page imports `@agentnet/client` by name: an import
// map resolves it, @agentnet/gen and the other dependencies through their package.json exports (the "browser"
// condition first, as a bundler for browsers does) to their files under node_modules, so the built packages
// (`npm run build`: clients/ts/dist, gen/dist) are loaded as they are published; no bundler.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { type AgentnetClient, connect } from "../../clients/ts/src/index.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (p) => existsSync(p) && spawnSync(p, ["--version"]).status === 0,
);
const built = existsSync(path.join(root, "node_modules/@agentnet/client/dist/browser.js"));

type Exports = string | null | { [condition: string]: Exports };
const CONDITIONS = new Set(["browser", "import", "default"]);

/** The file an exports target names under the conditions of a browser ESM import, in the order they are listed. */
function resolveTarget(target: Exports): string | undefined {
  if (typeof target === "string" || target === null) return target ?? undefined;
  for (const [condition, inner] of Object.entries(target)) {
    const file = CONDITIONS.has(condition) ? resolveTarget(inner) : undefined;
    if (file) return file;
  }
  return undefined;
}

/** Bare specifiers the SDK and its dependencies import, mapped to their ESM files under node_modules. */
function importMap(): Record<string, string> {
  const imports: Record<string, string> = {};
  for (const pkg of [
    "@agentnet/client",
    "@agentnet/gen",
    "@bufbuild/protobuf",
    "@connectrpc/connect",
    "@connectrpc/connect-web",
    "@opentelemetry/api",
  ]) {
    const exports = JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")).exports as Record<
      string,
      Exports
    >;
    for (const [sub, target] of Object.entries(exports)) {
      const file = resolveTarget(target);
      if (!file) continue;
      const [from, to] = [path.posix.join(pkg, sub), `/node_modules/${pkg}/${file.replace(/^\.\//, "")}`];
      // A pattern ("./*.js" → "./dist/*.js") becomes a prefix mapping ("@agentnet/gen/" → "…/dist/").
      if (from.includes("*")) {
        const [fromStart, fromEnd] = from.split("*") as [string, string];
        const [toStart, toEnd] = to.split("*") as [string, string];
        if (fromEnd === toEnd && fromStart.endsWith("/") && toStart.endsWith("/")) imports[fromStart] = toStart;
      } else {
        imports[from] = to;
      }
    }
  }
  return imports;
}

const PAGE = (map: Record<string, string>) => `<!doctype html>
<script type="importmap">${JSON.stringify({ imports: map })}</script>
<script type="module">
  import { connect, StreamCollector } from "@agentnet/client";
  const params = new URLSearchParams(location.search);
  window.streams = [];
  try {
    const client = connect({ url: params.get("url"), token: params.get("token") });
    const agent = await client.register({ username: "browser_agent", displayName: "A browser tab" });
    const collector = new StreamCollector();
    agent.onMessage((m) => {
      const state = collector.add(m);
      if (state?.done) window.streams.push({ text: state.text, from: m.from.username, parent: m.parentMessageId });
    });
    await agent.ready();
    window.ready = agent.accountId;
  } catch (err) {
    window.failed = String(err);
  }
</script>`;

describe.skipIf(!chromiumPath || !built)("browser client (Connect-Web in headless Chromium)", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let pages: Server;
  let browser: Browser;
  let node: AgentnetClient;
  let token: string;

  beforeAll(async () => {
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend);
    const { accessToken } = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    token = accessToken;
    node = connect({ url: gw.url, token });
    const page = PAGE(importMap());
    // A second origin, as a real web app would be: the gateway answers its CORS preflights.
    pages = createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/") return void res.writeHead(200, { "content-type": "text/html" }).end(page);
      const file = path.join(root, path.normalize(url.pathname));
      if (!(file.startsWith(path.join(root, "dist")) || file.startsWith(path.join(root, "node_modules"))) || !existsSync(file)) {
        return void res.writeHead(404).end();
      }
      res.writeHead(200, { "content-type": "text/javascript" }).end(await readFile(file));
    });
    await new Promise<void>((r) => pages.listen(0, "127.0.0.1", r));
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => pages?.close(r));
    await node?.close();
    await gw?.close();
    await backend?.dispose();
  });

  it("registers from a page and receives a streamed answer", async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    const port = (pages.address() as AddressInfo).port;
    await tab.goto(`http://127.0.0.1:${port}/?url=${encodeURIComponent(gw.url)}&token=${encodeURIComponent(token)}`);
    await tab.waitForFunction("window.ready || window.failed", undefined, { timeout: 20_000 });
    expect(await tab.evaluate("window.failed"), errors.join("\n")).toBeUndefined();

    const sender = await node.register({ username: "node_streamer" });
    const question = await sender.sendText("@browser_agent", "are you there?");
    const stream = sender.stream("@browser_agent", { parentMessageId: question.messageId, threadId: question.threadId });
    await stream.start({ model: "node" });
    for (const piece of ["Hello ", "from ", "Node"]) await stream.delta(piece);
    await stream.end();

    await tab.waitForFunction("window.streams.length > 0", undefined, { timeout: 10_000 });
    expect(await tab.evaluate("window.streams")).toEqual([{ text: "Hello from Node", from: "node_streamer", parent: question.messageId }]);
    const profile = await node.getProfile("browser_agent");
    expect(profile).toMatchObject({ online: true, displayName: "A browser tab" });
  });
});
