// Package agentnet is a thin Go client for agentnet: the generated gRPC code (gen/agentnet/v1) plus the verbs agents
// use — register with heartbeats, a guarded message handler with acks and reconnect, send, request/reply, streamed
// answers, threads and history, blobs, discovery, receipts and presence — and the user-level chat sessions and voice.
//
//	c, _ := agentnet.Dial("http://localhost:8000", agentnet.Credentials{APIKey: os.Getenv("AGENTNET_API_KEY")})
//	agent, _ := c.Register(ctx, agentnet.RegisterOptions{Username: "weather_bot", Capabilities: []string{"weather"}})
//	agent.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
//		if m.IsRequest() { _, err := agent.ReplyText(ctx, m, "sunny"); return err }
//		return nil
//	})
package agentnet

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// Credentials: an access token from Login, or an API key secret.
type Credentials struct {
	Token  string
	APIKey string
}

type bearer struct {
	value  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if b.value == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + b.value}, nil
}
func (b bearer) RequireTransportSecurity() bool { return false }

const maxMessageBytes = 32 << 20

const (
	// DefaultConnectTimeout bounds one connection attempt (TCP, TLS, HTTP/2 SETTINGS) and Register's wait for the
	// connection: gRPC's own default, long enough for a gateway busy with many handshakes.
	DefaultConnectTimeout = 20 * time.Second
	// reconnectWait bounds how long a retried call without a deadline waits for the connection to come back.
	reconnectWait = 10 * time.Second
	// registerRetries: attempts after the first for Register, to ride out a busy or restarting gateway.
	registerRetries = 4
)

// Option tunes Dial.
type Option func(*dialConfig)

type dialConfig struct {
	connectTimeout time.Duration
	extra          []grpc.DialOption
}

// WithConnectTimeout sets how long a connection attempt, and Register's wait for one, may take (default 20 s).
func WithConnectTimeout(d time.Duration) Option { return func(c *dialConfig) { c.connectTimeout = d } }

// WithDialOptions adds grpc-go dial options (after the client's own).
func WithDialOptions(o ...grpc.DialOption) Option {
	return func(c *dialConfig) { c.extra = append(c.extra, o...) }
}

type waitForReadyKey struct{}

// waitForReady makes a call marked by retry wait for the connection (bounded) instead of failing fast while grpc-go
// backs off between connection attempts after a failure.
func waitForReady(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if ctx.Value(waitForReadyKey{}) == nil {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, reconnectWait)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, append(opts, grpc.WaitForReady(true))...)
}

// Client holds one connection and the generated service clients.
type Client struct {
	conn           *grpc.ClientConn
	connectTimeout time.Duration
	Auth           pb.AuthServiceClient
	Registry       pb.RegistryServiceClient
	Messaging      pb.MessagingServiceClient
	Sessions       pb.SessionServiceClient
	Tokens         pb.TokenServiceClient
	Voice          pb.VoiceAgentServiceClient

	mu     sync.Mutex
	agents map[*Agent]struct{}
}

// Dial connects to a gateway URL ("http://host:port" for plaintext HTTP/2, "https://…" for TLS). The connection is
// made lazily, on the first call.
func Dial(rawURL string, creds Credentials, opts ...Option) (*Client, error) {
	cfg := dialConfig{connectTimeout: DefaultConnectTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("agentnet: bad URL %q", rawURL)
	}
	transport := insecure.NewCredentials()
	if u.Scheme == "https" {
		transport = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	secret := creds.Token
	if secret == "" {
		secret = creds.APIKey
	}
	dialOpts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithPerRPCCredentials(bearer{value: secret}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
		grpc.WithChainUnaryInterceptor(waitForReady, propagateTrace),
		// Reconnect quickly after a gateway restart (grpc-go's first wait is a full second), but give every attempt
		// the whole connect timeout to finish its handshake.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: cfg.connectTimeout,
		}),
	}, cfg.extra...)
	conn, err := grpc.NewClient(u.Host, dialOpts...)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn:           conn,
		connectTimeout: cfg.connectTimeout,
		Auth:           pb.NewAuthServiceClient(conn),
		Registry:       pb.NewRegistryServiceClient(conn),
		Messaging:      pb.NewMessagingServiceClient(conn),
		Sessions:       pb.NewSessionServiceClient(conn),
		Tokens:         pb.NewTokenServiceClient(conn),
		Voice:          pb.NewVoiceAgentServiceClient(conn),
		agents:         map[*Agent]struct{}{},
	}, nil
}

// WaitReady waits until the connection is up, at most the connect timeout (or ctx); otherwise it returns an *Error
// with code Unavailable and reason "connect_timeout".
func (c *Client) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.connectTimeout)
	defer cancel()
	for {
		state := c.conn.GetState()
		switch state {
		case connectivity.Ready:
			return nil
		case connectivity.Idle:
			c.conn.Connect()
		case connectivity.Shutdown:
			return &Error{Code: codes.Canceled, Reason: "closed", Message: "agentnet: client is closed"}
		}
		if !c.conn.WaitForStateChange(ctx, state) {
			return &Error{Code: codes.Unavailable, Reason: "connect_timeout",
				Message: fmt.Sprintf("agentnet: could not connect to %s within %s", c.conn.Target(), c.connectTimeout)}
		}
	}
}

// Close deregisters the agents registered through this client, then closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	agents := make([]*Agent, 0, len(c.agents))
	for a := range c.agents {
		agents = append(agents, a)
	}
	c.mu.Unlock()
	for _, a := range agents {
		_ = a.Close(context.Background())
	}
	return c.conn.Close()
}

// As returns the sending verbs acting as one of the caller's accounts (account id or @username). With "" the
// server acts as the caller's only account.
func (c *Client) As(ctx context.Context, account string) (*Actor, error) {
	id, err := c.ResolveAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	return &Actor{client: c, accountID: func() string { return id }, sessionTag: func() string { return "" }}, nil
}

// ResolveAccount returns the account id of "acct_…" / "account:acct_…" (as is) or of a username ("@name" or
// "name"); an unknown username is NOT_FOUND `account_not_found`.
func (c *Client) ResolveAccount(ctx context.Context, target string) (string, error) {
	target = strings.TrimPrefix(strings.TrimSpace(target), "account:")
	if target == "" || strings.HasPrefix(target, "acct_") {
		return target, nil
	}
	username := strings.TrimPrefix(target, "@")
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ResolveAccountResponse, error) {
		return c.Registry.ResolveAccount(ctx, &pb.ResolveAccountRequest{Username: username})
	})
	if err != nil {
		return "", err
	}
	return res.GetAccountId(), nil
}

// retry runs a call, retrying transient failures (retryable) up to `retries` times with jittered backoff; retries
// wait for the connection (bounded). Safe because calls that send carry a message id chosen before the first
// attempt, so the server recognises a retry as the same message; reads can be repeated.
func retry[T any](ctx context.Context, retries int, call func(context.Context) (T, error)) (T, error) {
	b := newBackoff(100*time.Millisecond, 2*time.Second)
	for attempt := 0; ; attempt++ {
		actx := ctx
		if attempt > 0 {
			actx = context.WithValue(ctx, waitForReadyKey{}, true)
		}
		res, err := call(actx)
		if err == nil {
			return res, nil
		}
		err = FromError(err)
		if attempt >= retries || !retryable(err) {
			var zero T
			return zero, err
		}
		if !sleep(ctx, b.next()) {
			var zero T
			return zero, ctx.Err()
		}
	}
}

// backoff: exponential with full jitter, so clients reconnecting after one gateway restart spread out.
type backoff struct {
	initial, max time.Duration
	attempt      int
}

func newBackoff(initial, max time.Duration) *backoff { return &backoff{initial: initial, max: max} }

func (b *backoff) next() time.Duration {
	ceiling := b.initial << min(b.attempt, 30)
	if ceiling > b.max || ceiling <= 0 {
		ceiling = b.max
	}
	b.attempt++
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

func (b *backoff) reset() { b.attempt = 0 }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
