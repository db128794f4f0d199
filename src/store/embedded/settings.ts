/**
 * How the embedded server runs, passed as `-c` options at every start (so a newer agentnet's tuning applies to an
 * older data folder). It serves one gateway on one machine: a small footprint, no network, no replication, and
 * the same durability as production — a commit is on disk before the caller hears of it.
 */
export function serverSettings(options: { socketDir: string; poolSize: number }): Record<string, string> {
  return {
    // No TCP at all: the one way in is the Unix socket in the cluster folder, which only its owner can reach.
    listen_addresses: "",
    unix_socket_directories: options.socketDir,
    unix_socket_permissions: "0700",
    // The gateway's pool, plus as many again for a second gateway sharing the server, a CLI command or psql.
    max_connections: String(options.poolSize * 2 + 10),
    superuser_reserved_connections: "3",
    // Modest memory: the working set of one gateway's tables fits, and PostgreSQL's own default (128 MB) would
    // count against the machine of a developer who runs it beside everything else.
    shared_buffers: "32MB",
    work_mem: "4MB",
    maintenance_work_mem: "32MB",
    // Durability is the promise (an acknowledged message survives a crash): these stay as in production.
    fsync: "on",
    synchronous_commit: "on",
    full_page_writes: "on",
    // No replicas: minimal WAL, no WAL senders, no logical replication launcher (one process fewer).
    wal_level: "minimal",
    max_wal_senders: "0",
    max_logical_replication_workers: "0",
    max_wal_size: "256MB",
    min_wal_size: "32MB",
    // Short queries only: parallel workers and JIT would cost processes and compile time for nothing.
    max_parallel_workers_per_gather: "0",
    max_worker_processes: "2",
    jit: "off",
    huge_pages: "off",
    // The log goes to the file the server's stderr is tied to, without a separate collector process.
    logging_collector: "off",
    log_destination: "stderr",
    log_checkpoints: "off",
    log_line_prefix: "%m [%p] ",
    // Time zone of stored timestamps is irrelevant (timestamptz), but logs are easier to match in UTC.
    log_timezone: "UTC",
  };
}
