import type { Sections } from "../report.js";

type Table = (headers: string[], rows: string[][], rightAlign?: (col: number) => boolean) => string;

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n)
    ? "—"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number | null | undefined): string =>
  n === null || n === undefined || Number.isNaN(n) ? "—" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);

/**
 * The python-client section's lines for the printed report: the client's figures, and beside them the raw gRPC
 * load's (messaging section, unthrottled 128 B step on postgres+nats) and request/reply's when the run has them.
 */
export function pythonClientLines(s: Sections, table: Table): string[] {
  const section = s.pythonClient;
  if (!section) return [];
  const out = ["", "Python client (clients/python/bench/load.py): 8 senders → 8 receivers, 128 B, closed loop; postgres+nats"];
  if (section.skipped) return [...out, `  skipped: ${section.skipped}`];
  const rawRun = s.messaging?.runs.find((r) => r.setup === "postgres+nats" && r.payloadBytes === 128 && r.offeredPerSecond === null);
  const rawRr = s.requestReply?.runs.filter((r) => r.setup === "postgres+nats").sort((a, b) => a.ratePerSecond - b.ratePerSecond)[0];
  const natsRr = s.baselines?.requestReply[0];
  const rows: string[][] = [];
  for (const run of section.runs) {
    for (const st of run.steps) {
      rows.push([
        run.batchSends ? "client, sends batched" : "client, unary Send",
        String(st.inFlightPerSender),
        fmt(st.sentPerSecond),
        fmt(st.deliveredPerSecond),
        ms(st.latencyMs.p50),
        ms(st.latencyMs.p99),
        ms(st.sendMs.p50),
        st.meanBatch === null ? "—" : fmt(st.meanBatch, 1),
        [
          st.sendErrors ? `${st.sendErrors} send errors` : "",
          st.missing ? `${st.missing} missing` : "",
          st.duplicates ? `${st.duplicates} redelivered` : "",
        ]
          .filter(Boolean)
          .join(", "),
      ]);
    }
  }
  rows.push([
    "raw gRPC load (messaging, max)",
    "",
    fmt(rawRun?.sentPerSecond),
    fmt(rawRun?.deliveredPerSecond),
    ms(rawRun?.latencyMs.p50),
    ms(rawRun?.latencyMs.p99),
    ms(rawRun?.sendRpcMs.p50),
    "",
    rawRun ? "" : "not in this run (--only messaging)",
  ]);
  out.push(
    table(
      ["", "in flight/sender", "sent/s", "delivered/s", "p50 ms", "p99 ms", "send p50", "per batch", "note"],
      rows,
      (c) => c >= 1 && c <= 7,
    ),
  );
  const rr = section.runs.find((r) => r.requestReply)?.requestReply;
  out.push(
    table(
      ["request/reply, sequential", "p50 ms", "p99 ms", "round trips/s", "note"],
      [
        ["client", ms(rr?.roundTripMs.p50), ms(rr?.roundTripMs.p99), fmt(rr?.roundTripsPerSecond), rr?.errors ? `${rr.errors} errors` : ""],
        [
          `raw gRPC (request-reply${rawRr ? ` at ${rawRr.ratePerSecond}/s` : ""})`,
          ms(rawRr?.roundTripMs.p50),
          ms(rawRr?.roundTripMs.p99),
          "",
          rawRr ? "" : "not in this run (--only request-reply)",
        ],
        [
          "raw NATS (Node)",
          ms(natsRr?.roundTripMs.p50),
          ms(natsRr?.roundTripMs.p99),
          "",
          natsRr ? "" : "not in this run (--only baselines)",
        ],
      ],
      (c) => c >= 1 && c <= 3,
    ),
  );
  return out;
}
