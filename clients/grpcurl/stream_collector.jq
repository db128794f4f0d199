# The streamed-answer collector (clients/ts/src/streaming.ts StreamCollector) for the grpcurl runner, in jq.
# Input: an array of Envelopes as grpcurl prints them (kind "MESSAGE_KIND_STREAM", payload.type / stream_id / seq).
# Output: one AssembledStream per stream_id, {stream_id, text, done, error, start}. Parts may arrive out of order
# or twice (redelivery), so parts are keyed by seq and only the contiguous prefix from seq 0 counts: a gap means a
# part is still on its way, and the stream is done only once its end/error part is inside that prefix.

def stream_parts:
  map(select(.kind == "MESSAGE_KIND_STREAM"
    and (.payload.stream_id | type) == "string" and (.payload.seq | type) == "number") | .payload);

def assemble:
  stream_parts | group_by(.stream_id) | map(
    (map({key: (.seq | tostring), value: .}) | from_entries) as $by
    | {stream_id: .[0].stream_id, text: "", done: false, error: null, start: null, seq: 0}
    | until(.done or $by[.seq | tostring] == null;
        $by[.seq | tostring] as $p
        | if $p.type == "stream_start" then .start = $p else . end
        | if $p.type == "stream_delta" and ($p.text | type) == "string" then .text += $p.text else . end
        | if $p.type == "stream_error" then .error = {code: ($p.code // "" | tostring), detail: ($p.detail // "" | tostring)} else . end
        | .done = ($p.type == "stream_end" or $p.type == "stream_error")
        | .seq += 1)
    | del(.seq));
