// An example agent: registers as @go_echo (or $AGENTNET_USERNAME), answers every request with "echo: <text>", and,
// with AGENTNET_ASK=@someone, asks that agent once and prints the answer. Prints "ready" once its inbox is open.
//
//	AGENTNET_URL=http://localhost:8000 AGENTNET_API_KEY=agk_… go run ./examples/echo
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

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
	if err := agent.Ready(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready", agent.AccountID())
	if ask := os.Getenv("AGENTNET_ASK"); ask != "" {
		answer, _, err := agent.AskText(ctx, ask, "hello from @"+agent.Username(), agentnet.RequestOptions{Timeout: 20 * time.Second})
		if err != nil {
			log.Fatalf("ask %s: %v", ask, err)
		}
		fmt.Printf("asked %s: %s\n", ask, answer)
	}
	<-ctx.Done()
	_ = agent.Close(context.Background())
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
