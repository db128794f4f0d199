// The fake Agora as a process, for the client suites in other languages (clients/python, clients/go, grpcurl):
// `node dist/test/voice/fake-agora-main.js` prints one JSON line, {"env": {...}}, the settings a gateway needs to
// talk to it, and serves until SIGTERM, SIGINT or the end of its stdin. On the way out it prints every schema or
// path violation it saw on stderr and exits 1 if there was any, so a suite that checks the exit status fails when
// agentnet sent Agora something wrong.
import { FakeAgora } from "./fake-agora.js";
import { voiceEnv } from "./voice-env.js";

const fake = await new FakeAgora().start();
process.stdout.write(`${JSON.stringify({ env: voiceEnv(fake) })}\n`);

let closing = false;
async function stop(): Promise<void> {
  if (closing) return;
  closing = true;
  await fake.close();
  for (const v of fake.violations) process.stderr.write(`fake agora: violation: ${v}\n`);
  process.exit(fake.violations.length === 0 ? 0 : 1);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
