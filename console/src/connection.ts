// Who is signed in and the client that speaks for them. The credential (an access token from Login, or an API key)
// lives in this tab's sessionStorage only: never in a URL, gone when the tab closes, cleared on sign-out.
import { type AgentnetClient, connect } from "@agentnet/client/browser";
import { AuthService } from "@agentnet/client/gen";

const KEY = "agentnet.console.credentials";

export interface Credentials {
  kind: "token" | "apiKey";
  secret: string;
  /** The signed-in user's name, for the header. */
  user: string;
}

/** The gateway the console came from: the RPCs are on the same origin and port. */
const origin = (): string => window.location.origin;

export function savedCredentials(): Credentials | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<Credentials>;
    if ((parsed.kind === "token" || parsed.kind === "apiKey") && typeof parsed.secret === "string" && typeof parsed.user === "string")
      return parsed as Credentials;
  } catch {
    // A broken entry is no sign-in.
  }
  return undefined;
}

export function forgetCredentials(): void {
  sessionStorage.removeItem(KEY);
}

export function openClient(c: Credentials): AgentnetClient {
  return connect(c.kind === "token" ? { url: origin(), token: c.secret } : { url: origin(), apiKey: c.secret });
}

/** Logs in with a password; the answer's access token is the credential. */
export async function signInWithPassword(username: string, password: string): Promise<Credentials> {
  const anonymous = connect({ url: origin() });
  try {
    const res = await anonymous.service(AuthService).login({ username, password });
    return remember({ kind: "token", secret: res.accessToken, user: username });
  } finally {
    await anonymous.close();
  }
}

/** Checks an API key by asking who it belongs to. */
export async function signInWithApiKey(apiKey: string): Promise<Credentials> {
  const client = connect({ url: origin(), apiKey });
  try {
    const who = await client.whoami();
    return remember({ kind: "apiKey", secret: apiKey, user: who.user });
  } finally {
    await client.close();
  }
}

function remember(c: Credentials): Credentials {
  sessionStorage.setItem(KEY, JSON.stringify(c));
  return c;
}
