// The embedded PostgreSQL: a real server in a separate process, started and stopped by agentnet itself when no
// DATABASE_URL is given, with its cluster, socket, log and lock in the data folder.
export { type EmbeddedConnection, EmbeddedError, type EmbeddedServer, layout, openEmbedded, shareUrl } from "./server.js";
