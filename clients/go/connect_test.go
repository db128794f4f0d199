package agentnet_test

// Connecting and retrying against a live gateway, through a real TCP proxy that slows or cuts connections: a slow
// handshake is waited for (bounded, with a typed error), many agents register at once, and a send retried after a
// transient failure carries the message id it was first sent with, so the server stores it once.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	agentnet "agentnet.dev/clients/go"
)

var sdkMessageID = regexp.MustCompile(`m_[0-9a-f]{32}`)

// proxy forwards TCP to the gateway and can hold back the server's first bytes (a slow HTTP/2 handshake) or cut a
// connection when a request, or its answer, carrying an SDK message id goes by (gRPC messages are not compressed).
type proxy struct {
	upstream       string
	handshakeDelay time.Duration
	ln             net.Listener

	mu          sync.Mutex
	connections int
	sent        []*bytes.Buffer // client → server bytes, per connection
	cutRequest  bool
	cutAnswer   bool
	cutIDs      []string
}

func newProxy(t *testing.T, upstream string, handshakeDelay time.Duration) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{upstream: upstream, handshakeDelay: handshakeDelay, ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	sent := &bytes.Buffer{}
	p.mu.Lock()
	p.connections++
	p.sent = append(p.sent, sent)
	p.mu.Unlock()
	cut := func() { client.Close(); server.Close() }
	var answerID []byte
	var answerMu sync.Mutex
	go func() { // client → server
		defer cut()
		buf := make([]byte, 65536)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				p.mu.Lock()
				sent.Write(buf[:n])
				b := sent.Bytes()
				recent := b[max(0, len(b)-n-256):]
				id := sdkMessageID.Find(recent)
				if id != nil && p.cutRequest {
					p.cutRequest = false
					p.cutIDs = append(p.cutIDs, string(id))
					p.mu.Unlock()
					return
				}
				if id != nil && p.cutAnswer {
					p.cutAnswer = false
					answerMu.Lock()
					answerID = append([]byte(nil), id...)
					answerMu.Unlock()
				}
				p.mu.Unlock()
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer cut()
	buf := make([]byte, 65536)
	first := true
	for { // server → client
		n, err := server.Read(buf)
		if n > 0 {
			if first && p.handshakeDelay > 0 {
				time.Sleep(p.handshakeDelay) // the SETTINGS frame arrives late, as from a busy gateway
			}
			first = false
			answerMu.Lock()
			id := answerID
			answerMu.Unlock()
			if id != nil && bytes.Contains(buf[:n], id) {
				p.mu.Lock()
				p.cutIDs = append(p.cutIDs, string(id))
				p.mu.Unlock()
				return
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF or a reset: either way the connection is done
			return
		}
	}
}

func (p *proxy) idsSentOn(conn int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range sdkMessageID.FindAll(p.sent[conn].Bytes(), -1) {
		out = append(out, string(m))
	}
	return out
}

func TestConnectAndRetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newServer(t)
	run := fmt.Sprintf("goc%d", time.Now().UnixNano()%1_000_000)
	upstream := strings.TrimPrefix(s.url, "http://")
	senderToken := token(t, ctx, s, run+"_a")
	receiverClient := user(t, ctx, s, run+"_b")
	var mu sync.Mutex
	handled := map[string]int{}
	receiver, err := receiverClient.Register(ctx, agentnet.RegisterOptions{Username: run + "_r"})
	if err != nil {
		t.Fatal(err)
	}
	receiver.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
		mu.Lock()
		handled[m.Envelope.GetMessageId()]++
		mu.Unlock()
		return nil
	})
	if err := receiver.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(id string) int { mu.Lock(); defer mu.Unlock(); return handled[id] }
	dial := func(t *testing.T, url string, opts ...agentnet.Option) *agentnet.Client {
		c, err := agentnet.Dial(url, agentnet.Credentials{Token: senderToken}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	t.Run("fifty agents register at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 50)
		for i := range errs {
			c := dial(t, s.url) // one connection each, as 50 processes would have: 50 handshakes at once
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = c.Register(ctx, agentnet.RegisterOptions{Username: fmt.Sprintf("%s_many_%d", run, i)})
			}(i)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a slow handshake is waited for", func(t *testing.T) {
		p := newProxy(t, upstream, 600*time.Millisecond)
		if _, err := dial(t, p.url()).Register(ctx, agentnet.RegisterOptions{Username: run + "_slow"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("no connection within the bound is a typed error", func(t *testing.T) {
		p := newProxy(t, upstream, 30*time.Second)
		_, err := dial(t, p.url(), agentnet.WithConnectTimeout(500*time.Millisecond)).Register(ctx, agentnet.RegisterOptions{Username: run + "_never"})
		var e *agentnet.Error
		if !errors.As(err, &e) || e.Code != codes.Unavailable || e.Reason != "connect_timeout" {
			t.Fatalf("want Unavailable connect_timeout, got %v", err)
		}
	})

	t.Run("a send cut before the server is retried with the same message id", func(t *testing.T) {
		p := newProxy(t, upstream, 0)
		sender, err := dial(t, p.url()).Register(ctx, agentnet.RegisterOptions{Username: run + "_s1"})
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		p.cutRequest = true
		p.mu.Unlock()
		sent, err := sender.SendText(ctx, receiver.Username(), "through a cut connection", agentnet.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		cutIDs, connections := p.cutIDs, p.connections
		p.mu.Unlock()
		if len(cutIDs) != 1 || cutIDs[0] != sent.GetMessageId() || sent.GetDuplicate() || connections < 2 {
			t.Fatalf("cut %v, sent %s (duplicate %v), %d connections", cutIDs, sent.GetMessageId(), sent.GetDuplicate(), connections)
		}
		if ids := p.idsSentOn(connections - 1); len(ids) == 0 || ids[len(ids)-1] != sent.GetMessageId() {
			t.Fatalf("the retry sent %v", ids)
		}
		until(t, 10*time.Second, "the message to be handled", func() bool { return count(sent.GetMessageId()) > 0 })
		time.Sleep(300 * time.Millisecond)
		if n := count(sent.GetMessageId()); n != 1 {
			t.Fatalf("handled %d times", n)
		}
	})

	t.Run("a send whose answer is lost is retried and stored once", func(t *testing.T) {
		p := newProxy(t, upstream, 0)
		sender, err := dial(t, p.url()).Register(ctx, agentnet.RegisterOptions{Username: run + "_s2"})
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		p.cutAnswer = true
		p.mu.Unlock()
		sent, err := sender.SendText(ctx, receiver.Username(), "answer lost", agentnet.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		cutIDs := p.cutIDs
		p.mu.Unlock()
		// The server had stored the first attempt: the retry is recognised as the same message, not a second one.
		if len(cutIDs) != 1 || cutIDs[0] != sent.GetMessageId() || !sent.GetDuplicate() {
			t.Fatalf("cut %v, sent %s (duplicate %v)", cutIDs, sent.GetMessageId(), sent.GetDuplicate())
		}
		until(t, 10*time.Second, "the message to be handled", func() bool { return count(sent.GetMessageId()) > 0 })
		time.Sleep(300 * time.Millisecond)
		if n := count(sent.GetMessageId()); n != 1 {
			t.Fatalf("handled %d times", n)
		}
	})
}
