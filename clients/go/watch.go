package agentnet

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
)

// watch is the loop under every long-lived server stream of the client (receipts, presence, chat events): it opens
// the stream, hands each item to handle until handle returns false, and reopens a stream that ended or failed
// transiently after a jittered backoff (reset by every item). open is called again for each attempt, so it can
// resume from what handle saw. Returns nil when handle stops or ctx ends; a refusal as *Error.
func watch[T any](ctx context.Context, open func(context.Context) (grpc.ServerStreamingClient[T], error), handle func(*T) bool) error {
	b := newBackoff(250*time.Millisecond, 10*time.Second)
	for {
		// Each stream gets its own context, cancelled when it is left, so a finished watch leaves no call open.
		sctx, cancel := context.WithCancel(ctx)
		stream, err := open(sctx)
		if err == nil {
			for {
				item, rerr := stream.Recv()
				if rerr != nil {
					err = rerr
					break
				}
				b.reset()
				if !handle(item) {
					cancel()
					return nil
				}
			}
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, io.EOF) {
			if err = FromError(err); !retryable(err) {
				return err
			}
		}
		if !sleep(ctx, b.next()) {
			return nil
		}
	}
}
