// An example agent: registers as @go_echo (or $AGENTNET_USERNAME) and answers every request with its text.
//
//	AGENTNET_URL=http://localhost:8000 AGENTNET_API_KEY=agk_… go run ./examples/echo
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	agentnet "agentnet.dev/clients/go"
)

func main() {
	url := getenv("AGENTNET_URL", "http://localhost:8000")
	client, err := agentnet.Dial(url, agentnet.Credentials{Token: os.Getenv("AGENTNET_TOKEN"), APIKey: os.Getenv("AGENTNET_API_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	agent, err := client.Register(ctx, agentnet.RegisterOptions{Username: getenv("AGENTNET_USERNAME", "go_echo"), Capabilities: []string{"echo"}})
	if err != nil {
		log.Fatalf("register: %v", err)
	}
	agent.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
		if !m.IsRequest() {
			return nil
		}
		_, err := agent.ReplyText(ctx, m, "echo: "+m.Text())
		return err
	})
	log.Printf("@%s (%s) is online; Ctrl-C to stop", agent.Username(), agent.AccountID())
	<-ctx.Done()
	_ = agent.Close(context.Background())
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
