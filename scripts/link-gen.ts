#!/usr/bin/env node
// Run after `tsc -b` by `npm run build` and `npm start`: makes dist/gen a link to gen/dist, the built
// @agentnet/gen package. The server imports the generated code by relative path (dist/src/… → dist/gen/…) and the
// client by package name (@agentnet/gen → gen/dist/…); through the link both reach the same files, so one copy
// of the generated code (its descriptors decoded once) runs in a gateway, as before the packages were split.
import { lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const link = path.join(root, "dist", "gen");
const target = path.join("..", "gen", "dist");

let current: string | undefined;
try {
  current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : "(not a link)";
} catch {}
if (current !== target) {
  // A folder left by a build from before the split, or a stale link.
  if (current !== undefined) rmSync(link, { recursive: true, force: true });
  mkdirSync(path.dirname(link), { recursive: true });
  symlinkSync(target, link, "dir");
}
