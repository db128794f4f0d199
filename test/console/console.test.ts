// The web console in headless Chromium against a live gateway that serves it: sign-in (password, API key, a wrong
// password refused), an agent registered from this process appearing in the agents table live and going grey when
// it stops, a message sent from the console reaching a test agent with its receipts shown, a chat with the echo
// provider whose answer streams in, and a reload that resumes the chat after its last seq. Each test saves a
// screenshot under test-results/console/. Also the files' HTTP side: CSP, caching, HEAD, 304, and the switch.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { type AgentnetClient, connect } from "../../clients/ts/src/index.js";
import { CONSOLE_CSP } from "../../src/server/console-files.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shots = path.join(root, "test-results", "console");
const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (p) => existsSync(p) && spawnSync(p, ["--version"]).status === 0,
);
const built = existsSync(path.join(root, "dist/console/index.html"));

describe.skipIf(!built)("web console files", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  beforeAll(async () => {
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("serves the page at / and /console/ with a strict CSP, revalidated; hashed bundles cached for good", async () => {
    for (const p of ["/", "/console/", "/console"]) {
      const res = await fetch(`${gw.url}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const html = await res.text();
      expect(html).toContain('<div id="app">');
      // Nothing inline: every script and style comes from a file of this origin.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|style=/);
    }
    const page = await (await fetch(`${gw.url}/`)).text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${gw.url}${script}`, { headers: { "accept-encoding": "gzip" } });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const etag = js.headers.get("etag") ?? "";
    await js.arrayBuffer();
    const again = await fetch(`${gw.url}${script}`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const head = await fetch(`${gw.url}${script}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(1000);
  });

  it("refuses other methods and unknown console files; RPC paths and /metrics still work beside it", async () => {
    const post = await fetch(`${gw.url}/console/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect((await post.json()) as unknown).toMatchObject({ reason: "method_not_allowed" });
    const missing = await fetch(`${gw.url}/console/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect((await missing.json()) as unknown).toMatchObject({ reason: "not_found" });
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
    const login = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    expect(login.accessToken).not.toBe("");
  });

  it("AGENTNET_CONSOLE=false turns it off: / is the gateway's 404 again", async () => {
    const off = await startTestGateway(backend, { AGENTNET_CONSOLE: "false" });
    try {
      const res = await fetch(`${off.url}/`);
      expect(res.status).toBe(404);
      expect((await res.json()) as unknown).toMatchObject({ code: "unimplemented" });
    } finally {
      await off.close();
    }
  });
});

describe.skipIf(!chromiumPath || !built)("web console in headless Chromium", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let browser: Browser;
  let adminToken: string;
  let user: AgentnetClient;
  const password = "console-user-password";

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    backend = await createBackend("embedded");
    // Slow enough that an answer is visibly in parts while it streams.
    gw = await startTestGateway(backend, { AGENTNET_CHAT_ECHO_DELAY_MS: "700" });
    adminToken = (await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    await client(AuthService, gw.url, adminToken).createUser({ username: "console_user", password });
    // Chat sessions allow a user 10 queries a minute (the seed's limit): the two chat tests sign in as different users.
    await client(AuthService, gw.url, adminToken).createUser({ username: "console_watcher", password });
    const { accessToken } = await client(AuthService, gw.url).login({ username: "console_user", password });
    user = connect({ url: gw.url, token: accessToken });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await user?.close();
    await gw?.close();
    await backend?.dispose();
  });

  /** A new tab at 1280×800 that fails the test on any page error or CSP violation. */
  async function open(viewport = { width: 1280, height: 800 }): Promise<{ tab: Page; problems: string[] }> {
    const tab = await browser.newPage({ viewport });
    const problems: string[] = [];
    tab.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    tab.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
    });
    await tab.goto(`${gw.url}/`);
    return { tab, problems };
  }

  async function signIn(tab: Page, username = "console_user"): Promise<void> {
    await tab.getByLabel("Username").fill(username);
    await tab.getByLabel("Password").fill(password);
    await tab.getByRole("button", { name: "Sign in" }).click();
    await tab.getByTestId("user").waitFor({ timeout: 20_000 });
  }

  it("signs in with a password or an API key, refuses a wrong password, signs out", async () => {
    const { tab, problems } = await open();
    await tab.getByRole("heading", { name: "agentnet" }).waitFor();
    await tab.getByLabel("Username").fill("console_user");
    await tab.getByLabel("Password").fill("not the password");
    await tab.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => tab.getByRole("alert").textContent(), { timeout: 20_000 }).toMatch(/invalid_credentials|password/i);
    await tab.screenshot({ path: path.join(shots, "sign-in-refused.png") });

    await signIn(tab);
    expect(await tab.getByTestId("user").textContent()).toBe("console_user");
    // The credential is the tab's, never in the URL.
    expect(tab.url()).not.toContain("ey");
    await tab.getByRole("button", { name: "Sign out" }).click();
    await tab.getByRole("button", { name: "Sign in" }).waitFor();
    expect(await tab.evaluate<string[]>('Object.keys(sessionStorage).filter((k) => k.startsWith("agentnet."))')).toEqual([]);

    const key = await user.createApiKey("console test");
    await tab.getByRole("tab", { name: "API key" }).click();
    await tab.getByLabel("API key").fill(key.secret);
    await tab.getByRole("button", { name: "Sign in" }).click();
    await tab.getByTestId("user").waitFor({ timeout: 20_000 });
    expect(await tab.getByTestId("user").textContent()).toBe("console_user");
    await tab.screenshot({ path: path.join(shots, "signed-in.png") });
    expect(problems).toEqual([]);
    await tab.close();
  });

  it("shows an agent registered elsewhere live, and greys it out when it stops", async () => {
    const { tab, problems } = await open();
    await signIn(tab);
    const row = tab.locator('tr[data-username="console_live_agent"]');
    expect(await row.count()).toBe(0);
    const agent = await user.register({ username: "console_live_agent", capabilities: ["weather"], bio: "says the weather" });
    await row.waitFor({ timeout: 20_000 });
    await expect.poll(() => row.getAttribute("data-online"), { timeout: 20_000 }).toBe("true");
    expect(await row.textContent()).toContain("weather");
    // Filters: by capability and by name.
    await tab.getByLabel("Capability").fill("nothing-offers-this");
    await expect.poll(() => row.count(), { timeout: 5000 }).toBe(0);
    await tab.getByLabel("Capability").fill("weath");
    await expect.poll(() => row.count(), { timeout: 5000 }).toBe(1);
    await tab.screenshot({ path: path.join(shots, "agents-live.png") });
    // The profile, in AgentConnect's shape too.
    await row.getByRole("link").click();
    await tab.getByRole("heading", { name: "@console_live_agent" }).waitFor({ timeout: 20_000 });
    expect(await tab.locator("aside").textContent()).toContain("says the weather");

    await agent.close();
    await expect.poll(() => row.getAttribute("data-online"), { timeout: 30_000 }).toBe("false");
    await tab.screenshot({ path: path.join(shots, "agents-offline.png") });
    expect(problems).toEqual([]);
    await tab.close();
  });

  it("sends a message from one of the user's accounts; the agent gets it and the receipts show it processed", async () => {
    const sender = await user.register({ username: "console_sender" });
    const got: string[] = [];
    const target = await user.register({ username: "console_target" });
    target.onMessage(async (m) => {
      got.push(m.text ?? "");
      if (m.isRequest) await m.replyText(`you said: ${m.text}`);
    });
    await target.ready();
    const { tab, problems } = await open();
    await signIn(tab);
    await tab.goto(`${gw.url}/#/send?to=@console_target`);
    await tab.getByLabel("From").selectOption({ label: "@console_sender" });
    expect(await tab.getByLabel("To").inputValue()).toBe("@console_target");
    await tab.getByLabel("Text").fill("hello from the console");
    await tab.getByRole("button", { name: "Send", exact: true }).click();
    await expect.poll(() => got, { timeout: 20_000 }).toEqual(["hello from the console"]);
    const id = await tab.getByTestId("sent-id").textContent();
    const trail = tab.locator(`.receipts li[data-message-id="${id}"] .trail`);
    await expect.poll(() => trail.textContent(), { timeout: 20_000 }).toContain("processed");
    expect(await trail.textContent()).toMatch(/accepted.*delivered.*processed/);
    await tab.screenshot({ path: path.join(shots, "send-receipts.png") });

    // The thread it went into, newest activity first, with the message and its status.
    await tab.getByRole("navigation").getByRole("link", { name: "Threads", exact: true }).click();
    const thread = tab.locator(".threads li", { hasText: "@console_target" }).first();
    await thread.waitFor({ timeout: 20_000 });
    await thread.getByRole("link").click();
    const stored = tab.locator(`aside .message[data-message-id="${id}"]`);
    await stored.waitFor({ timeout: 20_000 });
    expect(await stored.textContent()).toContain("hello from the console");
    await expect.poll(() => stored.textContent(), { timeout: 20_000 }).toContain("processed");
    await tab.screenshot({ path: path.join(shots, "thread.png") });
    await tab.goto(`${gw.url}/#/send?to=@console_target`);
    await tab.getByLabel("From").selectOption({ label: "@console_sender" });

    // A request waits for the agent's reply and shows it.
    await tab.getByLabel("Request (wait for the reply)").check();
    await tab.getByLabel("Text").fill("are you there?");
    await tab.getByRole("button", { name: "Send request" }).click();
    await expect.poll(() => tab.getByTestId("reply").textContent(), { timeout: 20_000 }).toBe("you said: are you there?");
    expect(got).toEqual(["hello from the console", "are you there?"]);
    await tab.getByLabel("Message", { exact: true }).check();

    // A payload that is not a JSON object is refused in the page, before anything is sent.
    await tab.getByLabel("Write the payload as JSON").check();
    await tab.getByLabel("Payload (a JSON object)").fill("[1, 2]");
    await tab.getByRole("button", { name: "Send", exact: true }).click();
    await expect.poll(() => tab.getByRole("alert").textContent(), { timeout: 5000 }).toContain("JSON object");
    // A recipient nobody has is refused with the server's reason.
    await tab.getByLabel("Payload (a JSON object)").fill('{"text": "anyone?"}');
    await tab.getByLabel("To").fill("@nobody_has_this_name");
    await tab.getByRole("button", { name: "Send", exact: true }).click();
    await expect.poll(() => tab.getByRole("alert").textContent(), { timeout: 20_000 }).toMatch(/not_found/);
    expect(got).toEqual(["hello from the console", "are you there?"]);
    expect(problems).toEqual([]);
    await sender.close();
    await target.close();
    await tab.close();
  });

  it("chats with the echo provider: the answer streams in, and a reload resumes after the last seq", async () => {
    const { tab, problems } = await open();
    await signIn(tab);
    await tab.getByRole("navigation").getByRole("link", { name: "Chat", exact: true }).click();
    await tab.getByRole("button", { name: "Start" }).click();
    const say = tab.getByPlaceholder("Say something…");
    await say.waitFor({ timeout: 20_000 });
    await expect.poll(() => tab.getByTestId("chat-state").textContent(), { timeout: 20_000 }).toBe("live");
    await say.fill("one two three four five");
    await say.press("Enter");
    // While it is generated, the answer is one growing bubble holding the first words, not the whole.
    const partial = tab.locator('.bubble[data-kind="partial"] .content');
    await partial.waitFor({ timeout: 20_000 });
    const piece = (await partial.textContent()) ?? "";
    await tab.screenshot({ path: path.join(shots, "chat-streaming.png") });
    const answer = tab.locator('.bubble[data-kind="answer"] .content');
    await answer.waitFor({ timeout: 30_000 });
    const whole = (await answer.textContent()) ?? "";
    expect(whole).toBe("echo: one two three four five");
    expect(piece.length).toBeGreaterThan(0);
    expect(piece.length).toBeLessThan(whole.length);
    expect(whole.startsWith(piece)).toBe(true);
    expect(await tab.locator('.bubble[data-kind="partial"]').count()).toBe(0);
    const seq = Number((await tab.getByTestId("last-seq").textContent())?.replace("seq ", ""));
    expect(seq).toBeGreaterThan(2);

    // A reload shows the conversation at once from what was seen, and the stream resumes after that seq: nothing
    // is replayed twice, and what comes next arrives.
    const before = await tab.locator(".chat .bubble").count();
    await tab.reload();
    await tab.locator('.bubble[data-kind="answer"]').waitFor({ timeout: 20_000 });
    expect(await tab.locator(".chat .bubble").count()).toBe(before);
    // Said at once, maybe before the stream reopened: it resumes after the seq, so the answer is not missed.
    await say.fill("six");
    await say.press("Enter");
    await expect.poll(() => tab.locator('.bubble[data-kind="answer"]').count(), { timeout: 30_000 }).toBe(2);
    expect(await tab.locator('.bubble[data-kind="answer"] .content').allTextContents()).toEqual([
      "echo: one two three four five",
      "echo: six",
    ]);
    expect(await tab.locator('.bubble[data-kind="text"] .content').allTextContents()).toEqual(["one two three four five", "six"]);
    await tab.screenshot({ path: path.join(shots, "chat-resumed.png") });
    expect(problems).toEqual([]);
    await tab.close();
  });

  it("watches two agents converse until their turns run out", async () => {
    const { tab, problems } = await open();
    await signIn(tab, "console_watcher");
    await tab.getByRole("navigation").getByRole("link", { name: "Chat", exact: true }).click();
    await tab.getByLabel("Two agents").check();
    await tab.getByLabel("Turns before it stops").fill("3");
    await tab.getByLabel("Opening message").fill("hello there");
    await tab.getByRole("button", { name: "Start" }).click();
    const answers = tab.locator('.bubble[data-kind="answer"]');
    await expect
      .poll(() => answers.count(), { timeout: 90_000 })
      .toBe(3)
      .catch(async (err: unknown) => {
        await tab.screenshot({ path: path.join(shots, "agents-converse-failed.png") });
        throw new Error(`${String(err)}; the page said: ${await tab.locator(".conversation").textContent()}`);
      });
    await expect.poll(() => tab.getByTestId("chat-state").textContent(), { timeout: 30_000 }).toBe("ended");
    const senders = await tab.locator('.bubble[data-kind="answer"] .sender').allTextContents();
    // The two agents take turns.
    expect(senders[0]).not.toBe(senders[1]);
    expect(senders[0]).toBe(senders[2]);
    // Nobody types into a conversation between agents.
    expect(await tab.getByPlaceholder("Say something…").count()).toBe(0);
    await tab.screenshot({ path: path.join(shots, "agents-converse.png") });
    expect(problems).toEqual([]);
    await tab.close();
  }, 120_000);

  it("shows live traffic through the user's accounts, and holds the list still while paused", async () => {
    const from = await user.register({ username: "console_traffic_from" });
    const to = await user.register({ username: "console_traffic_to" });
    to.onMessage(() => undefined);
    await to.ready();
    const { tab, problems } = await open();
    await signIn(tab);
    await tab.getByRole("navigation").getByRole("link", { name: "Traffic", exact: true }).click();
    // Live once the server started the OBSERVE stream (what is sent before is not observed: OBSERVE's contract).
    await expect.poll(() => tab.locator("#traffic-title + .badge").textContent(), { timeout: 20_000 }).toBe("live");
    const list = tab.locator("ol.messages > li.message");
    await from.sendText("@console_traffic_to", "first through");
    await expect.poll(() => list.count(), { timeout: 20_000 }).toBe(1);
    expect(await list.first().textContent()).toContain("first through");
    await tab.getByRole("button", { name: "Pause" }).click();
    const shown = await list.count();
    await from.sendText("@console_traffic_to", "while paused");
    await tab.getByText(/passed while paused/).waitFor({ timeout: 20_000 });
    expect(await list.count()).toBe(shown);
    await tab.screenshot({ path: path.join(shots, "traffic-paused.png") });
    await tab.getByRole("button", { name: "Resume" }).click();
    await from.sendText("@console_traffic_to", "after the pause");
    await expect.poll(() => list.first().textContent(), { timeout: 20_000 }).toContain("after the pause");
    // Receipts of what the user's accounts sent, as they move on.
    await expect.poll(() => tab.locator(".receipts .trail").first().textContent(), { timeout: 20_000 }).toContain("accepted");
    expect(problems).toEqual([]);
    await from.close();
    await to.close();
    await tab.close();
  });

  it("works from the keyboard and follows the system's dark theme", async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: "dark" });
    await tab.goto(`${gw.url}/`);
    // Tab order reaches the fields; Enter submits.
    await tab.getByLabel("Username").focus();
    await tab.keyboard.type("console_user");
    await tab.keyboard.press("Tab");
    await tab.keyboard.type(password);
    await tab.keyboard.press("Enter");
    await tab.getByTestId("user").waitFor({ timeout: 20_000 });
    const dark = await tab.evaluate<string>("getComputedStyle(document.body).backgroundColor");
    await tab.screenshot({ path: path.join(shots, "dark.png") });
    await tab.close();
    const light = await browser.newPage({ colorScheme: "light" });
    await light.goto(`${gw.url}/`);
    const lightBg = await light.evaluate<string>("getComputedStyle(document.body).backgroundColor");
    expect(dark).not.toBe(lightBg);
    await light.close();
  });

  it("fits a phone-width screen: the views stack, nothing scrolls sideways", async () => {
    const { tab, problems } = await open({ width: 390, height: 844 });
    await signIn(tab);
    await tab.getByRole("heading", { name: "Agents" }).waitFor();
    const overflow = await tab.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await tab.screenshot({ path: path.join(shots, "phone.png") });
    expect(problems).toEqual([]);
    await tab.close();
  });
});
