// Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof`): where the gateway's time went, by
// package or source folder and by function (self time).
//   node dist/bench/cpuprofile-top.js bench/results/profiles/<file>.cpuprofile [--top 25]
import { readFileSync } from "node:fs";
import { Command } from "commander";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const program = new Command()
  .argument("<file>", ".cpuprofile written by node --cpu-prof")
  .option("--top <n>", "functions to list", "25")
  .option("--callers <function>", "also list the call paths (5 frames up) that lead to this function")
  .parse();
const file = program.args[0]!;
const { top: topText, callers } = program.opts<{ top: string; callers?: string }>();
const top = Number(topText);
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
// The packages' code runs from their own dist/ (dist/gen is a link to gen/dist, and V8 reports the real path):
// spell it as dist/gen/… and dist/clients/ts/…, like the server's own files.
for (const node of profile.nodes) {
  node.callFrame.url = node.callFrame.url.replace("/gen/dist/", "/dist/gen/").replace("/clients/ts/dist/", "/dist/clients/ts/");
}

// Self time per node from the sample timeline (more exact than hitCount × mean interval).
const selfUs = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) {
  const next = deltas[i + 1] ?? 0;
  selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, next));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function area(url: string, name: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf("/dist/");
  if (dist >= 0)
    return url
      .slice(dist + 6)
      .split("/")
      .slice(0, 2)
      .join("/");
  if (url.startsWith("node:")) return "node internals";
  return url;
}

const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const a = area(url, functionName);
  byArea.set(a, (byArea.get(a) ?? 0) + us);
  const where = url ? `${url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${lineNumber + 1}` : "";
  const key = `${functionName || "(anonymous)"}  ${where}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}

// Time attributed to the nearest agentnet function on the stack (the code path that caused it, e.g. a query
// run on behalf of the writer), or to the package at the bottom of the stack when no agentnet frame is there.
const parent = new Map<number, ProfileNode>();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node);
const owner = new Map<number, string>();
function ownerOf(node: ProfileNode): string {
  const cached = owner.get(node.id);
  if (cached !== undefined) return cached;
  let result: string;
  const { url, functionName, lineNumber } = node.callFrame;
  if (url.includes("/dist/src/"))
    result = `${functionName || "(anonymous)"}  ${url.slice(url.indexOf("/dist/src/") + 6)}:${lineNumber + 1}`;
  else {
    const up = parent.get(node.id);
    result = up && up.callFrame.functionName !== "(root)" ? ownerOf(up) : `[${area(url, functionName)}]`;
  }
  owner.set(node.id, result);
  return result;
}
const byOwner = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const o = ownerOf(node);
  byOwner.set(o, (byOwner.get(o) ?? 0) + us);
}

const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
console.log("\nby package / source folder (self time)");
for (const [k, v] of [...byArea.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(v)}  ${k}`);
console.log(`\ntop ${top} functions (self time)`);
for (const [k, v] of [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
console.log(`\nby nearest agentnet function on the stack (top ${top})`);
for (const [k, v] of [...byOwner.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);

if (callers) {
  const paths = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName !== callers) continue;
    const frames: string[] = [];
    for (let up = parent.get(id); up && frames.length < 5; up = parent.get(up.id)) {
      const { functionName, url, lineNumber } = up.callFrame;
      frames.push(`${functionName || "(anonymous)"}@${url.replace(/^.*\/(node_modules|dist)\//, "")}:${lineNumber + 1}`);
    }
    const key = frames.join(" < ");
    paths.set(key, (paths.get(key) ?? 0) + us);
  }
  console.log(`\ncallers of ${callers}`);
  for (const [k, v] of [...paths.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${pct(v)}  ${k}`);
}
