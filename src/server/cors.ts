import { cors as connectCors } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./http-types.js";

const allowMethods = connectCors.allowedMethods.join(", ");
const allowHeaders = [...connectCors.allowedHeaders, "Authorization"].join(", ");
const exposeHeaders = connectCors.exposedHeaders.join(", ");

/**
 * Adds CORS headers for browser clients (Connect-Web, gRPC-Web). Answers preflight requests itself and returns
 * true when it did, so the caller stops there. `origins` is a list of allowed origins or ["*"].
 */
export function applyCors(origins: readonly string[], req: NodeRequest, res: NodeResponse): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string") return false;
  const anyOrigin = origins.includes("*");
  if (!anyOrigin && !origins.includes(origin)) return false;
  res.setHeader("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
  if (!anyOrigin) res.setHeader("Vary", "Origin");
  res.setHeader("Access-Control-Expose-Headers", exposeHeaders);
  if (req.method !== "OPTIONS") return false;
  res.setHeader("Access-Control-Allow-Methods", allowMethods);
  res.setHeader("Access-Control-Allow-Headers", allowHeaders);
  res.setHeader("Access-Control-Max-Age", "7200");
  res.statusCode = 204;
  res.end();
  return true;
}
