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
cleanup() {
  [[ -n "$inbox_pid" ]] && kill "$inbox_pid" 2>/dev/null
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
login() { grpcurl -plaintext -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$addr" agentnet.v1.AuthService/Login | jq -r .accessToken; }
wait_for() { # wait_for FILE JQ_FILTER: until a JSON document in FILE matches (grpcurl prints one per message)
  for _ in $(seq 1 200); do
    [[ -s "$1" ]] && jq -c "$2" "$1" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  return 1
}

admin=$(login admin "$admin_password")
for who in s r; do
  rpc "$admin" AuthService/CreateUser "{\"username\":\"scn_${run}_$who\",\"password\":\"password-$who\"}" >/dev/null
done
S=$(login "scn_${run}_s" password-s)
R=$(login "scn_${run}_r" password-r)

start_inbox() { # the receiver's CONSUME stream, into a file, in the background
  : >"$work/inbox.json"
  grpcurl -plaintext -emit-defaults -max-time 120 -H "authorization: Bearer $R" \
    -d "{\"asAccountId\":\"$r_acct\",\"sessionTag\":\"$r_sess\"}" "$addr" agentnet.v1.MessagingService/Subscribe >"$work/inbox.json" 2>/dev/null &
  inbox_pid=$!
  wait_for "$work/inbox.json" 'select(.started)'
}
stop_inbox() { kill "$inbox_pid" 2>/dev/null; wait "$inbox_pid" 2>/dev/null; inbox_pid=""; }
ack() { rpc "$R" MessagingService/Ack "{\"acks\":[$(printf '{"messageId":"%s"},' "$@" | sed 's/,$//')],\"sessionTag\":\"$r_sess\"}" >/dev/null; }

scenario_register() {
  local s r
  s=$(rpc "$S" RegistryService/Register "{\"agentId\":\"$(agent sender .username)\",\"username\":\"$(agent sender .username)\",\"capabilities\":$(agent sender .capabilities),\"metadata\":$(agent sender .metadata)}") || return 1
  r=$(rpc "$R" RegistryService/Register "{\"agentId\":\"$(agent receiver .username)\",\"username\":\"$(agent receiver .username)\",\"capabilities\":$(agent receiver .capabilities),\"metadata\":$(agent receiver .metadata),\"bio\":\"$(agent receiver .bio)\"}") || return 1
  s_acct=$(jq -r .accountId <<<"$s"); r_acct=$(jq -r .accountId <<<"$r"); r_sess=$(jq -r .sessionTag <<<"$r")
  [[ $s_acct == $(expect register .account_id_prefix)* && $r_sess == $(expect register .session_tag_prefix)* ]] || return 1
  [[ $(jq .heartbeatInterval <<<"$r") == "$(expect register .heartbeat_interval_seconds)" ]] || return 1
  [[ $(jq -r .username <<<"$s") == "$(expect register .sender_username)" ]] || return 1
  start_inbox
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
  sent=$(rpc "$S" MessagingService/Send "{\"to\":{\"username\":\"$(param send_with_receipts .to)\"},\"payload\":$(param send_with_receipts .payload)}") || return 1
  id=$(jq -r .messageId <<<"$sent")
  wait_for "$work/inbox.json" "select(.message.messageId == \"$id\")" || return 1
  jq -e --arg id "$id" --argjson p "$(expect send_with_receipts .received_payload)" 'select(.message.messageId == $id) | .message.payload == $p' "$work/inbox.json" >/dev/null || return 1
  ack "$id"
  grpcurl -plaintext -max-time 2 -H "authorization: Bearer $S" -d "{\"since\":\"$since\",\"messageIds\":[\"$id\"]}" "$addr" \
    agentnet.v1.MessagingService/WatchReceipts 2>/dev/null >"$work/receipts.json"
  [[ $(jq -sc '[.[] | .receipt.status // empty | ascii_downcase | sub("delivery_status_"; "")]' "$work/receipts.json") == "$(expect send_with_receipts .receipts)" ]]
}

scenario_request_reply() {
  local req reply
  rpc "$S" MessagingService/Request "{\"to\":{\"username\":\"$(param request_reply .to)\"},\"payload\":$(param request_reply .payload),\"threadId\":\"$(param request_reply .thread_id)\",\"timeoutMs\":\"$(param request_reply .timeout_ms)\"}" >"$work/request.json" &
  local caller=$!
  wait_for "$work/inbox.json" 'select(.message.kind == "MESSAGE_KIND_REQUEST")' || return 1
  req=$(jq -c 'select(.message.kind == "MESSAGE_KIND_REQUEST") | .message' "$work/inbox.json" | tail -1)
  rpc "$R" MessagingService/Reply "{\"requestMessageId\":\"$(jq -r .messageId <<<"$req")\",\"payload\":{\"text\":\"pong: $(jq -r .payload.text <<<"$req")\"},\"sessionTag\":\"$r_sess\"}" >/dev/null || return 1
  wait "$caller" || return 1
  reply=$(jq -c .reply "$work/request.json")
  jq -e --argjson e "$(expect request_reply '')" --arg req "$(jq -r .messageId <<<"$req")" \
    '.kind == "MESSAGE_KIND_REPLY" and .payload == $e.payload and .threadId == $e.thread_id and .parentMessageId == $req' <<<"$reply" >/dev/null
}

scenario_send_to_capability() {
  local cap nobody sent id
  cap=$(param send_to_capability .to); cap=${cap#capability:}
  nobody=$(param send_to_capability .nobody); nobody=${nobody#capability:}
  # waitFor processed answers once the receiver acks, so the call runs in the background while this runner acks.
  rpc "$S" MessagingService/Send "{\"to\":{\"capability\":\"$cap\"},\"payload\":$(param send_to_capability .payload),\"waitFor\":\"WAIT_FOR_PROCESSED\",\"messageId\":\"scn_${run}_cap\"}" >"$work/cap.json" &
  local caller=$!
  wait_for "$work/inbox.json" "select(.message.messageId == \"scn_${run}_cap\")" || return 1
  jq -e --argjson p "$(expect send_to_capability .received_payload)" "select(.message.messageId == \"scn_${run}_cap\") | .message.payload == \$p" "$work/inbox.json" >/dev/null || return 1
  ack "scn_${run}_cap"
  wait "$caller" || return 1
  jq -e --arg s "$(expect send_to_capability .status)" --arg r "$r_acct" --argjson to "$(expect send_to_capability .to_receiver)" \
    '(.status | ascii_downcase | sub("delivery_status_"; "")) == $s and (.toAccountId == $r) == $to' "$work/cap.json" >/dev/null || return 1
  sent=$(rpc "$S" MessagingService/Send "{\"to\":{\"capability\":\"$nobody\"},\"payload\":$(param send_to_capability .payload)}") && return 1
  # UNAVAILABLE is gRPC code 14.
  [[ $(expect send_to_capability .nobody_code) == UNAVAILABLE ]] || return 1
  jq -e --arg r "$(expect send_to_capability .nobody_reason)" '.code == 14 and any(.details[]; .reason == $r)' <<<"$sent" >/dev/null
}

scenario_resume_after_reconnect() {
  local ids=() n i
  n=$(param resume_after_reconnect .count)
  stop_inbox # the stream goes away; messages keep coming
  for i in $(seq 0 $((n - 1))); do
    ids+=("$(rpc "$S" MessagingService/Send "{\"to\":{\"accountId\":\"$r_acct\"},\"payload\":{\"text\":\"$(param resume_after_reconnect .payload_prefix)$i\"}}" | jq -r .messageId)")
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
  body="{\"to\":{\"username\":\"$(param idempotent_retry .to)\"},\"payload\":$(param idempotent_retry .payload),\"idempotencyKey\":\"$(param idempotent_retry .idempotency_key)\"}"
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
  id=$(rpc "$S" MessagingService/Send "{\"to\":{\"username\":\"$(param expiry .to_username)\"},\"payload\":{\"text\":\"too late\"},\"ttlMs\":\"$(param expiry .ttl_ms)\"}" | jq -r .messageId)
  sleep 1.5
  grpcurl -plaintext -max-time 2 -H "authorization: Bearer $S" -d "{\"since\":\"$since\",\"messageIds\":[\"$id\"]}" "$addr" \
    agentnet.v1.MessagingService/WatchReceipts 2>/dev/null >"$work/receipts.json"
  jq -se --arg s "$(expect expiry .final_status)" --arg c "$(expect expiry .code)" \
    '[.[] | .receipt // empty] | last | (.status | ascii_downcase | sub("delivery_status_"; "")) == $s and .code == $c' "$work/receipts.json" >/dev/null
}

scenario_rate_limit() {
  # Counts are ranges (see scenarios.json): the sends reach the server spread over time and each 200 ms refills a
  # token. One grpcurl process per send, all started in the background and then awaited: the burst at once.
  local i sends pids=()
  sleep "$(jq -n "$(param rate_limit .quiet_ms) / 1000")"
  sends=$(param rate_limit .sends)
  for i in $(seq 1 "$sends"); do
    rpc "$S" MessagingService/Send "{\"to\":{\"username\":\"$(param rate_limit .to)\"},\"payload\":{\"text\":\"burst $i\"}}" >"$work/burst.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  [[ -n "${AGENTNET_DEBUG:-}" ]] && cat "$work"/burst.* >&2
  # Each answer is a Send response (messageId) or a google.rpc.Status; every Status must be the typed rate limit:
  # code 8 (RESOURCE_EXHAUSTED), ErrorInfo reason, RetryInfo delay in (0, max] ms.
  [[ $(expect rate_limit .code) == RESOURCE_EXHAUSTED ]] || return 1
  cat "$work"/burst.* | jq -se --argjson sends "$sends" --argjson accepted_min "$(expect rate_limit .accepted_min)" \
    --argjson refused_min "$(expect rate_limit .refused_min)" \
    --arg r "$(expect rate_limit .reason)" --argjson max "$(expect rate_limit .retry_after_ms_max)" '
    def ms: sub("s$"; "") | tonumber * 1000;
    def typed: .code == 8 and any(.details[]?; .reason == $r)
      and any(.details[]?; .retryDelay and (.retryDelay | ms) > 0 and (.retryDelay | ms) <= $max);
    [.[] | select(.messageId)] as $accepted | [.[] | select(has("code"))] as $refused |
    length == $sends and ($accepted | length) >= $accepted_min and ($refused | length) >= $refused_min
      and ($accepted | length) + ($refused | length) == $sends and all($refused[]; typed)' >/dev/null
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
