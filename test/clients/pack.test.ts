// The TypeScript SDK as an outsider gets it: `npm pack` makes tarballs of @agentnet/gen and @agentnet/client (their
// prepack scripts build dist/), `npm install` puts both into a new, empty project (with the SDK's peers,
// @bufbuild/protobuf and @connectrpc/*, from npm's cache or the registry), `tsc` typechecks a script there
// that imports the SDK by name against the packed declarations (an enum of @agentnet/gen passed to the client's
// functions included), and Node runs it against a live gateway: log in, whoami, two agents, a request answered
// by a reply. The browser entry likewise: a script importing `@agentnet/client/browser`, typechecked for a page
// (DOM, no Node types), talks Connect-Web over fetch to the gateway. Every import in the installed packages stays
// inside the package or names one of its declared dependencies. Nothing from this repository is on that project's
// path.
import { type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { type AgentnetClient, connect } from "../../clients/ts/src/index.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const haveNpm = spawnSync("npm", ["--version"], { stdio: "ignore" }).status === 0;
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
// The installer's own dependencies, at the versions this repository is built and tested with (so npm's cache from
// `npm ci` can serve them): the SDK's required peers, and @types/node for its declarations.
const manifest = JSON.parse(await readFile(path.join(root, "package.json"), "utf8"));
const pinned = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node", "@connectrpc/connect-web", "@types/node"].map(
  (name) => `${name}@${manifest.dependencies[name] ?? manifest.devDependencies[name]}`,
);
// npm install goes to the registry for what npm's cache lacks: generous, since nothing here is measured.
const TIMEOUT_MS = 600_000;

// The environment of the npm that may have started this run (`npm test`) describes this repository
// (npm_config_local_prefix, npm_package_*): the child npm would act on it. Keep only what says how to reach a registry.
const KEEP =
  /^npm_config_(registry|@.+:registry|cache|userconfig|globalconfig|https?_proxy|proxy|noproxy|cafile|strict_ssl|offline|prefer_offline)$/i;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || KEEP.test(k)));

/** Runs a command to its end without blocking this process (the gateway under test runs in it). */
function run(command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, ...options, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")} exited ${code ?? signal}\n${out}\n${err}`)),
    );
  });
}

// What an installer writes: a script using the SDK by name, typechecked strictly and run by Node as it is
// (type stripping).
const CONSUMER = `import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type AgentnetClient, type TextAnswer, connect, statusName } from "@agentnet/client";
import { AuthService } from "@agentnet/client/gen";
import { DeliveryStatus } from "@agentnet/gen/agentnet/v1/messaging_pb.js";

const [url, password] = process.argv.slice(2) as [string, string];
const auth = createClient(AuthService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
const { accessToken } = await auth.login({ username: "admin", password });
const client: AgentnetClient = connect({ url, token: accessToken });
try {
  const me = await client.whoami();
  const responder = await client.register({ username: "packed_responder", capabilities: ["packing"] });
  responder.onMessage(async (m) => {
    if (m.isRequest) await m.replyText(\`unpacked \${m.text}\`);
  });
  await responder.ready();
  const asker = await client.register({ username: "packed_asker" });
  const answer: TextAnswer = await asker.askText("@packed_responder", "tarball");
  const owned = (await client.ownedAccounts()).map((a) => a.username).sort();
  console.log(JSON.stringify({ user: me.user, answer: answer.text, from: answer.reply.from.username, owned,
    delivered: statusName(DeliveryStatus.DELIVERED) }));
} finally {
  await client.close();
}
`;

// The browser entry as a page would use it: only DOM and ES types, fetch underneath (Node has it too, so Node runs it).
const BROWSER_CONSUMER = (url: string, password: string) => `import { type AgentnetClient, connect } from "@agentnet/client/browser";
import { AuthService } from "@agentnet/client/gen";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

const url = ${JSON.stringify(url)};
const auth = createClient(AuthService, createConnectTransport({ baseUrl: url }));
const { accessToken } = await auth.login({ username: "admin", password: ${JSON.stringify(password)} });
const client: AgentnetClient = connect({ url, token: accessToken });
const agent = await client.register({ username: "packed_browser" });
const answer = await agent.askText("@packed_responder_2", "from a page");
console.log(JSON.stringify({ answer: answer.text, online: (await agent.getProfile("@packed_browser")).online }));
await client.close();
`;

/** An agent (from this repository's SDK) that the page asks. */
async function startResponder(url: string): Promise<AgentnetClient> {
  const { accessToken } = await client(AuthService, url).login({ username: "admin", password: ADMIN_PASSWORD });
  const sdk = connect({ url, token: accessToken });
  const agent = await sdk.register({ username: "packed_responder_2" });
  agent.onMessage(async (m) => {
    if (m.isRequest) await m.replyText(`page said ${m.text ?? ""}`);
  });
  await agent.ready();
  return sdk;
}

/** Bare module specifiers of the ES modules under `dir` (imports and re-exports, static and dynamic). */
async function bareImports(dir: string): Promise<Set<string>> {
  const { readdir } = await import("node:fs/promises");
  const out = new Set<string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const text = await readFile(path.join(entry.parentPath, entry.name), "utf8");
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) continue;
      out.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
    }
  }
  return out;
}

describe.skipIf(!haveNpm)("the TypeScript SDK packed and installed into an empty project", () => {
  let work: string;
  let backend: TestBackend;
  let gw: TestGateway;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "agentnet-pack-"));
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend);
  });

  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(
    "installs from the tarballs, typechecks against their declarations and talks to a gateway",
    async () => {
      const packed = JSON.parse(
        await run("npm", ["pack", "--json", "--pack-destination", work, "--workspace", "gen", "--workspace", "clients/ts"], { cwd: root }),
      ) as { name: string; filename: string; files: { path: string }[] }[];
      expect(packed.map((p) => p.name).sort()).toEqual(["@agentnet/client", "@agentnet/gen"]);
      const files = Object.fromEntries(packed.map((p) => [p.name, p.files.map((f) => f.path)]));
      expect(files["@agentnet/client"]).toEqual(
        expect.arrayContaining(["dist/index.js", "dist/index.d.ts", "dist/browser.js", "package.json"]),
      );
      expect(files["@agentnet/gen"]).toEqual(
        expect.arrayContaining(["dist/agentnet/v1/messaging_pb.js", "dist/agentnet/v1/messaging_pb.d.ts"]),
      );
      expect(
        Object.values(files)
          .flat()
          .filter((f) => f.endsWith(".tsbuildinfo")),
      ).toEqual([]);

      const project = path.join(work, "consumer");
      await mkdir(project);
      await writeFile(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
      await run(
        "npm",
        [
          "install",
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          ...packed.map((p) => path.join(work, p.filename)),
          ...pinned,
        ],
        { cwd: project },
      );
      await writeFile(path.join(project, "main.ts"), CONSUMER);
      await writeFile(
        path.join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2023",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            noEmit: true,
            erasableSyntaxOnly: true,
            verbatimModuleSyntax: true,
            types: ["node"],
          },
          files: ["main.ts"],
        }),
      );
      await run(process.execPath, [tsc, "-p", project], { cwd: project });

      // Imports stay inside each installed package or name what it declares.
      for (const name of ["@agentnet/client", "@agentnet/gen"]) {
        const dir = path.join(project, "node_modules", name);
        const pkg = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8"));
        const declared = new Set([name, ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
        const undeclared = [...(await bareImports(path.join(dir, "dist")))].filter((s) => !s.startsWith("node:") && !declared.has(s));
        expect(undeclared, name).toEqual([]);
        const relativeOut = (
          await readFile(path.join(dir, "dist", name === "@agentnet/client" ? "index.js" : "agentnet/v1/messaging_pb.js"), "utf8")
        ).match(/["'](\.\.\/)+(gen|src|clients)\//);
        expect(relativeOut, name).toBeNull();
      }

      const out = await run(process.execPath, ["main.ts", gw.url, ADMIN_PASSWORD], { cwd: project });
      expect(JSON.parse(out)).toEqual({
        user: "admin",
        answer: "unpacked tarball",
        from: "packed_responder",
        owned: ["packed_asker", "packed_responder"],
        delivered: "delivered",
      });

      // The browser entry, typechecked for a page and run over fetch.
      const browserDir = path.join(project, "page");
      await mkdir(browserDir);
      await writeFile(path.join(browserDir, "main.ts"), BROWSER_CONSUMER(gw.url, ADMIN_PASSWORD));
      await writeFile(
        path.join(browserDir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2023",
            lib: ["ES2023", "DOM"],
            module: "ESNext",
            moduleResolution: "Bundler",
            customConditions: ["browser"],
            strict: true,
            noEmit: true,
            erasableSyntaxOnly: true,
            verbatimModuleSyntax: true,
            types: [],
          },
          files: ["main.ts"],
        }),
      );
      await run(process.execPath, [tsc, "-p", browserDir], { cwd: browserDir });
      const responder = await startResponder(gw.url);
      try {
        await writeFile(path.join(browserDir, "package.json"), JSON.stringify({ type: "module" }));
        const page = await run(process.execPath, ["--conditions=browser", "main.ts"], { cwd: browserDir });
        expect(JSON.parse(page)).toEqual({ answer: "page said from a page", online: true });
      } finally {
        await responder.close();
      }
    },
    TIMEOUT_MS,
  );
});
