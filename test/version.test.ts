import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { VERSION } from "../src/version.js";

it("the version traces and metrics report is package.json's", async () => {
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  expect(VERSION).toBe(pkg.version);
});
