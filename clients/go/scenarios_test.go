package agentnet_test

// Runs ../scenarios.json against a live server: the repository's built command (`npm run build` at the root first)
// on a free port with an embedded store, or AGENTNET_TEST_URL + AGENTNET_TEST_ADMIN_PASSWORD.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

const adminPassword = "admin-password-for-go-tests"

type server struct {
	url, dataDir, password string
	port                   int
	cmd                    *exec.Cmd
	// Extra environment of the gateway ("KEY=value").
	env []string
}

func (s *server) start(t *testing.T) {
	if os.Getenv("AGENTNET_TEST_URL") != "" {
		return
	}
	root, _ := filepath.Abs("../..")
	main := filepath.Join(root, "dist", "src", "main.js")
	if _, err := os.Stat(main); err != nil {
		t.Fatalf("%s is missing: run `npm run build` in %s first", main, root)
	}
	path := filepath.Join(root, "node_modules", ".bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	node, err := exec.LookPath("node")
	for _, dir := range filepath.SplitList(path) { // the project's Node 24 first
		if p := filepath.Join(dir, "node"); fileExists(p) {
			node, err = p, nil
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(node, main, "serve")
	s.cmd.Dir = s.dataDir
	s.cmd.Env = []string{"PATH=" + path, "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", s.port), "AGENTNET_DATA_DIR=" + s.dataDir,
		"AGENTNET_ADMIN_PASSWORD=" + adminPassword, "LOG_LEVEL=warn", "AGENTNET_SWEEP_INTERVAL_MS=100"}
	s.cmd.Env = append(s.cmd.Env, s.env...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("agentnet did not start in 60 s")
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func newServer(t *testing.T, env ...string) *server {
	s := &server{password: adminPassword, env: env}
	if u := os.Getenv("AGENTNET_TEST_URL"); u != "" && len(env) == 0 {
		s.url, s.password = u, os.Getenv("AGENTNET_TEST_ADMIN_PASSWORD")
		return s
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.dataDir = t.TempDir()
	s.url = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// user creates a user through the admin and returns a client logged in as it.
func user(t *testing.T, ctx context.Context, s *server, name string) *agentnet.Client {
	c, err := agentnet.Dial(s.url, agentnet.Credentials{Token: token(t, ctx, s, name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// token creates a user through the admin and returns an access token for it.
func token(t *testing.T, ctx context.Context, s *server, name string) string {
	conn, err := grpc.NewClient(strings.TrimPrefix(s.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := pb.NewAuthServiceClient(conn)
	login, err := auth.Login(ctx, &pb.LoginRequest{Username: "admin", Password: s.password})
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := agentnet.Dial(s.url, agentnet.Credentials{Token: login.GetAccessToken()})
	defer admin.Close()
	password := name + "-password"
	if _, err := admin.Auth.CreateUser(ctx, &pb.CreateUserRequest{Username: name, Password: password}); err != nil {
		t.Fatal(err)
	}
	res, err := auth.Login(ctx, &pb.LoginRequest{Username: name, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetAccessToken()
}

type scenarioSpec struct {
	Agents map[string]struct {
		Username     string         `json:"username"`
		Capabilities []string       `json:"capabilities"`
		Metadata     map[string]any `json:"metadata"`
		Bio          string         `json:"bio"`
	} `json:"agents"`
	Scenarios []struct {
		ID     string         `json:"id"`
		Params map[string]any `json:"params"`
		Expect map[string]any `json:"expect"`
	} `json:"scenarios"`
}

func until(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestScenarios(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newServer(t)
	run := fmt.Sprintf("go%d", time.Now().UnixNano()%1_000_000)
	raw, err := os.ReadFile("../scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec scenarioSpec
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "{run}", run)), &spec); err != nil {
		t.Fatal(err)
	}
	senderClient := user(t, ctx, s, "scn_"+run+"_s")
	receiverClient := user(t, ctx, s, "scn_"+run+"_r")
	var sender, receiver *agentnet.Agent
	var mu sync.Mutex
	handled := map[string]int{}
	payloads := map[string]map[string]any{}
	num := func(v any) int { f, _ := v.(float64); return int(f) }
	str := func(v any) string { x, _ := v.(string); return x }

	impl := map[string]func(t *testing.T, p, e map[string]any){
		"register": func(t *testing.T, p, e map[string]any) {
			sa, ra := spec.Agents["sender"], spec.Agents["receiver"]
			if sender, err = senderClient.Register(ctx, agentnet.RegisterOptions{Username: sa.Username, Capabilities: sa.Capabilities, Metadata: sa.Metadata}); err != nil {
				t.Fatal(err)
			}
			if receiver, err = receiverClient.Register(ctx, agentnet.RegisterOptions{Username: ra.Username, Capabilities: ra.Capabilities, Metadata: ra.Metadata, Bio: ra.Bio}); err != nil {
				t.Fatal(err)
			}
			for _, a := range []*agentnet.Agent{sender, receiver} {
				if !strings.HasPrefix(a.AccountID(), str(e["account_id_prefix"])) || !strings.HasPrefix(a.SessionTag(), str(e["session_tag_prefix"])) {
					t.Fatalf("unexpected ids %s %s", a.AccountID(), a.SessionTag())
				}
				if a.HeartbeatInterval() != time.Duration(num(e["heartbeat_interval_seconds"]))*time.Second {
					t.Fatalf("heartbeat interval %s", a.HeartbeatInterval())
				}
			}
			if sender.Username() != str(e["sender_username"]) {
				t.Fatalf("username %s", sender.Username())
			}
			receiver.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
				mu.Lock()
				handled[m.Envelope.GetMessageId()]++
				payloads[m.Envelope.GetMessageId()] = m.Payload
				mu.Unlock()
				if strings.HasPrefix(m.Text(), "resume-") {
					time.Sleep(150 * time.Millisecond)
				}
				if m.IsRequest() {
					_, err := receiver.ReplyText(ctx, m, "pong: "+m.Text())
					return err
				}
				return nil
			})
			if err := receiver.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		},
		"discover": func(t *testing.T, p, e map[string]any) {
			online, err := sender.ListOnline(ctx, "")
			if err != nil || !containsUser(online, receiver.Username()) {
				t.Fatalf("receiver not online: %v", err)
			}
			found, err := sender.SearchAgents(ctx, str(p["query"]), "", false)
			if err != nil || len(found) != 1 || found[0].GetAccountId() != receiver.AccountID() {
				t.Fatalf("search: %v %v", found, err)
			}
			byCap, err := sender.SearchAgents(ctx, "", str(p["capability"]), true)
			if err != nil || !containsUser(byCap, receiver.Username()) {
				t.Fatalf("search by capability: %v", err)
			}
			profile, err := sender.GetProfile(ctx, str(p["profile"]))
			if err != nil {
				t.Fatal(err)
			}
			if profile.GetOnline() != e["online"].(bool) || profile.GetBio() != str(e["bio"]) || profile.GetMetadata().AsMap()["team"] != "scenarios" ||
				int(profile.GetSessionCount()) < num(e["min_sessions"]) || strings.Join(profile.GetCapabilities(), ",") != "scenario.echo" {
				t.Fatalf("profile %v", profile)
			}
		},
		"send_with_receipts": func(t *testing.T, p, e map[string]any) {
			id := "scn_" + run + "_receipts"
			var seen []string
			live := make(chan struct{})
			done := make(chan error, 1)
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			go func() {
				done <- sender.WatchReceipts(wctx, &pb.WatchReceiptsRequest{AccountIds: []string{sender.AccountID()}}, func() { close(live) }, func(r *pb.Receipt) bool {
					if r.GetMessageId() == id {
						seen = append(seen, statusName(r.GetStatus()))
					}
					return len(seen) < 3
				})
			}()
			<-live
			res, err := sender.Send(ctx, str(p["to"]), p["payload"].(map[string]any), agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED, MessageID: id})
			if err != nil || statusName(res.GetStatus()) != str(e["status"]) {
				t.Fatalf("send: %v %v", res, err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no three receipts")
			}
			if fmt.Sprint(seen) != fmt.Sprint(e["receipts"]) {
				t.Fatalf("receipts %v", seen)
			}
		},
		"request_reply": func(t *testing.T, p, e map[string]any) {
			reply, err := sender.Request(ctx, str(p["to"]), p["payload"].(map[string]any), agentnet.RequestOptions{ThreadID: str(p["thread_id"]), Timeout: time.Duration(num(p["timeout_ms"])) * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if reply.Envelope.GetKind() != pb.MessageKind_MESSAGE_KIND_REPLY || reply.Text() != e["payload"].(map[string]any)["text"] || reply.Envelope.GetThreadId() != str(e["thread_id"]) {
				t.Fatalf("reply %v", reply.Envelope)
			}
			requests, _, err := sender.SearchMessages(ctx, &pb.SearchMessagesRequest{ThreadId: reply.Envelope.GetThreadId(), Kind: pb.MessageKind_MESSAGE_KIND_REQUEST})
			if err != nil || len(requests) != 1 || requests[0].GetMessageId() != reply.Envelope.GetParentMessageId() {
				t.Fatalf("parent: %v %v", requests, err)
			}
		},
		"send_to_capability": func(t *testing.T, p, e map[string]any) {
			res, err := sender.Send(ctx, str(p["to"]), p["payload"].(map[string]any), agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED})
			if err != nil || statusName(res.GetStatus()) != str(e["status"]) {
				t.Fatalf("send to capability: %v %v", res, err)
			}
			if (res.GetToAccountId() == receiver.AccountID()) != e["to_receiver"].(bool) {
				t.Fatalf("routed to %s, not the receiver %s", res.GetToAccountId(), receiver.AccountID())
			}
			mu.Lock()
			got := payloads[res.GetMessageId()]
			mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(e["received_payload"]) {
				t.Fatalf("the receiver got %v", got)
			}
			_, err = sender.Send(ctx, str(p["nobody"]), p["payload"].(map[string]any), agentnet.SendOptions{})
			var ae *agentnet.Error
			if !errors.As(err, &ae) || codeName(ae.Code) != str(e["nobody_code"]) || ae.Reason != str(e["nobody_reason"]) || !agentnet.IsNoResponders(err) {
				t.Fatalf("want UNAVAILABLE no_responders, got %v", err)
			}
		},
		"resume_after_reconnect": func(t *testing.T, p, e map[string]any) {
			if s.cmd == nil {
				t.Skip("cannot restart an external server")
			}
			var ids []string
			for i := 0; i < num(p["count"]); i++ {
				res, err := sender.SendText(ctx, receiver.Username(), fmt.Sprintf("%s%d", str(p["payload_prefix"]), i), agentnet.SendOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, res.GetMessageId())
			}
			count := func(id string) int { mu.Lock(); defer mu.Unlock(); return handled[id] }
			until(t, 30*time.Second, "the first message to be handled", func() bool { return count(ids[0]) > 0 })
			s.stop() // the gateway goes away mid-work
			time.Sleep(400 * time.Millisecond)
			s.start(t)
			until(t, 30*time.Second, "every message to be handled", func() bool {
				for _, id := range ids {
					if count(id) == 0 {
						return false
					}
				}
				return true
			})
			for _, id := range ids {
				if count(id) != 1 {
					t.Fatalf("%s handled %d times", id, count(id))
				}
			}
			until(t, 30*time.Second, "every message to be processed", func() bool {
				msgs, _, err := sender.SearchMessages(ctx, &pb.SearchMessagesRequest{FromAccountId: sender.AccountID(), ToAccountId: receiver.AccountID(), PageSize: 100})
				if err != nil {
					return false
				}
				status := map[string]pb.DeliveryStatus{}
				for _, m := range msgs {
					status[m.GetMessageId()] = m.GetStatus()
				}
				for _, id := range ids {
					if status[id] != pb.DeliveryStatus_DELIVERY_STATUS_PROCESSED {
						return false
					}
				}
				return true
			})
		},
		"idempotent_retry": func(t *testing.T, p, e map[string]any) {
			o := agentnet.SendOptions{IdempotencyKey: str(p["idempotency_key"])}
			first, err := sender.Send(ctx, str(p["to"]), p["payload"].(map[string]any), o)
			if err != nil {
				t.Fatal(err)
			}
			again, err := sender.Send(ctx, str(p["to"]), p["payload"].(map[string]any), o)
			if err != nil || again.GetMessageId() != first.GetMessageId() || !again.GetDuplicate() {
				t.Fatalf("repeat: %v %v", again, err)
			}
			until(t, 30*time.Second, "the message to be handled", func() bool { mu.Lock(); defer mu.Unlock(); return handled[first.GetMessageId()] > 0 })
			time.Sleep(300 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			if handled[first.GetMessageId()] != num(e["handled"]) {
				t.Fatalf("handled %d times", handled[first.GetMessageId()])
			}
		},
		"expiry": func(t *testing.T, p, e map[string]any) {
			offline, err := receiverClient.Register(ctx, agentnet.RegisterOptions{Username: str(p["to_username"])})
			if err != nil {
				t.Fatal(err)
			}
			_ = offline.Close(ctx)
			since := time.Now().Add(-time.Second)
			sent, err := sender.SendText(ctx, "@"+str(p["to_username"]), "too late", agentnet.SendOptions{TTL: time.Duration(num(p["ttl_ms"])) * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			wctx, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			var last *pb.Receipt
			_ = sender.WatchReceipts(wctx, &pb.WatchReceiptsRequest{MessageIds: []string{sent.GetMessageId()}, Since: agentnet.Since(since)}, nil, func(r *pb.Receipt) bool {
				last = r
				return statusName(r.GetStatus()) != str(e["final_status"])
			})
			if last == nil || statusName(last.GetStatus()) != str(e["final_status"]) || last.GetCode() != str(e["code"]) {
				t.Fatalf("last receipt %v", last)
			}
		},
		"rate_limit": func(t *testing.T, p, e map[string]any) {
			// Counts are ranges (see scenarios.json): the sends reach the server spread over time and each 200 ms refills a token.
			time.Sleep(time.Duration(num(p["quiet_ms"])) * time.Millisecond)
			var wg sync.WaitGroup
			errs := make([]error, num(p["sends"]))
			zero := 0
			for i := range errs {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					_, errs[i] = sender.SendText(ctx, str(p["to"]), fmt.Sprintf("burst %d", i), agentnet.SendOptions{Retries: &zero})
				}(i)
			}
			wg.Wait()
			var refused []error
			for _, err := range errs {
				if err != nil {
					refused = append(refused, err)
				}
			}
			accepted := len(errs) - len(refused)
			if accepted < num(e["accepted_min"]) || len(refused) < num(e["refused_min"]) || accepted+len(refused) != num(p["sends"]) {
				t.Fatalf("%d accepted, %d refused of %d: %v", accepted, len(refused), len(errs), refused)
			}
			maxDelay := time.Duration(num(e["retry_after_ms_max"])) * time.Millisecond
			for _, err := range refused {
				var ae *agentnet.Error
				if !errors.As(err, &ae) || ae.Reason != str(e["reason"]) || codeName(ae.Code) != str(e["code"]) ||
					ae.RetryAfter <= 0 || ae.RetryAfter > maxDelay || !agentnet.IsRateLimited(err) {
					t.Fatalf("not a typed rate limit: %#v", err)
				}
			}
		},
	}

	for _, sc := range spec.Scenarios {
		run, ok := impl[sc.ID]
		if !ok {
			t.Fatalf("scenario %s is not implemented", sc.ID)
		}
		if !t.Run(sc.ID, func(t *testing.T) { run(t, sc.Params, sc.Expect) }) {
			return // later scenarios build on earlier ones
		}
	}
	_ = receiver.Close(ctx)
	_ = sender.Close(ctx)
}

func containsUser(ps []*pb.Profile, username string) bool {
	for _, p := range ps {
		if p.GetUsername() == username {
			return true
		}
	}
	return false
}

// codeName is a gRPC code as scenarios.json spells it: "Unavailable" → "UNAVAILABLE", "ResourceExhausted" → "RESOURCE_EXHAUSTED".
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

func statusName(s pb.DeliveryStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DELIVERY_STATUS_"))
}
