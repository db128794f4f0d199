// Sign in with a username and password (AuthService.Login) or an API key.
import { useState } from "preact/hooks";
import { type Credentials, signInWithApiKey, signInWithPassword } from "../connection.js";
import { describeError } from "../use-stream.js";
import { ErrorNote } from "../error-note.js";

export function SignIn({ onSignedIn }: { onSignedIn: (c: Credentials) => void }) {
  const [mode, setMode] = useState<"password" | "apiKey">("password");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(mode === "password" ? await signInWithPassword(username.trim(), password) : await signInWithApiKey(apiKey.trim()));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form class="card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">agentnet</h1>
        <p class="muted">Sign in to see the network live.</p>
        <div class="tabs" role="tablist" aria-label="How to sign in">
          <button type="button" role="tab" aria-selected={mode === "password"} onClick={() => setMode("password")}>
            Password
          </button>
          <button type="button" role="tab" aria-selected={mode === "apiKey"} onClick={() => setMode("apiKey")}>
            API key
          </button>
        </div>
        {mode === "password" ? (
          <>
            <label>
              Username
              <input
                name="username"
                autocomplete="username"
                required
                value={username}
                onInput={(e) => setUsername(e.currentTarget.value)}
              />
            </label>
            <label>
              Password
              <input
                name="password"
                type="password"
                autocomplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </>
        ) : (
          <label>
            API key
            <input
              name="apiKey"
              type="password"
              autocomplete="off"
              placeholder="agk_…"
              required
              value={apiKey}
              onInput={(e) => setApiKey(e.currentTarget.value)}
            />
          </label>
        )}
        <ErrorNote errors={[error]} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted small">
          A fresh gateway has the user <code>admin</code>; its password is in <code>.agentnet/admin-password</code> (or{" "}
          <code>AGENTNET_ADMIN_PASSWORD</code>).
        </p>
      </form>
    </main>
  );
}
