import { createHash, timingSafeEqual } from "node:crypto";
import type { Metrics } from "../metrics/index.js";
import { type HttpRouteHandler, sendJson } from "./http-routes.js";

/**
 * `GET /metrics`: the gateway's metrics in Prometheus' text format. With `token` set, a scrape must send
 * `Authorization: Bearer <token>` (Prometheus' `authorization` setting); without, the route is open, as metrics
 * endpoints usually are behind the network's own fence.
 */
export function metricsRoute(metrics: Metrics, token: string | undefined): HttpRouteHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (req, res) => {
    req.resume();
    if (expected !== undefined) {
      const header = req.headers.authorization ?? "";
      const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
      // Compared as digests: equal lengths, and no timing hint about the token.
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        const msg = given === undefined ? "metrics need Authorization: Bearer <AGENTNET_METRICS_TOKEN>" : "wrong metrics token";
        sendJson(
          res,
          401,
          { code: 401, msg, reason: given === undefined ? "missing_credentials" : "invalid_credentials" },
          {
            "www-authenticate": 'Bearer realm="agentnet metrics"',
          },
        );
        return;
      }
    }
    const text = await metrics.scrape();
    res.statusCode = 200;
    res.setHeader("content-type", metrics.contentType);
    res.setHeader("cache-control", "no-store");
    res.setHeader("content-length", String(Buffer.byteLength(text)));
    res.end(text);
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
