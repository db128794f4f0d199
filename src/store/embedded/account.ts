import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { onceUntilFailure } from "./once.js";

const run = promisify(execFile);

/** PostgreSQL refuses to run as root: under root the embedded server runs as this system user. */
export const SERVER_USER = "postgres";

/** Who the embedded server runs as: the current user, or (under root) an unprivileged one. */
export type ServerAccount = { kind: "self" } | { kind: "unprivileged"; user: string; uid: number; gid: number; isolate: boolean };

const SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function tool(name: string): string {
  for (const dir of SEARCH_PATH.split(":")) {
    const p = `${dir}/${name}`;
    if (existsSync(p)) return p;
  }
  return name;
}

/**
 * The account for the embedded server, decided once per process. Under root: the `postgres` user (made as a
 * system user with no login and no home when missing, as Debian's package would), and whether the server gets a
 * private mount namespace (see {@link serverCommand}).
 */
export const serverAccount: () => Promise<ServerAccount> = onceUntilFailure(decide);

async function decide(): Promise<ServerAccount> {
  if (process.getuid?.() !== 0) return { kind: "self" };
  let ids = await lookup(SERVER_USER);
  if (!ids) {
    try {
      await run(tool("useradd"), [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        SERVER_USER,
      ]);
    } catch (err) {
      throw new Error(
        `running as root, and PostgreSQL refuses to: could not create the user "${SERVER_USER}" to run it as (${err instanceof Error ? err.message.split("\n")[0] : String(err)}); create it, run agentnet as another user, or set DATABASE_URL`,
      );
    }
    ids = await lookup(SERVER_USER);
    if (!ids) throw new Error(`created the user "${SERVER_USER}" but cannot find it`);
  }
  return { kind: "unprivileged", user: SERVER_USER, ...ids, isolate: await canIsolate() };
}

async function lookup(user: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run(tool("id"), ["-u", user]), run(tool("id"), ["-g", user])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/** Whether this root may make a private mount namespace (a container without CAP_SYS_ADMIN may not). */
async function canIsolate(): Promise<boolean> {
  try {
    await run(tool("unshare"), ["--mount", "--propagation", "private", "--", tool("true")]);
    return true;
  } catch {
    return false;
  }
}

/** Folders the server sees under other names inside its mount namespace. */
export interface Views {
  /** Real path of the cluster → the path the server is given. */
  cluster: [real: string, view: string];
  /** Real path of the binaries' native folder → the path the server runs them from. */
  native: [real: string, view: string];
}

/**
 * The command that runs one of PostgreSQL's programs (initdb, postgres) as `account`. Under root with `isolate`,
 * the program runs in a private mount namespace in which the cluster and the binaries are bind-mounted onto
 * `views` (empty folders any user can reach): the unprivileged user then needs no permission on the folders above
 * the data folder — a project under /root or `mktemp -d` (mode 0700) works without touching its modes. The mounts
 * exist only for that process and vanish with it. `program` is a path inside the native folder.
 */
export function serverCommand(account: ServerAccount, program: string, args: string[], views: Views | undefined): [string, string[]] {
  if (account.kind === "self") return [program, args];
  const drop = [tool("setpriv"), `--reuid=${account.uid}`, `--regid=${account.gid}`, "--clear-groups", "--"];
  if (!account.isolate || !views) return [drop[0]!, [...drop.slice(1), program, ...args]];
  const [clusterReal, clusterView] = views.cluster;
  const [nativeReal, nativeView] = views.native;
  const inView = nativeView + program.slice(nativeReal.length);
  const script = 'mount --bind "$1" "$2" && mount --bind "$3" "$4" && shift 4 && exec "$@"';
  return [
    tool("unshare"),
    [
      "--mount",
      "--propagation",
      "private",
      "--",
      tool("sh"),
      "-c",
      script,
      "sh",
      clusterReal,
      clusterView,
      nativeReal,
      nativeView,
      ...drop,
      inView,
      ...args,
    ],
  ];
}

/** The environment PostgreSQL's programs get: a PATH with mount and friends, messages in English. */
export function serverEnv(): NodeJS.ProcessEnv {
  return { PATH: SEARCH_PATH, LC_ALL: "C", LANG: "C" };
}
