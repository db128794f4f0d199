// Agents: every agent the user may see, live. The list comes from SearchAgents; WatchPresence then moves rows
// online, updates them and greys them out as agents join, change and leave, without a reload.
import type { AgentnetClient } from "@agentnet/client/browser";
import { type PresenceEvent, PresenceEventType, type Profile, RegistryService, Visibility } from "@agentnet/client/gen";
import { toJson } from "@bufbuild/protobuf";
import { GetAgentStatusResponseSchema } from "@agentnet/client/gen";
import { useEffect, useMemo, useState } from "preact/hooks";
import { dateTimeOf, enumName, prettyJson, timeOf } from "../format.js";
import { describeError, useStream } from "../use-stream.js";
import { ErrorNote } from "../error-note.js";

interface Row {
  profile: Profile;
  online: boolean;
  /** What the last presence event said, for the row's title. */
  change: string;
}

export function Agents({ client, selected }: { client: AgentnetClient; selected: string | undefined }) {
  const [rows, setRows] = useState<Map<string, Row>>(new Map());
  const [query, setQuery] = useState("");
  const [capability, setCapability] = useState("");
  const [onlineOnly, setOnlineOnly] = useState(false);
  const [error, setError] = useState<string | undefined>();
  // Live once the snapshot is in, even when nobody is online (no event would say so).
  const [synced, setSynced] = useState(false);

  useEffect(() => {
    client
      .searchAgents({ limit: 500 })
      .then((found) =>
        setRows((prev) => {
          const next = new Map(prev);
          for (const p of found) if (!next.has(p.accountId)) next.set(p.accountId, { profile: p, online: p.online, change: "" });
          return next;
        }),
      )
      .catch((err: unknown) => setError(describeError(err)));
  }, [client]);

  const presence = useStream(
    (signal) => client.watchPresence({ includeSnapshot: true, onSynced: () => setSynced(true), signal }),
    (ev: PresenceEvent) => {
      const profile = ev.account;
      if (!profile) return;
      setRows((prev) => {
        const next = new Map(prev);
        const online = ev.type === PresenceEventType.OFFLINE ? false : ev.type === PresenceEventType.ONLINE ? true : profile.online;
        const what = ev.snapshot ? "online" : enumName(PresenceEventType, ev.type, "PRESENCE_EVENT_TYPE_");
        next.set(profile.accountId, { profile, online, change: `${what}${ev.reason ? ` (${ev.reason})` : ""} ${timeOf(ev.eventAt)}` });
        return next;
      });
    },
    [client],
  );

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase().replace(/^@/, "");
    const cap = capability.trim().toLowerCase();
    return [...rows.values()]
      .filter((r) => !onlineOnly || r.online)
      .filter((r) => !q || r.profile.username.toLowerCase().includes(q) || r.profile.displayName.toLowerCase().includes(q))
      .filter((r) => !cap || r.profile.capabilities.some((c) => c.toLowerCase().includes(cap)))
      .sort((a, b) => Number(b.online) - Number(a.online) || a.profile.username.localeCompare(b.profile.username));
  }, [rows, query, capability, onlineOnly]);
  const badge = presence.state === "failed" ? "failed" : synced || presence.state === "live" ? "live" : "connecting";
  const onlineCount = [...rows.values()].filter((r) => r.online).length;

  return (
    <div class={selected ? "split" : ""}>
      <section aria-labelledby="agents-title">
        <div class="section-head">
          <h2 id="agents-title">Agents</h2>
          <span class={`badge ${badge}`} title="The presence stream">
            {badge}
          </span>
          <span class="muted" data-testid="online-count">
            {onlineCount} online of {rows.size}
          </span>
        </div>
        <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter">
          <label>
            Name
            <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="@username or name" />
          </label>
          <label>
            Capability
            <input type="search" value={capability} onInput={(e) => setCapability(e.currentTarget.value)} placeholder="e.g. weather" />
          </label>
          <label class="check">
            <input type="checkbox" checked={onlineOnly} onChange={(e) => setOnlineOnly(e.currentTarget.checked)} />
            Online only
          </label>
        </form>
        <ErrorNote errors={[error, presence.error]} />
        <div class="table-wrap">
          <table class="agents">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Status</th>
                <th scope="col">Capabilities</th>
                <th scope="col">Sessions</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr
                  key={r.profile.accountId}
                  class={r.online ? "online" : "offline"}
                  data-username={r.profile.username}
                  data-online={String(r.online)}
                  aria-selected={selected === r.profile.accountId}
                >
                  <td>
                    <a href={`#/agents/${r.profile.accountId}`}>@{r.profile.username}</a>
                    {r.profile.displayName && r.profile.displayName !== r.profile.username && (
                      <span class="muted"> {r.profile.displayName}</span>
                    )}
                    {r.profile.visibility === Visibility.PRIVATE && <span class="tag">private</span>}
                  </td>
                  <td title={r.change}>
                    <span class={`dot ${r.online ? "on" : "off"}`} aria-hidden="true" />
                    {r.online ? "online" : "offline"}
                  </td>
                  <td>
                    {r.profile.capabilities.map((c) => (
                      <span class="tag" key={c}>
                        {c}
                      </span>
                    ))}
                  </td>
                  <td>{r.profile.sessionCount}</td>
                  <td>{timeOf(r.profile.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 && <p class="muted empty">No agents {rows.size ? "match" : "yet: register one and it appears here"}.</p>}
        </div>
      </section>
      {selected && <AgentProfile client={client} accountId={selected} live={rows.get(selected)} />}
    </div>
  );
}

function AgentProfile({ client, accountId, live }: { client: AgentnetClient; accountId: string; live: Row | undefined }) {
  const [profile, setProfile] = useState<Profile | undefined>();
  const [status, setStatus] = useState<string>("");
  const [error, setError] = useState<string | undefined>();
  // Read again when presence says something changed, so sessions stay current.
  const version = live ? `${live.online}:${live.profile.sessionCount}:${live.change}` : "";
  useEffect(() => {
    setError(undefined);
    client
      .getProfile(accountId)
      .then(setProfile)
      .catch((err: unknown) => setError(describeError(err)));
    client
      .service(RegistryService)
      .getAgentStatus({ agent: { case: "accountId", value: accountId } })
      .then((res) => setStatus(JSON.stringify(toJson(GetAgentStatusResponseSchema, res), null, 2)))
      .catch(() => setStatus(""));
  }, [client, accountId, version]);

  return (
    <aside class="panel" aria-labelledby="profile-title">
      <div class="section-head">
        <h2 id="profile-title">{profile ? `@${profile.username}` : "Agent"}</h2>
        <a href="#/agents" class="close" aria-label="Close the profile">
          ×
        </a>
      </div>
      <ErrorNote errors={[error]} />
      {profile && (
        <>
          <dl class="facts">
            <dt>Account</dt>
            <dd>
              <code>{profile.accountId}</code>
            </dd>
            <dt>Name</dt>
            <dd>{profile.displayName || "—"}</dd>
            <dt>Bio</dt>
            <dd>{profile.bio || "—"}</dd>
            <dt>Visibility</dt>
            <dd>{enumName(Visibility, profile.visibility, "VISIBILITY_")}</dd>
            <dt>Online</dt>
            <dd>{profile.online ? "yes" : "no"}</dd>
            <dt>Capabilities</dt>
            <dd>{profile.capabilities.join(", ") || "—"}</dd>
            <dt>Created</dt>
            <dd>{dateTimeOf(profile.createdAt)}</dd>
          </dl>
          <h3>Sessions</h3>
          {profile.sessions.length === 0 ? (
            <p class="muted">No live session.</p>
          ) : (
            <ul class="sessions">
              {profile.sessions.map((s) => (
                <li key={s.sessionTag}>
                  <code>{s.sessionTag}</code> {s.agentId && <span class="tag">{s.agentId}</span>} since {timeOf(s.connectedAt)}, seen{" "}
                  {timeOf(s.lastSeenAt)}
                </li>
              ))}
            </ul>
          )}
          <h3>Metadata</h3>
          <pre>{prettyJson(profile.metadata)}</pre>
          <p>
            <a href={`#/send?to=${encodeURIComponent(`@${profile.username}`)}`}>Send a message to @{profile.username}</a>
          </p>
        </>
      )}
      {status && (
        <details>
          <summary>Status in AgentConnect's shape</summary>
          <pre>{status}</pre>
        </details>
      )}
    </aside>
  );
}
