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
	// Closed when the gateway process has exited (its Wait returned).
	exited chan struct{}
	// Extra environment of the gateway ("KEY=value").
	env []string

	mu         sync.Mutex
	adminToken string
}

func (s *server) start(t *testing.T) {
	t.Helper()
	if err := s.launch(); err != nil {
		t.Fatal(err)
	}
}

// launch starts the built gateway (nothing for an external server) and waits until it accepts connections.
func (s *server) launch() error {
	if s.url != "" && s.cmd == nil && s.port == 0 {
		return nil // AGENTNET_TEST_URL
	}
	root, _ := filepath.Abs("../..")
	main := filepath.Join(root, "dist", "src", "main.js")
	if _, err := os.Stat(main); err != nil {
		return fmt.Errorf("%s is missing: run `npm run build` in %s first", main, root)
	}
	node, path, err := nodeBinary()
	if err != nil {
		return err
	}
	s.cmd = exec.Command(node, main, "serve")
	s.cmd.Dir = s.dataDir
	s.cmd.Env = []string{"PATH=" + path, "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", s.port), "AGENTNET_DATA_DIR=" + s.dataDir,
		"AGENTNET_ADMIN_PASSWORD=" + adminPassword, "LOG_LEVEL=warn", "AGENTNET_SWEEP_INTERVAL_MS=100"}
	s.cmd.Env = append(s.cmd.Env, s.env...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Its output goes to a file, so that a gateway that cannot start says why.
	logPath := filepath.Join(s.dataDir, "gateway.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return err
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			// Exited before listening: fail now, with what it said.
			out, _ := os.ReadFile(logPath)
			tail := strings.TrimSpace(string(out))
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			return fmt.Errorf("agentnet exited before it listened (%s): %s", s.cmd.ProcessState, tail)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return errors.New("agentnet did not start in 60 s")
}

// nodeBinary is the project's Node 24 (node_modules/.bin first on PATH), and that PATH.
func nodeBinary() (node, path string, err error) {
	root, _ := filepath.Abs("../..")
	path = filepath.Join(root, "node_modules", ".bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, dir := range filepath.SplitList(path) {
		if p := filepath.Join(dir, "node"); fileExists(p) {
			return p, path, nil
		}
	}
	node, err = exec.LookPath("node")
	return node, path, err
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// newServer starts a gateway of the test's own (stopped at its end) with env added to its environment; without env
// it is AGENTNET_TEST_URL's server when that is set.
func newServer(t *testing.T, env ...string) *server {
	s := &server{password: adminPassword, env: env}
	if u := os.Getenv("AGENTNET_TEST_URL"); u != "" && len(env) == 0 {
		s.url, s.password = u, os.Getenv("AGENTNET_TEST_ADMIN_PASSWORD")
		return s
	}
	s.port = freePort(t)
	s.dataDir = t.TempDir()
	s.url = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sharedGateway is one gateway for the tests that need nothing of their own (no restarts, default settings):
// started by the first of them, stopped by TestMain.
var sharedGateway struct {
	once sync.Once
	s    *server
	err  error
}

// sharedServer returns the shared gateway (AGENTNET_TEST_URL's server when that is set). Tests on it use users
// of their own, so they do not see each other's accounts or limits.
func sharedServer(t *testing.T) *server {
	t.Helper()
	sharedGateway.once.Do(func() {
		if u := os.Getenv("AGENTNET_TEST_URL"); u != "" {
			sharedGateway.s = &server{url: u, password: os.Getenv("AGENTNET_TEST_ADMIN_PASSWORD")}
			return
		}
		dir, err := os.MkdirTemp("", "agentnet-go-shared-")
		if err != nil {
			sharedGateway.err = err
			return
		}
		s := &server{password: adminPassword, dataDir: dir, port: freePort(t)}
		s.url = fmt.Sprintf("http://127.0.0.1:%d", s.port)
		sharedGateway.s, sharedGateway.err = s, s.launch()
	})
	if sharedGateway.err != nil {
		t.Fatal(sharedGateway.err)
	}
	return sharedGateway.s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if s := sharedGateway.s; s != nil && s.cmd != nil {
		s.stop()
		_ = os.RemoveAll(s.dataDir)
	}
	os.Exit(code)
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
	// One admin login per server: logins are rate limited per user (10 a minute by default).
	s.mu.Lock()
	if s.adminToken == "" {
		login, err := auth.Login(ctx, &pb.LoginRequest{Username: "admin", Password: s.password})
		if err != nil {
			s.mu.Unlock()
			t.Fatal(err)
		}
		s.adminToken = login.GetAccessToken()
	}
	adminToken := s.adminToken
	s.mu.Unlock()
	admin, _ := agentnet.Dial(s.url, agentnet.Credentials{Token: adminToken})
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
				if back, _ := m.Payload["stream_back"].(bool); back {
					return streamWords(ctx, receiver.StreamReply(m), m.Text())
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
		"threads_paging": func(t *testing.T, p, e map[string]any) {
			time.Sleep(time.Duration(num(p["quiet_ms"])) * time.Millisecond)
			thread := sender.Thread(str(p["thread_id"]))
			for i := 0; i < num(p["count"]); i++ {
				res, err := thread.SendText(ctx, str(p["to"]), fmt.Sprintf("%s%d", str(p["text_prefix"]), i), agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED})
				if err != nil || statusName(res.GetStatus()) != "processed" {
					t.Fatalf("send %d: %v %v", i, res, err)
				}
			}
			var sizes []int
			var texts []string
			for token, pages := "", 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("paging does not end: %v", sizes)
				}
				page, next, err := thread.Messages(ctx, agentnet.PageOptions{PageSize: int32(num(p["page_size"])), PageToken: token})
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(page))
				for _, m := range page {
					texts = append(texts, str(m.GetPayload().AsMap()["text"]))
				}
				if token = next; token == "" {
					break
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(e["page_sizes"]) || fmt.Sprint(texts) != fmt.Sprint(e["texts"]) {
				t.Fatalf("pages %v: %v", sizes, texts)
			}
			status, err := thread.Status(ctx)
			if err != nil || int(status.GetMessageCount()) != num(e["message_count"]) || int(status.GetPendingMessages()) != num(e["pending_messages"]) {
				t.Fatalf("status %v %v", status, err)
			}
			threads, _, err := sender.ListThreads(ctx, agentnet.ListThreadsOptions{Participant: sender.AccountID()})
			if err != nil || len(threads) == 0 || (threads[0].GetThreadId() == thread.ID) != e["listed_first"].(bool) {
				t.Fatalf("threads %v %v", threads, err)
			}
		},
		"request_to_capability": func(t *testing.T, p, e map[string]any) {
			reply, err := sender.Request(ctx, str(p["to"]), p["payload"].(map[string]any), agentnet.RequestOptions{Timeout: time.Duration(num(p["timeout_ms"])) * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if reply.Kind() != str(e["kind"]) || reply.Text() != e["payload"].(map[string]any)["text"] ||
				(reply.Envelope.GetFromAccountId() == receiver.AccountID()) != e["from_receiver"].(bool) {
				t.Fatalf("reply %v", reply.Envelope)
			}
		},
		"streamed_answer": func(t *testing.T, p, e map[string]any) {
			// The sender's inbox: its handler feeds the collector (concurrently, as the guardrails allow).
			var collector agentnet.StreamCollector
			var partsMu sync.Mutex
			var parts []*pb.Envelope
			done := make(chan *agentnet.AssembledStream, 1)
			sender.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
				partsMu.Lock()
				parts = append(parts, m.Envelope) // before Add: once a stream is done, all its parts are here
				partsMu.Unlock()
				if st, ok := collector.Add(m); ok && st.Done {
					select {
					case done <- st:
					default:
					}
				}
				return nil
			})
			if err := sender.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			sent, err := sender.Send(ctx, str(p["to"]), p["payload"].(map[string]any), agentnet.SendOptions{ThreadID: str(p["thread_id"])})
			if err != nil {
				t.Fatal(err)
			}
			var st *agentnet.AssembledStream
			select {
			case st = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the streamed answer did not complete")
			}
			if st.Text != str(e["text"]) || st.Parts != num(e["parts"]) || (e["error"] == nil) != (st.Error == nil) || st.Start == nil {
				t.Fatalf("assembled %+v", st)
			}
			if again, ok := collector.State(st.StreamID); !ok || again.Text != st.Text || !again.Done {
				t.Fatalf("state %+v", again)
			}
			partsMu.Lock()
			defer partsMu.Unlock()
			if len(parts) != num(e["parts"]) {
				t.Fatalf("%d parts arrived", len(parts))
			}
			for _, env := range parts {
				m := &agentnet.Message{Envelope: env}
				if m.Kind() != str(e["kind"]) || env.GetThreadId() != str(e["thread_id"]) ||
					(env.GetParentMessageId() == sent.GetMessageId()) != e["parent_is_message"].(bool) || env.GetFromAccountId() != receiver.AccountID() {
					t.Fatalf("part %v", env)
				}
			}
		},
		"blobs": func(t *testing.T, p, e map[string]any) {
			blob, err := sender.PutBlob(ctx, []byte(str(p["content"])), agentnet.PutBlobOptions{MimeType: str(p["mime_type"]), Filename: str(p["filename"])})
			if err != nil {
				t.Fatal(err)
			}
			head, err := sender.HeadBlob(ctx, blob.GetBlobId())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []*pb.BlobInfo{blob, head} {
				if int(b.GetSizeBytes()) != num(e["size_bytes"]) || b.GetMimeType() != str(e["mime_type"]) || b.GetFilename() != str(e["filename"]) ||
					len(b.GetSha256()) != num(e["sha256_hex_length"]) || b.GetSha256() != blob.GetSha256() {
					t.Fatalf("blob %v", b)
				}
			}
			sent, err := sender.SendBlobRef(ctx, str(p["to"]), blob, nil, agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED})
			if err != nil || statusName(sent.GetStatus()) != "processed" {
				t.Fatalf("send blob ref: %v %v", sent, err)
			}
			mu.Lock()
			id, ok := agentnet.BlobRefID(payloads[sent.GetMessageId()])
			mu.Unlock()
			if !ok || id != blob.GetBlobId() {
				t.Fatalf("the receiver got no blob_ref for %s", blob.GetBlobId())
			}
			text, err := receiver.GetBlobText(ctx, id)
			if err != nil || text != str(e["received_text"]) {
				t.Fatalf("receiver read %q %v", text, err)
			}
			deleted, err := sender.DeleteBlob(ctx, blob.GetBlobId())
			if err != nil || deleted != e["deleted"].(bool) {
				t.Fatalf("delete: %v %v", deleted, err)
			}
			deleted, err = sender.DeleteBlob(ctx, blob.GetBlobId())
			if err != nil || deleted != e["deleted_again"].(bool) {
				t.Fatalf("delete again: %v %v", deleted, err)
			}
			_, _, err = receiver.GetBlob(ctx, id)
			var ae *agentnet.Error
			if !errors.As(err, &ae) || codeName(ae.Code) != str(e["after_delete_code"]) || ae.Reason != str(e["after_delete_reason"]) || !agentnet.IsNotFound(err) {
				t.Fatalf("read after delete: %v", err)
			}
		},
		"chat_session_echo": func(t *testing.T, p, e map[string]any) {
			name := str(p["agent"])
			session, err := senderClient.CreateChatSession(ctx, agentnet.CreateChatSessionOptions{Agents: map[string]*pb.AgentConfig{name: {Provider: str(p["provider"])}}})
			if err != nil {
				t.Fatal(err)
			}
			id := session.GetSessionId()
			first, err := senderClient.SendChatMessage(ctx, id, str(p["content"]), agentnet.SendChatMessageOptions{WaitForResponse: true})
			if err != nil {
				t.Fatal(err)
			}
			response := first.GetResponse()
			if response.GetSender() != str(e["response_sender"]) || !strings.Contains(response.GetContent(), str(e["response_contains"])) {
				t.Fatalf("response %v", response)
			}
			got, err := senderClient.GetChatSession(ctx, id)
			if err != nil || sessionStatusName(got.GetStatus()) != str(e["status"]) {
				t.Fatalf("session %v %v", got, err)
			}
			sctx, stop := context.WithTimeout(ctx, 30*time.Second)
			defer stop()
			var replayed []string
			var deltas []string
			var last *pb.SessionEvent
			err = senderClient.StreamChatSession(sctx, id, 0, func(ev *pb.SessionEvent) bool {
				if ev.GetType() == pb.SessionEventType_SESSION_EVENT_TYPE_DELTA {
					deltas = append(deltas, ev.GetContent())
				} else {
					replayed = append(replayed, eventTypeName(ev.GetType()))
				}
				last = ev
				return ev.GetType() != pb.SessionEventType_SESSION_EVENT_TYPE_RESPONSE
			})
			if err != nil || last == nil || last.GetType() != pb.SessionEventType_SESSION_EVENT_TYPE_RESPONSE {
				t.Fatalf("replay ended with %v: %v", last, err)
			}
			if fmt.Sprint(replayed) != fmt.Sprint(e["replayed_types"]) || len(deltas) < num(e["deltas_min"]) ||
				(strings.Join(deltas, "") == last.GetContent()) != e["deltas_join_to_response"].(bool) || last.GetSeq() != response.GetSeq() {
				t.Fatalf("replayed %v, deltas %q, response %q", replayed, deltas, last.GetContent())
			}
			if _, err := senderClient.SendChatMessage(ctx, id, str(p["again"]), agentnet.SendChatMessageOptions{}); err != nil {
				t.Fatal(err)
			}
			var resumed *pb.SessionEvent
			err = senderClient.StreamChatSession(sctx, id, last.GetSeq(), func(ev *pb.SessionEvent) bool { resumed = ev; return false })
			if err != nil || eventTypeName(resumed.GetType()) != str(e["resumed_first_type"]) || resumed.GetContent() != str(e["resumed_first_content"]) {
				t.Fatalf("resumed with %v: %v", resumed, err)
			}
			if err := senderClient.DeleteChatSession(ctx, id); err != nil {
				t.Fatal(err)
			}
			_, err = senderClient.GetChatSession(ctx, id)
			var ae *agentnet.Error
			if !errors.As(err, &ae) || codeName(ae.Code) != str(e["after_delete_code"]) || ae.Reason != str(e["after_delete_reason"]) {
				t.Fatalf("after delete: %v", err)
			}
		},
		"presence_events": func(t *testing.T, p, e map[string]any) {
			var pmu sync.Mutex
			var events []*pb.PresenceEvent
			snapshot := -1
			live := make(chan struct{})
			done := make(chan error, 1)
			wctx, stop := context.WithTimeout(ctx, 60*time.Second)
			defer stop()
			go func() {
				done <- sender.WatchPresence(wctx, agentnet.WatchPresenceOptions{Capability: str(p["capability"]), IncludeSnapshot: true},
					func() { pmu.Lock(); snapshot = len(events); pmu.Unlock(); close(live) },
					func(ev *pb.PresenceEvent) bool {
						pmu.Lock()
						defer pmu.Unlock()
						events = append(events, ev)
						return ev.GetType() != pb.PresenceEventType_PRESENCE_EVENT_TYPE_OFFLINE
					})
			}()
			select {
			case <-live:
			case err := <-done:
				t.Fatalf("the watch ended before it was live: %v", err)
			}
			visitor, err := receiverClient.Register(ctx, agentnet.RegisterOptions{Username: str(p["visitor"]), Capabilities: []string{str(p["capability"])}})
			if err != nil {
				t.Fatal(err)
			}
			until(t, 30*time.Second, "the visitor's online event", func() bool { pmu.Lock(); defer pmu.Unlock(); return len(events) > snapshot })
			if err := visitor.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			pmu.Lock()
			defer pmu.Unlock()
			var types []string
			for _, ev := range events {
				types = append(types, strings.ToLower(strings.TrimPrefix(ev.GetType().String(), "PRESENCE_EVENT_TYPE_")))
				if ev.GetAccount().GetUsername() != str(p["visitor"]) || ev.GetSnapshot() != e["snapshot"].(bool) {
					t.Fatalf("event %v", ev)
				}
			}
			if snapshot != num(e["snapshot_count"]) || fmt.Sprint(types) != fmt.Sprint(e["events"]) || events[len(events)-1].GetReason() != str(e["offline_reason"]) {
				t.Fatalf("snapshot %d, events %v (last %v)", snapshot, types, events[len(events)-1])
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

// streamWords answers with a stream: stream_start, one stream_delta per word (each but the last followed by a
// space), stream_end.
func streamWords(ctx context.Context, w *agentnet.StreamWriter, text string) error {
	if _, err := w.Start(ctx, nil); err != nil {
		return err
	}
	words := strings.Fields(text)
	for i, word := range words {
		if i < len(words)-1 {
			word += " "
		}
		if _, err := w.Delta(ctx, word); err != nil {
			return err
		}
	}
	_, err := w.End(ctx, nil)
	return err
}

func sessionStatusName(s pb.SessionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "SESSION_STATUS_"))
}

func eventTypeName(t pb.SessionEventType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "SESSION_EVENT_TYPE_"))
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
