#!/usr/bin/env bash
# clients/scenarios.json with nothing but grpcurl and jq: each scenario as raw RPCs, against the repository's built
# server started on a free port (run `npm run build` first), or AGENTNET_TEST_URL + AGENTNET_TEST_ADMIN_PASSWORD.
# Prints one line per scenario and ends with "N passed, N failed"; exits non-zero when any failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$root/node_modules/.bin:$PATH:$(go env GOPATH 2>/dev/null)/bin"
for tool in grpcurl jq node; do
  command -v "$tool" >/dev/null || { echo "scenarios.sh: $tool is missing" >&2; exit 2; }
done

work=$(mktemp -d)
server_pid=""
inbox_pid=""
declare -A bg=() # pid -> 1: every background grpcurl this script started and has not reaped; cleanup ends them
cleanup() {
  local pid
  for pid in "${!bg[@]}"; do kill "$pid" 2>/dev/null; done
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -n "${AGENTNET_TEST_URL:-}" ]]; then
  addr="${AGENTNET_TEST_URL#*://}"
  admin_password="${AGENTNET_TEST_ADMIN_PASSWORD:?set AGENTNET_TEST_ADMIN_PASSWORD with AGENTNET_TEST_URL}"
else
  [[ -f "$root/dist/src/main.js" ]] || { echo "scenarios.sh: run npm run build first" >&2; exit 2; }
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  addr="127.0.0.1:$port"
  admin_password="admin-password-for-grpcurl"
  (cd "$work" && exec env HOST=127.0.0.1 PORT="$port" AGENTNET_DATA_DIR="$work/data" AGENTNET_ADMIN_PASSWORD="$admin_password" \
    LOG_LEVEL=warn AGENTNET_SWEEP_INTERVAL_MS=100 node "$root/dist/src/main.js" serve >"$work/server.log" 2>&1) &
  server_pid=$!
  for _ in $(seq 1 600); do
    grpcurl -plaintext "$addr" grpc.health.v1.Health/Check >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

run="gc$RANDOM"
spec=$(sed "s/{run}/$run/g" "$here/../scenarios.json")
# An unreadable or empty spec must not pass as "0 passed, 0 failed".
jq -e '.scenarios | length > 0' <<<"$spec" >/dev/null 2>&1 || { echo "scenarios.sh: no scenarios in $here/../scenarios.json" >&2; exit 2; }
param() { jq -cr --arg id "$1" ".scenarios[] | select(.id == \$id) | .params$2" <<<"$spec"; }
expect() { jq -cr --arg id "$1" ".scenarios[] | select(.id == \$id) | .expect$2" <<<"$spec"; }
agent() { jq -cr ".agents.$1$2" <<<"$spec"; }

# rpc TOKEN Service/Method JSON: the answer on stdout; failures as google.rpc.Status JSON on stdout, exit status 64+code.
rpc() {
  local out rc
  out=$(grpcurl -plaintext -format-error -emit-defaults -H "authorization: Bearer $1" -d "$3" "$addr" "agentnet.v1.$2" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  return $rc
}
# rpc_bg VAR FILE TOKEN Service/Method JSON: rpc in the background (for calls that answer only once this runner,
# as the receiver, has acted), the answer in FILE; the pid in VAR, to `reap` for the exit status.
rpc_bg() {
  grpcurl -plaintext -format-error -emit-defaults -H "authorization: Bearer $3" -d "$5" "$addr" "agentnet.v1.$4" >"$2" 2>&1 &
  bg[$!]=1
  printf -v "$1" %s "$!"
}
# stream_bg VAR FILE TOKEN Service/Method JSON: a server stream in the background, one JSON document per message in
# FILE (errors in FILE.err); the pid in VAR, to `halt` once the messages looked for are in.
stream_bg() {
  : >"$2"
  grpcurl -plaintext -emit-defaults -max-time 600 -H "authorization: Bearer $3" -d "$5" "$addr" "agentnet.v1.$4" >"$2" 2>"$2.err" &
  bg[$!]=1
  printf -v "$1" %s "$!"
}
reap() { wait "$1"; local rc=$?; unset "bg[$1]"; return $rc; }
halt() { kill "$1" 2>/dev/null; reap "$1" 2>/dev/null; return 0; }
login() { grpcurl -plaintext -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$addr" agentnet.v1.AuthService/Login | jq -r .accessToken; }
# Polls give up after wait_seconds: generous, as the machine may be busy; a poll only ends a wait, it asserts nothing
# about how long anything took.
wait_seconds=30
wait_for() { # wait_for FILE JQ_FILTER [JQ_ARGS…]: until a JSON document in FILE matches (grpcurl prints one per message)
  local file=$1 filter=$2 deadline=$((SECONDS + wait_seconds))
  shift 2
  while ((SECONDS < deadline)); do
    [[ -s "$file" ]] && jq -c "$@" "$filter" "$file" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  return 1
}
wait_for_all() { # wait_for_all FILE JQ_FILTER [JQ_ARGS…]: until the filter, given all of FILE's documents as one array, is true
  local file=$1 filter=$2 deadline=$((SECONDS + wait_seconds))
  shift 2
  while ((SECONDS < deadline)); do
    [[ -s "$file" ]] && jq -se "$@" "$filter" "$file" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}
# Enum values as scenarios.json names them: enum("message_kind") turns "MESSAGE_KIND_REPLY" into "reply".
enum='def enum($prefix): ascii_downcase | ltrimstr($prefix + "_");'
grpc_code() { # grpc_code NAME: the number of a gRPC status code name (NOT_FOUND -> 5), as google.rpc.Status carries it
  local names=(OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED
    RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED) i
  for i in "${!names[@]}"; do [[ ${names[$i]} == "$1" ]] && { echo "$i"; return 0; }; done
  return 1
}
refused() { # refused STATUS_JSON CODE_NAME REASON: the answer is a google.rpc.Status with that code and ErrorInfo reason
  local code
  code=$(grpc_code "$2") || return 1
  jq -e --argjson c "$code" --arg r "$3" '.code == $c and any(.details[]?; .reason == $r)' <<<"$1" >/dev/null
}

admin=$(login admin "$admin_password")
for who in s r; do
  rpc "$admin" AuthService/CreateUser "{\"username\":\"scn_${run}_$who\",\"password\":\"password-$who\"}" >/dev/null
done
S=$(login "scn_${run}_s" password-s)
R=$(login "scn_${run}_r" password-r)

subscribe() { # subscribe VAR FILE TOKEN ACCOUNT SESSION: an account's CONSUME stream into FILE, in the background
  stream_bg "$1" "$2" "$3" MessagingService/Subscribe "{\"asAccountId\":\"$4\",\"sessionTag\":\"$5\"}"
  wait_for "$2" 'select(.started)'
}
start_inbox() { subscribe inbox_pid "$work/inbox.json" "$R" "$r_acct" "$r_sess"; } # the receiver's inbox
# The sender's inbox (streamed answers arrive there), open for the whole run like the receiver's: an open stream
# keeps the sender's session alive without heartbeats.
start_sender_inbox() { subscribe sender_inbox_pid "$work/s_inbox.json" "$S" "$s_acct" "$s_sess"; }
stop_inbox() { halt "$inbox_pid"; inbox_pid=""; }
received() { # received ID: the Envelope of message ID as the receiver's inbox shows it (the latest delivery)
  jq -c --arg id "$1" 'select(.message.messageId == $id) | .message' "$work/inbox.json" | tail -1
}
ack_as() { # ack_as TOKEN SESSION ID…: processed
  local token=$1 sess=$2
  shift 2
  rpc "$token" MessagingService/Ack "{\"acks\":[$(printf '{"messageId":"%s"},' "$@" | sed 's/,$//')],\"sessionTag\":\"$sess\"}" >/dev/null
}
ack() { ack_as "$R" "$r_sess" "$@"; }

# The receiver's handler (scenarios.json), for one received Envelope: a request is answered with 'pong: ' + its
# text; a payload with stream_back: true is answered with a stream, then acked; anything else is just acked.
handle() {
  if [[ $(jq -r .kind <<<"$1") == MESSAGE_KIND_REQUEST ]]; then
    rpc "$R" MessagingService/Reply "$(jq -c --arg s "$r_sess" \
      '{requestMessageId: .messageId, payload: {text: ("pong: " + (.payload.text // ""))}, sessionTag: $s}' <<<"$1")" >/dev/null
    return
  fi
  if [[ $(jq .payload.stream_back <<<"$1") == true ]]; then
    stream_reply "$1" || return 1
  fi
  ack "$(jq -r .messageId <<<"$1")"
}
# stream_reply ENVELOPE: the streamed answer to a received message, as the clients' StreamWriter sends it: STREAM
# messages to its sender, in its thread, with it as parent and its trace, sharing one stream_id and numbered by
# seq from 0: stream_start, one stream_delta per word of its text (each word but the last followed by a space),
# stream_end. Sent one after another, in seq order.
stream_reply() {
  local part
  while read -r part; do
    rpc "$R" MessagingService/Send "$part" >/dev/null || return 1
  done < <(jq -c --arg sid "s_$(cat /proc/sys/kernel/random/uuid)" --arg sess "$r_sess" '
    . as $m | (.payload.text // "" | split(" ")) as $w
    | [{type: "stream_start"}]
      + [range(0; $w | length) as $i | {type: "stream_delta", text: (if $i < ($w | length) - 1 then $w[$i] + " " else $w[$i] end)}]
      + [{type: "stream_end"}]
    | to_entries[]
    | {to: {accountId: $m.fromAccountId}, kind: "MESSAGE_KIND_STREAM", threadId: $m.threadId, parentMessageId: $m.messageId,
       traceId: $m.traceId, sessionTag: $sess, payload: (.value + {stream_id: $sid, seq: .key})}' <<<"$1")
}

scenario_register() {
  local s r
  s=$(rpc "$S" RegistryService/Register "{\"agentId\":\"$(agent sender .username)\",\"username\":\"$(agent sender .username)\",\"capabilities\":$(agent sender .capabilities),\"metadata\":$(agent sender .metadata)}") || return 1
  r=$(rpc "$R" RegistryService/Register "{\"agentId\":\"$(agent receiver .username)\",\"username\":\"$(agent receiver .username)\",\"capabilities\":$(agent receiver .capabilities),\"metadata\":$(agent receiver .metadata),\"bio\":\"$(agent receiver .bio)\"}") || return 1
  s_acct=$(jq -r .accountId <<<"$s"); s_sess=$(jq -r .sessionTag <<<"$s"); r_acct=$(jq -r .accountId <<<"$r"); r_sess=$(jq -r .sessionTag <<<"$r")
  [[ $s_acct == $(expect register .account_id_prefix)* && $r_sess == $(expect register .session_tag_prefix)* ]] || return 1
  [[ $(jq .heartbeatInterval <<<"$r") == "$(expect register .heartbeat_interval_seconds)" ]] || return 1
  [[ $(jq -r .username <<<"$s") == "$(expect register .sender_username)" ]] || return 1
  start_inbox && start_sender_inbox
}

scenario_discover() {
  rpc "$S" RegistryService/ListOnline '{}' | jq -e --arg a "$r_acct" 'any(.agents[]; .accountId == $a)' >/dev/null || return 1
  rpc "$S" RegistryService/SearchAgents "{\"query\":\"$(param discover .query)\"}" | jq -e --arg a "$r_acct" '[.agents[].accountId] == [$a]' >/dev/null || return 1
  rpc "$S" RegistryService/SearchAgents "{\"capability\":\"$(param discover .capability)\",\"onlineOnly\":true}" | jq -e --arg a "$r_acct" 'any(.agents[]; .accountId == $a)' >/dev/null || return 1
  rpc "$S" RegistryService/GetProfile "{\"username\":\"$(param discover .profile)\"}" |
    jq -e --argjson e "$(expect discover '')" '.profile | .online == $e.online and .capabilities == $e.capabilities and .metadata == $e.metadata and .bio == $e.bio and .sessionCount >= $e.min_sessions' >/dev/null
}

scenario_send_with_receipts() {
  local since sent id
  since=$(date -u +%Y-%m-%dT%H:%M:%SZ -d '-2 seconds')
  sent=$(rpc "$S" MessagingService/Send "{\"asAccountId\":\"$s_acct\",\"to\":{\"username\":\"$(param send_with_receipts .to)\"},\"payload\":$(param send_with_receipts .payload)}") || return 1
  id=$(jq -r .messageId <<<"$sent")
  wait_for "$work/inbox.json" "select(.message.messageId == \"$id\")" || return 1
  jq -e --arg id "$id" --argjson p "$(expect send_with_receipts .received_payload)" 'select(.message.messageId == $id) | .message.payload == $p' "$work/inbox.json" >/dev/null || return 1
  ack "$id"
  grpcurl -plaintext -max-time 2 -H "authorization: Bearer $S" -d "{\"since\":\"$since\",\"messageIds\":[\"$id\"]}" "$addr" \
    agentnet.v1.MessagingService/WatchReceipts 2>/dev/null >"$work/receipts.json"
  [[ $(jq -sc '[.[] | .receipt.status // empty | ascii_downcase | sub("delivery_status_"; "")]' "$work/receipts.json") == "$(expect send_with_receipts .receipts)" ]]
}

scenario_request_reply() {
  local req reply caller
  rpc_bg caller "$work/request.json" "$S" MessagingService/Request "{\"asAccountId\":\"$s_acct\",\"to\":{\"username\":\"$(param request_reply .to)\"},\"payload\":$(param request_reply .payload),\"threadId\":\"$(param request_reply .thread_id)\",\"timeoutMs\":\"$(param request_reply .timeout_ms)\"}"
  wait_for "$work/inbox.json" 'select(.message.kind == "MESSAGE_KIND_REQUEST")' || return 1
  req=$(jq -c 'select(.message.kind == "MESSAGE_KIND_REQUEST") | .message' "$work/inbox.json" | tail -1)
  handle "$req" || return 1
  reap "$caller" || return 1
  reply=$(jq -c .reply "$work/request.json")
  jq -e --argjson e "$(expect request_reply '')" --arg req "$(jq -r .messageId <<<"$req")" \
    '.kind == "MESSAGE_KIND_REPLY" and .payload == $e.payload and .threadId == $e.thread_id and .parentMessageId == $req' <<<"$reply" >/dev/null
}

scenario_send_to_capability() {
  local cap nobody sent id caller
  cap=$(param send_to_capability .to); cap=${cap#capability:}
  nobody=$(param send_to_capability .nobody); nobody=${nobody#capability:}
  # waitFor processed answers once the receiver acks, so the call runs in the background while this runner acks.
  rpc_bg caller "$work/cap.json" "$S" MessagingService/Send "{\"asAccountId\":\"$s_acct\",\"to\":{\"capability\":\"$cap\"},\"payload\":$(param send_to_capability .payload),\"waitFor\":\"WAIT_FOR_PROCESSED\",\"messageId\":\"scn_${run}_cap\"}"
  wait_for "$work/inbox.json" "select(.message.messageId == \"scn_${run}_cap\")" || return 1
  jq -e --argjson p "$(expect send_to_capability .received_payload)" "select(.message.messageId == \"scn_${run}_cap\") | .message.payload == \$p" "$work/inbox.json" >/dev/null || return 1
  ack "scn_${run}_cap"
  reap "$caller" || return 1
  jq -e --arg s "$(expect send_to_capability .status)" --arg r "$r_acct" --argjson to "$(expect send_to_capability .to_receiver)" \
    '(.status | ascii_downcase | sub("delivery_status_"; "")) == $s and (.toAccountId == $r) == $to' "$work/cap.json" >/dev/null || return 1
  sent=$(rpc "$S" MessagingService/Send "{\"asAccountId\":\"$s_acct\",\"to\":{\"capability\":\"$nobody\"},\"payload\":$(param send_to_capability .payload)}") && return 1
  refused "$sent" "$(expect send_to_capability .nobody_code)" "$(expect send_to_capability .nobody_reason)"
}

scenario_request_to_capability() {
  local id=request_to_capability cap caller req
  cap=$(param $id .to); cap=${cap#capability:}
  rpc_bg caller "$work/capreq.json" "$S" MessagingService/Request "$(jq -nc --arg cap "$cap" --argjson p "$(param $id .payload)" \
    --arg t "$(param $id .timeout_ms)" --arg acct "$s_acct" '{asAccountId: $acct, to: {capability: $cap}, payload: $p, timeoutMs: $t}')"
  # The receiver's inbox also holds request_reply's request: this one is told apart by its payload.
  wait_for "$work/inbox.json" 'select(.message.kind == "MESSAGE_KIND_REQUEST" and .message.payload == $p)' \
    --argjson p "$(param $id .payload)" || return 1
  req=$(jq -c --argjson p "$(param $id .payload)" 'select(.message.kind == "MESSAGE_KIND_REQUEST" and .message.payload == $p) | .message' \
    "$work/inbox.json" | tail -1)
  handle "$req" || return 1
  reap "$caller" || return 1
  jq -e --argjson e "$(expect $id '')" --arg r "$r_acct" "$enum"'
    .reply | (.kind | enum("message_kind")) == $e.kind and .payload == $e.payload and (.fromAccountId == $r) == $e.from_receiver' \
    "$work/capreq.json" >/dev/null
}

scenario_streamed_answer() {
  local id=streamed_answer sent mid before parts
  # What the sender receives from here on (documents of its inbox after the ones already there) is this scenario's.
  before=$(jq -s length "$work/s_inbox.json") || return 1
  sent=$(rpc "$S" MessagingService/Send "$(jq -nc --arg to "$(param $id .to)" --argjson p "$(param $id .payload)" \
    --arg t "$(param $id .thread_id)" --arg acct "$s_acct" '{asAccountId: $acct, to: {username: $to}, payload: $p, threadId: $t}')") || return 1
  mid=$(jq -r .messageId <<<"$sent")
  wait_for "$work/inbox.json" 'select(.message.messageId == $id)' --arg id "$mid" || return 1
  handle "$(received "$mid")" || return 1
  # The sender's side: the collector over what its inbox got, until the stream is done.
  wait_for_all "$work/s_inbox.json" 'include "stream_collector"; [.[$n:][] | .message // empty] | assemble | any(.done)' \
    -L "$here" --argjson n "$before" || return 1
  parts=$(jq -sc --argjson n "$before" '[.[$n:][] | .message // empty] | unique_by(.messageId)' "$work/s_inbox.json")
  # shellcheck disable=SC2046 # one id per word
  ack_as "$S" "$s_sess" $(jq -r '.[].messageId' <<<"$parts") || return 1
  jq -e -L "$here" --argjson e "$(expect $id '')" --arg mid "$mid" 'include "stream_collector"; '"$enum"'
    assemble as $streams | ($streams | length) == 1 and ($streams[0] | .done and .text == $e.text and .error == $e.error)
      and length == $e.parts and all(.[]; (.kind | enum("message_kind")) == $e.kind and .threadId == $e.thread_id)
      and all(.[]; .parentMessageId == $mid) == $e.parent_is_message' <<<"$parts" >/dev/null
}

scenario_blobs() {
  local id=blobs put blob caller ref got gone
  put=$(rpc "$S" MessagingService/PutBlob "$(jq -nc --arg c "$(param $id .content)" --arg m "$(param $id .mime_type)" \
    --arg f "$(param $id .filename)" --arg a "$s_acct" '{data: ($c | @base64), mimeType: $m, filename: $f, asAccountId: $a}')") || return 1
  blob=$(jq -c .blob <<<"$put")
  rpc "$S" MessagingService/HeadBlob "$(jq -c '{blobId}' <<<"$blob")" | jq -e --argjson e "$(expect $id '')" '.blob |
    (.sizeBytes | tonumber) == $e.size_bytes and .mimeType == $e.mime_type and .filename == $e.filename
    and (.sha256 | length) == $e.sha256_hex_length' >/dev/null || return 1
  # send_blob_ref: the seed's blob_ref payload, and the id in blobIds (what lets the receiver's user read it).
  rpc_bg caller "$work/blobref.json" "$S" MessagingService/Send "$(jq -c --arg to "$(param $id .to)" --arg acct "$s_acct" '{asAccountId: $acct, to: {username: $to},
    payload: {type: "blob_ref", blob_id: .blobId, sha256, size_bytes: (.sizeBytes | tonumber), mime_type: .mimeType, filename},
    blobIds: [.blobId], waitFor: "WAIT_FOR_PROCESSED"}' <<<"$blob")"
  wait_for "$work/inbox.json" 'select(.message.payload.type == "blob_ref" and .message.payload.blob_id == $b)' \
    --arg b "$(jq -r .blobId <<<"$blob")" || return 1
  ref=$(jq -c --arg b "$(jq -r .blobId <<<"$blob")" 'select(.message.payload.blob_id == $b) | .message' "$work/inbox.json" | tail -1)
  # The receiver reads the bytes through the reference it got, as its own user.
  got=$(rpc "$R" MessagingService/GetBlob "$(jq -c '{blobId: .payload.blob_id}' <<<"$ref")") || return 1
  [[ $(jq -r '.data | @base64d' <<<"$got") == "$(expect $id .received_text)" ]] || return 1
  handle "$ref" || return 1
  reap "$caller" || return 1
  [[ $(rpc "$S" MessagingService/DeleteBlob "$(jq -c '{blobId}' <<<"$blob")" | jq .deleted) == "$(expect $id .deleted)" ]] || return 1
  [[ $(rpc "$S" MessagingService/DeleteBlob "$(jq -c '{blobId}' <<<"$blob")" | jq .deleted) == "$(expect $id .deleted_again)" ]] || return 1
  gone=$(rpc "$R" MessagingService/GetBlob "$(jq -c '{blobId: .payload.blob_id}' <<<"$ref")") && return 1
  refused "$gone" "$(expect $id .after_delete_code)" "$(expect $id .after_delete_reason)"
}

scenario_threads_paging() {
  local id=threads_paging thread i mid caller page token="" pages="[]" complete=""
  thread=$(param $id .thread_id)
  for i in $(seq 0 $(($(param $id .count) - 1))); do
    mid="scn_${run}_paged_$i"
    rpc_bg caller "$work/paged.json" "$S" MessagingService/Send "$(jq -nc --arg to "$(param $id .to)" --arg text "$(param $id .text_prefix)$i" \
      --arg t "$thread" --arg mid "$mid" --arg acct "$s_acct" '{asAccountId: $acct, to: {username: $to}, payload: {text: $text}, threadId: $t, waitFor: "WAIT_FOR_PROCESSED", messageId: $mid}')"
    wait_for "$work/inbox.json" 'select(.message.messageId == $id)' --arg id "$mid" || return 1
    handle "$(received "$mid")" || return 1
    reap "$caller" || return 1
    jq -e '.status == "DELIVERY_STATUS_PROCESSED"' "$work/paged.json" >/dev/null || return 1
  done
  # Bounded: a cursor that never ends fails the scenario instead of looping.
  for _ in $(seq 1 100); do
    page=$(rpc "$S" MessagingService/GetThreadMessages "$(jq -nc --arg t "$thread" --argjson n "$(param $id .page_size)" --arg tok "$token" \
      '{threadId: $t, pageSize: $n, pageToken: $tok}')") || return 1
    pages=$(jq -c --argjson p "$page" '. + [$p]' <<<"$pages")
    token=$(jq -r .nextPageToken <<<"$page")
    [[ -z $token ]] && { complete=1; break; }
  done
  [[ -n $complete ]] || return 1
  jq -e --argjson e "$(expect $id '')" 'map(.messages | length) == $e.page_sizes and [.[].messages[].payload.text] == $e.texts' \
    <<<"$pages" >/dev/null || return 1
  rpc "$S" MessagingService/GetThreadStatus "$(jq -nc --arg t "$thread" '{threadId: $t}')" | jq -e --argjson e "$(expect $id '')" \
    '(.messageCount | tonumber) == $e.message_count and (.pendingMessages | tonumber) == $e.pending_messages' >/dev/null || return 1
  rpc "$S" MessagingService/ListThreads '{"pageSize": 20}' | jq -e --arg t "$thread" --argjson first "$(expect $id .listed_first)" \
    '(.threads[0].threadId == $t) == $first' >/dev/null
}

scenario_chat_session_echo() {
  local id=chat_session_echo sid sent streaming replayed first gone
  sid=$(rpc "$S" SessionService/CreateSession "$(jq -nc --arg a "$(param $id .agent)" --arg p "$(param $id .provider)" \
    '{sessionType: "SESSION_TYPE_HUMAN_AGENT", agents: {($a): {provider: $p}}}')" |
    jq -r --arg s "$(expect $id .status)" "$enum"'select(.session.status | enum("session_status") == $s) | .session.sessionId')
  [[ -n $sid ]] || return 1
  sent=$(rpc "$S" SessionService/SendSessionMessage "$(jq -nc --arg s "$sid" --arg c "$(param $id .content)" \
    '{sessionId: $s, content: $c, waitForResponse: true}')") || return 1
  jq -e --argjson e "$(expect $id '')" '.response.sender == $e.response_sender and (.response.content | contains($e.response_contains))' \
    <<<"$sent" >/dev/null || return 1
  # StreamSession stays open for live events: replay from the start until the first response, then cut it.
  stream_bg streaming "$work/session.json" "$S" SessionService/StreamSession "$(jq -nc --arg s "$sid" '{sessionId: $s, afterSeq: "0"}')"
  wait_for "$work/session.json" 'select(.event.type == "SESSION_EVENT_TYPE_RESPONSE")' || { halt "$streaming"; return 1; }
  halt "$streaming"
  replayed=$(jq -sc '[.[] | .event // empty | select(.type != "SESSION_EVENT_TYPE_PING")]
    | .[:(first(to_entries[] | select(.value.type == "SESSION_EVENT_TYPE_RESPONSE") | .key) + 1)]' "$work/session.json")
  jq -e --argjson e "$(expect $id '')" "$enum"'
    map(select(.type == "SESSION_EVENT_TYPE_DELTA")) as $deltas
    | (map(select(.type != "SESSION_EVENT_TYPE_DELTA") | .type | enum("session_event_type")) == $e.replayed_types)
      and ($deltas | length) >= $e.deltas_min
      and (($deltas | map(.content) | join("")) == last.content) == $e.deltas_join_to_response' <<<"$replayed" >/dev/null || return 1
  rpc "$S" SessionService/SendSessionMessage "$(jq -nc --arg s "$sid" --arg c "$(param $id .again)" \
    '{sessionId: $s, content: $c, waitForResponse: true}')" >/dev/null || return 1
  # A resume: from after the first response's seq, the first event is the next text.
  stream_bg streaming "$work/session.json" "$S" SessionService/StreamSession "$(jq -c --arg s "$sid" '{sessionId: $s, afterSeq: last.seq}' <<<"$replayed")"
  wait_for "$work/session.json" 'select(.event and .event.type != "SESSION_EVENT_TYPE_PING")' || { halt "$streaming"; return 1; }
  halt "$streaming"
  first=$(jq -c 'select(.event and .event.type != "SESSION_EVENT_TYPE_PING") | .event' "$work/session.json" | head -1)
  jq -e --argjson e "$(expect $id '')" "$enum"'(.type | enum("session_event_type")) == $e.resumed_first_type and .content == $e.resumed_first_content' \
    <<<"$first" >/dev/null || return 1
  rpc "$S" SessionService/DeleteSession "$(jq -nc --arg s "$sid" '{sessionId: $s}')" >/dev/null || return 1
  gone=$(rpc "$S" SessionService/GetSession "$(jq -nc --arg s "$sid" '{sessionId: $s}')") && return 1
  refused "$gone" "$(expect $id .after_delete_code)" "$(expect $id .after_delete_reason)"
}

scenario_presence_events() {
  local id=presence_events cap watching visitor vacct
  cap=$(param $id .capability)
  stream_bg watching "$work/presence.json" "$S" RegistryService/WatchPresence "$(jq -nc --arg c "$cap" '{capability: $c, includeSnapshot: true}')"
  wait_for "$work/presence.json" 'select(.synced)' || { halt "$watching"; return 1; }
  [[ $(jq -r 'select(.synced) | .synced.onlineCount' "$work/presence.json") == "$(expect $id .snapshot_count)" ]] || { halt "$watching"; return 1; }
  # Only once the stream is live does the receiver's user bring the visitor online: its ONLINE must be a live event.
  visitor=$(rpc "$R" RegistryService/Register "$(jq -nc --arg v "$(param $id .visitor)" --arg c "$cap" \
    '{agentId: $v, username: $v, capabilities: [$c]}')") || { halt "$watching"; return 1; }
  vacct=$(jq -r .accountId <<<"$visitor")
  wait_for "$work/presence.json" 'select(.presence.type == "PRESENCE_EVENT_TYPE_ONLINE" and .presence.account.accountId == $a)' \
    --arg a "$vacct" || { halt "$watching"; return 1; }
  rpc "$R" RegistryService/Deregister "$(jq -c '{sessionTag}' <<<"$visitor")" >/dev/null || { halt "$watching"; return 1; }
  wait_for "$work/presence.json" 'select(.presence.type == "PRESENCE_EVENT_TYPE_OFFLINE" and .presence.account.accountId == $a)' \
    --arg a "$vacct" || { halt "$watching"; return 1; }
  halt "$watching"
  jq -se --argjson e "$(expect $id '')" --arg a "$vacct" "$enum"'
    [.[] | .presence // empty | select(.account.accountId == $a)] as $mine
    | ($mine | map(.type | enum("presence_event_type"))) == $e.events and all($mine[]; .snapshot == $e.snapshot)
      and ($mine | last | .reason) == $e.offline_reason' "$work/presence.json" >/dev/null
}

scenario_resume_after_reconnect() {
  local ids=() n i
  n=$(param resume_after_reconnect .count)
  stop_inbox # the stream goes away; messages keep coming
  for i in $(seq 0 $((n - 1))); do
    ids+=("$(rpc "$S" MessagingService/Send "{\"asAccountId\":\"$s_acct\",\"to\":{\"accountId\":\"$r_acct\"},\"payload\":{\"text\":\"$(param resume_after_reconnect .payload_prefix)$i\"}}" | jq -r .messageId)")
  done
  start_inbox # first reconnect: all pending, pushed; not acked (as if the process died mid-work)
  [[ $(jq -r 'select(.started) | .started.pendingCount' "$work/inbox.json") == "$n" ]] || return 1
  wait_for "$work/inbox.json" "select(.message.messageId == \"${ids[-1]}\")" || return 1
  stop_inbox
  start_inbox # second reconnect: the same messages again, attempt 2; now acked once each
  for i in "${ids[@]}"; do wait_for "$work/inbox.json" "select(.message.messageId == \"$i\" and .message.deliveryAttempt == 2)" || return 1; done
  ack "${ids[@]}"
  stop_inbox
  start_inbox # nothing left
  [[ $(jq -r 'select(.started) | .started.pendingCount' "$work/inbox.json") == "0" ]]
}

scenario_idempotent_retry() {
  local body first again
  body="{\"asAccountId\":\"$s_acct\",\"to\":{\"username\":\"$(param idempotent_retry .to)\"},\"payload\":$(param idempotent_retry .payload),\"idempotencyKey\":\"$(param idempotent_retry .idempotency_key)\"}"
  first=$(rpc "$S" MessagingService/Send "$body") || return 1
  again=$(rpc "$S" MessagingService/Send "$body") || return 1
  [[ $(jq -r .messageId <<<"$first") == $(jq -r .messageId <<<"$again") && $(jq .duplicate <<<"$again") == "$(expect idempotent_retry .second_duplicate)" ]] || return 1
  sleep 0.3
  [[ $(jq -c --arg id "$(jq -r .messageId <<<"$first")" 'select(.message.messageId == $id)' "$work/inbox.json" | wc -l) == "$(expect idempotent_retry .handled)" ]] || return 1
  ack "$(jq -r .messageId <<<"$first")"
}

scenario_expiry() {
  local off sess since id
  off=$(rpc "$R" RegistryService/Register "{\"agentId\":\"$(param expiry .to_username)\",\"username\":\"$(param expiry .to_username)\"}") || return 1
  rpc "$R" RegistryService/Deregister "{\"sessionTag\":\"$(jq -r .sessionTag <<<"$off")\"}" >/dev/null || return 1
  since=$(date -u +%Y-%m-%dT%H:%M:%SZ -d '-2 seconds')
  id=$(rpc "$S" MessagingService/Send "{\"asAccountId\":\"$s_acct\",\"to\":{\"username\":\"$(param expiry .to_username)\"},\"payload\":{\"text\":\"too late\"},\"ttlMs\":\"$(param expiry .ttl_ms)\"}" | jq -r .messageId)
  sleep 1.5
  grpcurl -plaintext -max-time 2 -H "authorization: Bearer $S" -d "{\"since\":\"$since\",\"messageIds\":[\"$id\"]}" "$addr" \
    agentnet.v1.MessagingService/WatchReceipts 2>/dev/null >"$work/receipts.json"
  jq -se --arg s "$(expect expiry .final_status)" --arg c "$(expect expiry .code)" \
    '[.[] | .receipt // empty] | last | (.status | ascii_downcase | sub("delivery_status_"; "")) == $s and .code == $c' "$work/receipts.json" >/dev/null
}

scenario_rate_limit() {
  # Counts are ranges (see scenarios.json): the sends reach the server spread over time and each 200 ms refills a
  # token. One grpcurl process per send, all started in the background and then awaited: the burst at once.
  local i sends pid pids=() code accepted
  sleep "$(jq -n "$(param rate_limit .quiet_ms) / 1000")"
  sends=$(param rate_limit .sends)
  for i in $(seq 1 "$sends"); do
    rpc_bg pid "$work/burst.$i" "$S" MessagingService/Send "{\"asAccountId\":\"$s_acct\",\"to\":{\"username\":\"$(param rate_limit .to)\"},\"payload\":{\"text\":\"burst $i\"}}"
    pids+=("$pid")
  done
  for pid in "${pids[@]}"; do reap "$pid"; done
  [[ -n "${AGENTNET_DEBUG:-}" ]] && cat "$work"/burst.* >&2
  # Each answer is a Send response (messageId) or a google.rpc.Status; every Status must be the typed rate limit:
  # the expected code, ErrorInfo reason, RetryInfo delay in (0, max] ms.
  code=$(grpc_code "$(expect rate_limit .code)") || return 1
  cat "$work"/burst.* | jq -se --argjson code "$code" --argjson sends "$sends" --argjson accepted_min "$(expect rate_limit .accepted_min)" \
    --argjson refused_min "$(expect rate_limit .refused_min)" \
    --arg r "$(expect rate_limit .reason)" --argjson max "$(expect rate_limit .retry_after_ms_max)" '
    def ms: sub("s$"; "") | tonumber * 1000;
    def typed: .code == $code and any(.details[]?; .reason == $r)
      and any(.details[]?; .retryDelay and (.retryDelay | ms) > 0 and (.retryDelay | ms) <= $max);
    [.[] | select(.messageId)] as $accepted | [.[] | select(has("code"))] as $refused |
    length == $sends and ($accepted | length) >= $accepted_min and ($refused | length) >= $refused_min
      and ($accepted | length) + ($refused | length) == $sends and all($refused[]; typed)' >/dev/null || return 1
  # The receiver handles the accepted ones, so that no scenario after this one finds them pending in its inbox.
  accepted=$(cat "$work"/burst.* | jq -r 'select(.messageId) | .messageId')
  for i in $accepted; do wait_for "$work/inbox.json" 'select(.message.messageId == $id)' --arg id "$i" || return 1; done
  # shellcheck disable=SC2086 # one id per word
  ack $accepted
}

passed=0
failed=0
for id in $(jq -r '.scenarios[].id' <<<"$spec"); do
  if declare -F "scenario_$id" >/dev/null && "scenario_$id"; then
    echo "ok      $id"
    passed=$((passed + 1))
  else
    echo "FAILED  $id"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
