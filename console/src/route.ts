// The console's place, in the URL's hash (#/agents/acct_…): a reload or a shared link opens the same view, and the
// gateway serves one page for all of them.
import { useEffect, useState } from "preact/hooks";

export type View = "agents" | "threads" | "traffic" | "send" | "chat";
export const VIEWS: { id: View; label: string }[] = [
  { id: "agents", label: "Agents" },
  { id: "threads", label: "Threads" },
  { id: "traffic", label: "Traffic" },
  { id: "send", label: "Send" },
  { id: "chat", label: "Chat" },
];

export interface Route {
  view: View;
  /** The selected item: an account, thread or chat session id. */
  id: string | undefined;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [view, ...rest] = path.split("/");
  const known = VIEWS.some((v) => v.id === view);
  const id = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  return { view: known ? (view as View) : "agents", id: known ? id : undefined, params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
