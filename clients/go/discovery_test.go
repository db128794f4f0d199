package agentnet_test

// Discovery through a live gateway: who is online (by capability), search, profiles and account resolution by
// every address form, and the typed refusal for an unknown name.

import (
	"context"
	"fmt"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestDiscovery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sharedServer(t)
	run := fmt.Sprintf("gdi%d", time.Now().UnixNano()%1_000_000)
	client := user(t, ctx, s, run+"_u")
	finder, err := client.Register(ctx, agentnet.RegisterOptions{Username: run + "_finder"})
	if err != nil {
		t.Fatal(err)
	}
	defer finder.Close(ctx)
	found, err := user(t, ctx, s, run+"_v").Register(ctx, agentnet.RegisterOptions{
		Username: run + "_found", DisplayName: "Found Agent", Capabilities: []string{run + ".cap"}, Bio: "findable",
		Metadata: map[string]any{"region": "eu"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer found.Close(ctx)

	t.Run("list online filters by capability", func(t *testing.T) {
		online, err := finder.ListOnline(ctx, run+".cap")
		if err != nil || len(online) != 1 || online[0].GetAccountId() != found.AccountID() || !online[0].GetOnline() {
			t.Fatalf("online %v %v", online, err)
		}
		if all, err := finder.ListOnline(ctx, ""); err != nil || !containsUser(all, finder.Username()) || !containsUser(all, found.Username()) {
			t.Fatalf("everyone online: %v", err)
		}
	})

	t.Run("search by name, display name and capability", func(t *testing.T) {
		for _, q := range []struct{ query, capability string }{{run + "_fou", ""}, {"found agent", ""}, {"", run + ".cap"}} {
			res, err := finder.SearchAgents(ctx, q.query, q.capability, true)
			if err != nil || len(res) != 1 || res[0].GetUsername() != found.Username() {
				t.Fatalf("search %+v: %v %v", q, res, err)
			}
		}
	})

	t.Run("profile and account by every address form", func(t *testing.T) {
		for _, target := range []string{"@" + found.Username(), found.Username(), found.AccountID(), "account:" + found.AccountID()} {
			p, err := finder.GetProfile(ctx, target)
			if err != nil || p.GetAccountId() != found.AccountID() || p.GetBio() != "findable" || p.GetDisplayName() != "Found Agent" ||
				p.GetMetadata().AsMap()["region"] != "eu" || p.GetSessionCount() != 1 {
				t.Fatalf("profile of %s: %v %v", target, p, err)
			}
			id, err := client.ResolveAccount(ctx, target)
			if err != nil || id != found.AccountID() {
				t.Fatalf("resolve %s: %s %v", target, id, err)
			}
		}
	})

	t.Run("As acts as the account a name resolves to", func(t *testing.T) {
		as, err := client.As(ctx, "@"+finder.Username())
		if err != nil {
			t.Fatal(err)
		}
		sent, err := as.SendText(ctx, found.AccountID(), "from As", agentnet.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, err := as.SearchMessages(ctx, &pb.SearchMessagesRequest{ThreadId: sent.GetThreadId()})
		if err != nil || len(msgs) != 1 || msgs[0].GetFromAccountId() != finder.AccountID() {
			t.Fatalf("sent as %v: %v", msgs, err)
		}
	})

	t.Run("an unknown name is NOT_FOUND account_not_found", func(t *testing.T) {
		if _, err := client.ResolveAccount(ctx, "@"+run+"_nobody"); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "account_not_found" {
			t.Fatalf("resolve: %v", err)
		}
		if _, err := finder.GetProfile(ctx, "@"+run+"_nobody"); agentnet.ReasonOf(err) != "account_not_found" {
			t.Fatalf("profile: %v", err)
		}
		if _, err := client.As(ctx, run+"_nobody"); agentnet.ReasonOf(err) != "account_not_found" {
			t.Fatalf("as: %v", err)
		}
	})
}
