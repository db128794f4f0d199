package agentnet_test

// Voice through a live gateway whose Agora is the fake Agora process (dist/test/voice/fake-agora-main.js): a
// connection config, a voice agent started, listed, read and stopped, and the typed refusals. The fake checks
// everything agentnet sends Agora and exits 1 when anything was wrong, so the test requires its exit status 0.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// fakeAgora is the running fake Agora process.
type fakeAgora struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	// env is what a gateway's environment needs to talk to it ("KEY=value").
	env []string
}

func startFakeAgora(t *testing.T) *fakeAgora {
	t.Helper()
	root, _ := filepath.Abs("../..")
	node, path, err := nodeBinary()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgora{cmd: exec.Command(node, filepath.Join(root, "dist", "test", "voice", "fake-agora-main.js"))}
	f.cmd.Env = []string{"PATH=" + path}
	f.cmd.Stderr = &f.stderr
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := f.cmd.StdinPipe() // held open: the fake also stops when its stdin ends
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // only when the test failed before stop()
		if f.cmd.ProcessState == nil {
			_ = f.cmd.Process.Kill()
			_ = f.cmd.Wait()
		}
		_ = stdin.Close()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	var first string
	select {
	case first = <-line:
	case <-time.After(30 * time.Second):
		t.Fatalf("the fake Agora printed nothing in 30 s: %s", f.stderr.String())
	}
	var out struct {
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal([]byte(first), &out); err != nil || out.Env["AGORA_API_BASE_URL"] == "" {
		t.Fatalf("the fake Agora's first line %q: %v", first, err)
	}
	for k, v := range out.Env {
		f.env = append(f.env, k+"="+v)
	}
	return f
}

// stop ends the fake with SIGTERM and fails the test unless it exits 0: no violations seen.
func (f *fakeAgora) stop(t *testing.T) {
	t.Helper()
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- f.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil { // an *exec.ExitError with status 1: the fake saw violations, listed on its stderr
			t.Fatalf("the fake Agora exited with %v: %s", err, f.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = f.cmd.Process.Kill()
		t.Fatal("the fake Agora did not exit after SIGTERM")
	}
}

func TestVoice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fake := startFakeAgora(t)
	s := newServer(t, fake.env...)
	run := fmt.Sprintf("gvo%d", time.Now().UnixNano()%1_000_000)
	alice := user(t, ctx, s, run+"_alice")
	bob := user(t, ctx, s, run+"_bob")
	channel := run + "_room"

	config, err := alice.VoiceConfig(ctx, agentnet.VoiceConfigOptions{ChannelName: channel, ExpiresIn: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	expires := config.GetExpiresAt().AsTime()
	if config.GetChannelName() != channel || !strings.HasPrefix(config.GetToken(), "007") || config.GetAgentUid() == config.GetUid() ||
		config.GetAppId() == "" || expires.Before(time.Now().Add(5*time.Minute)) || expires.After(time.Now().Add(15*time.Minute)) {
		t.Fatalf("config %v", config)
	}

	t.Run("a voice agent is started, listed, read and stopped", func(t *testing.T) {
		started, err := alice.StartVoiceAgent(ctx, &pb.StartVoiceAgentRequest{ChannelName: channel, AgentUid: config.GetAgentUid(), RemoteUids: []string{config.GetUid()}, Name: run + "_voice"})
		if err != nil {
			t.Fatal(err)
		}
		if started.GetChannelName() != channel || started.GetAgentId() == "" || started.GetAgent().GetName() != run+"_voice" {
			t.Fatalf("started %v", started)
		}
		again, err := alice.StartVoiceAgent(ctx, &pb.StartVoiceAgentRequest{ChannelName: channel, AgentUid: config.GetAgentUid(), RemoteUids: []string{config.GetUid()}, Name: run + "_voice"})
		if err != nil || again.GetAgentId() != started.GetAgentId() {
			t.Fatalf("starting again under the name: %v %v", again, err)
		}
		listed, err := alice.ListVoiceAgents(ctx, agentnet.ListVoiceAgentsOptions{ChannelName: channel})
		if err != nil || len(listed) != 1 || listed[0].GetAgentId() != started.GetAgentId() {
			t.Fatalf("listed %v %v", listed, err)
		}
		got, err := alice.GetVoiceAgent(ctx, started.GetAgentId())
		if err != nil || got.GetStatus() != pb.VoiceAgentStatus_VOICE_AGENT_STATUS_RUNNING || got.GetChannelName() != channel {
			t.Fatalf("got %v %v", got, err)
		}
		if _, err := bob.GetVoiceAgent(ctx, started.GetAgentId()); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "agent_not_found" {
			t.Fatalf("another user: %v", err)
		}
		if others, err := bob.ListVoiceAgents(ctx, agentnet.ListVoiceAgentsOptions{}); err != nil || len(others) != 0 {
			t.Fatalf("another user lists %v %v", others, err)
		}
		if _, err := alice.StopVoiceAgent(ctx, started.GetAgentId()); err != nil {
			t.Fatal(err)
		}
		got, err = alice.GetVoiceAgent(ctx, started.GetAgentId())
		if err != nil || got.GetStatus() != pb.VoiceAgentStatus_VOICE_AGENT_STATUS_STOPPED {
			t.Fatalf("after stop %v %v", got, err)
		}
		if _, err := alice.StopVoiceAgent(ctx, started.GetAgentId()); err != nil { // stopping again is success
			t.Fatal(err)
		}
		if _, err := alice.StopVoiceAgent(ctx, "va_does_not_exist"); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "agent_not_found" {
			t.Fatalf("stopping an unknown agent: %v", err)
		}
	})

	t.Run("refusals are typed", func(t *testing.T) {
		if _, err := alice.VoiceConfig(ctx, agentnet.VoiceConfigOptions{ExpiresIn: 48 * time.Hour}); !agentnet.IsInvalidArgument(err) || agentnet.ReasonOf(err) != "invalid_expiry" {
			t.Fatalf("expiry past a day: %v", err)
		}
		if _, err := alice.VoiceConfig(ctx, agentnet.VoiceConfigOptions{ChannelName: strings.Repeat("x", 65)}); agentnet.ReasonOf(err) != "invalid_channel_name" {
			t.Fatalf("long channel name: %v", err)
		}
		if _, err := alice.StartVoiceAgent(ctx, &pb.StartVoiceAgentRequest{ChannelName: channel}); !agentnet.IsInvalidArgument(err) || agentnet.ReasonOf(err) != "missing_remote_uids" {
			t.Fatalf("no remote uids: %v", err)
		}
		if _, err := alice.StartVoiceAgent(ctx, &pb.StartVoiceAgentRequest{ChannelName: channel, AgentUid: "0", RemoteUids: []string{"7"}}); agentnet.ReasonOf(err) != "invalid_uid" {
			t.Fatalf("uid 0: %v", err)
		}
		if _, err := alice.GetVoiceAgent(ctx, "va_does_not_exist"); !agentnet.IsNotFound(err) {
			t.Fatalf("unknown agent: %v", err)
		}
	})

	t.Run("a gateway without Agora is FAILED_PRECONDITION voice_not_configured", func(t *testing.T) {
		plain := user(t, ctx, sharedServer(t), run+"_plain")
		if _, err := plain.VoiceConfig(ctx, agentnet.VoiceConfigOptions{}); !agentnet.IsFailedPrecondition(err) || agentnet.ReasonOf(err) != "voice_not_configured" {
			t.Fatalf("config: %v", err)
		}
		if _, err := plain.StartVoiceAgent(ctx, &pb.StartVoiceAgentRequest{ChannelName: "x", RemoteUids: []string{"1"}}); agentnet.ReasonOf(err) != "voice_not_configured" {
			t.Fatalf("start: %v", err)
		}
	})

	s.stop()
	fake.stop(t)
}
