package agentnet

// Voice (TokenService, VoiceAgentService): an Agora connection config for a person joining a voice channel, and the
// voice agents (ASR → LLM → TTS) agentnet starts there through Agora's Conversational AI service. A server without
// Agora credentials answers every call FAILED_PRECONDITION `voice_not_configured`; Agora's own refusals arrive with
// reason `agora_error` and Info["agora_status"] / Info["agora_reason"].

import (
	"context"
	"time"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// VoiceConfigOptions are VoiceConfig's optional fields.
type VoiceConfigOptions struct {
	// ChannelName to join; "": "channel_<unix seconds>".
	ChannelName string
	// ExpiresIn is the token's lifetime, 1 s..24 h, in whole seconds (rounded up); 0: 24 h. Outside:
	// INVALID_ARGUMENT `invalid_expiry`.
	ExpiresIn time.Duration
}

// VoiceConfig returns what a front end needs to join a channel with a voice agent: the App ID, a user uid with
// its token, the channel and a different uid for the agent (pass it to StartVoiceAgent).
func (c *Client) VoiceConfig(ctx context.Context, o VoiceConfigOptions) (*pb.GetConfigResponse, error) {
	req := &pb.GetConfigRequest{}
	if o.ChannelName != "" {
		req.ChannelName = &o.ChannelName
	}
	if o.ExpiresIn != 0 {
		seconds := int64(o.ExpiresIn / time.Second)
		if o.ExpiresIn%time.Second > 0 {
			seconds++
		}
		req.ExpiresIn = &seconds
	}
	return retry(ctx, 2, func(ctx context.Context) (*pb.GetConfigResponse, error) {
		return c.Tokens.GetConfig(ctx, req)
	})
}

// StartVoiceAgent starts a voice agent in req.ChannelName listening to req.RemoteUids (at least one); the
// server's defaults fill everything else. Refusals: INVALID_ARGUMENT `invalid_channel_name`, `invalid_uid`,
// `missing_remote_uids`, …; FAILED_PRECONDITION `voice_not_configured` or `llm_not_configured` (and tts, asr);
// ALREADY_EXISTS `agent_name_taken`. Retried after a transient failure only when req.Name is set: starting again
// under the same name returns the running agent, while without a name a retry could start a second one.
func (c *Client) StartVoiceAgent(ctx context.Context, req *pb.StartVoiceAgentRequest) (*pb.StartVoiceAgentResponse, error) {
	retries := 0
	if req.GetName() != "" {
		retries = 2
	}
	return retry(ctx, retries, func(ctx context.Context) (*pb.StartVoiceAgentResponse, error) {
		return c.Voice.StartVoiceAgent(ctx, req)
	})
}

// StopVoiceAgent makes a voice agent leave its channel; stopping an unknown or stopped agent succeeds.
func (c *Client) StopVoiceAgent(ctx context.Context, agentID string) (*pb.StopVoiceAgentResponse, error) {
	return retry(ctx, 2, func(ctx context.Context) (*pb.StopVoiceAgentResponse, error) {
		return c.Voice.StopVoiceAgent(ctx, &pb.StopVoiceAgentRequest{AgentId: agentID})
	})
}

// GetVoiceAgent returns one voice agent, refreshed from Agora while it runs; one that is unknown or another
// user's is NOT_FOUND `agent_not_found`.
func (c *Client) GetVoiceAgent(ctx context.Context, agentID string) (*pb.VoiceAgent, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.GetVoiceAgentResponse, error) {
		return c.Voice.GetVoiceAgent(ctx, &pb.GetVoiceAgentRequest{AgentId: agentID})
	})
	if err != nil {
		return nil, err
	}
	return res.GetAgent(), nil
}

// ListVoiceAgentsOptions filter ListVoiceAgents (zero values: any).
type ListVoiceAgentsOptions struct {
	ChannelName string
	Status      pb.VoiceAgentStatus
	// All lists every user's agents (admins only; ignored for others).
	All bool
}

// ListVoiceAgents returns the caller's voice agents, newest first, following every page.
func (c *Client) ListVoiceAgents(ctx context.Context, o ListVoiceAgentsOptions) ([]*pb.VoiceAgent, error) {
	var out []*pb.VoiceAgent
	token := ""
	for {
		req := &pb.ListVoiceAgentsRequest{PageSize: 100, PageToken: token, ChannelName: o.ChannelName, Status: o.Status, All: o.All}
		res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ListVoiceAgentsResponse, error) {
			return c.Voice.ListVoiceAgents(ctx, req)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.GetAgents()...)
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}
