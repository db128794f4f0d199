// The console's frame: sign-in until there is a credential, then the header (figures at a glance, who is signed
// in, sign out), the views' navigation and the current view.
import type { AgentnetClient } from "@agentnet/client/browser";
import { useEffect, useMemo, useState } from "preact/hooks";
import { type Credentials, forgetCredentials, openClient, savedCredentials } from "./connection.js";
import { HeaderStats } from "./header-stats.js";
import { VIEWS, useRoute } from "./route.js";
import { Agents } from "./views/agents.js";
import { Chat } from "./views/chat.js";
import { Send } from "./views/send.js";
import { SignIn } from "./views/sign-in.js";
import { Threads } from "./views/threads.js";
import { Traffic } from "./views/traffic.js";

export function App() {
  const [credentials, setCredentials] = useState<Credentials | undefined>(savedCredentials);
  const client = useMemo(() => (credentials ? openClient(credentials) : undefined), [credentials]);
  useEffect(() => () => void client?.close(), [client]);

  if (!credentials || !client) return <SignIn onSignedIn={setCredentials} />;
  const signOut = () => {
    forgetCredentials();
    for (const key of Object.keys(sessionStorage)) if (key.startsWith("agentnet.console.")) sessionStorage.removeItem(key);
    setCredentials(undefined);
  };
  return <Signedin client={client} user={credentials.user} onSignOut={signOut} />;
}

function Signedin({ client, user, onSignOut }: { client: AgentnetClient; user: string; onSignOut: () => void }) {
  const route = useRoute();
  return (
    <>
      <a class="skip" href="#main">
        Skip to the content
      </a>
      <header class="top">
        <a class="brand" href="#/agents">
          agentnet
        </a>
        <HeaderStats client={client} />
        <span class="user">
          <span class="muted">signed in as</span> <strong data-testid="user">{user}</strong>
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Views">
        <ul>
          {VIEWS.map((v) => (
            <li key={v.id}>
              <a href={`#/${v.id}`} aria-current={route.view === v.id ? "page" : undefined}>
                {v.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        {route.view === "agents" && <Agents client={client} selected={route.id} />}
        {route.view === "threads" && <Threads client={client} selected={route.id} />}
        {route.view === "traffic" && <Traffic client={client} />}
        {route.view === "send" && <Send client={client} initialTo={route.params.get("to") ?? ""} />}
        {route.view === "chat" && <Chat client={client} selected={route.id} />}
      </main>
    </>
  );
}
