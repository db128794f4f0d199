"""Voice (TokenService, VoiceAgentService): an Agora connection config for a person joining a channel, and the voice
agents agentnet starts there through Agora's Conversational AI service. User-level verbs, mixed into the Client."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union, cast

from google.protobuf import json_format

from .v1 import token_pb2, token_pb2_grpc, voice_pb2, voice_pb2_grpc

VOICE_AGENT_STATUSES = {
    "idle": voice_pb2.VOICE_AGENT_STATUS_IDLE,
    "starting": voice_pb2.VOICE_AGENT_STATUS_STARTING,
    "running": voice_pb2.VOICE_AGENT_STATUS_RUNNING,
    "stopping": voice_pb2.VOICE_AGENT_STATUS_STOPPING,
    "stopped": voice_pb2.VOICE_AGENT_STATUS_STOPPED,
    "recovering": voice_pb2.VOICE_AGENT_STATUS_RECOVERING,
    "failed": voice_pb2.VOICE_AGENT_STATUS_FAILED,
}


def voice_agent_status_name(status: int) -> str:
    """"running", "stopped", … ("" for an unknown value)."""
    return next((name for name, value in VOICE_AGENT_STATUSES.items() if value == status), "")


def _config(value: Union[Any, Mapping[str, Any], None], cls: type) -> Any:
    if value is None or isinstance(value, cls):
        return value
    # Plain dicts with the proto's snake_case names; `params` (a Struct) from a plain dict too.
    return json_format.ParseDict(dict(value), cls())


class Voice:
    """The TokenService and VoiceAgentService verbs of a Client."""

    if TYPE_CHECKING:
        tokens: token_pb2_grpc.TokenServiceStub
        voice_agents: voice_pb2_grpc.VoiceAgentServiceStub

        async def _call(self, method: Any, request: Any, *, timeout: Optional[float] = None, retries: int = 2) -> Any: ...

    async def voice_config(self, *, channel_name: Optional[str] = None,
                           expires_in: Optional[int] = None) -> token_pb2.GetConfigResponse:
        """What a person needs to join an Agora channel: app id, token, uid, and the uid to give a voice agent
        (`agent_uid`). `channel_name` defaults to "channel_<unix seconds>"; `expires_in` is the token's lifetime
        in seconds, 1..86400 (default 86400; outside it InvalidArgumentError reason invalid_expiry)."""
        req = token_pb2.GetConfigRequest()
        if channel_name is not None:
            req.channel_name = channel_name
        if expires_in is not None:
            req.expires_in = expires_in
        return await self._call(self.tokens.GetConfig, req)

    async def start_voice_agent(self, channel_name: str, *, agent_uid: str = "", remote_uids: Sequence[str] = (),
                                name: str = "", instructions: str = "", greeting: str = "",
                                llm: Union[voice_pb2.VoiceLlmConfig, Mapping[str, Any], None] = None,
                                tts: Union[voice_pb2.VoiceTtsConfig, Mapping[str, Any], None] = None,
                                asr: Union[voice_pb2.VoiceAsrConfig, Mapping[str, Any], None] = None,
                                idle_timeout_seconds: Optional[int] = None, max_duration_seconds: Optional[int] = None,
                                enable_rtm: Optional[bool] = None) -> voice_pb2.StartVoiceAgentResponse:
        """Starts a voice agent in `channel_name` (pass the config's `agent_uid`, and the people's uids as
        `remote_uids`); `llm`, `tts`, `asr` override the gateway's defaults (messages or dicts)."""
        req = voice_pb2.StartVoiceAgentRequest(
            channel_name=channel_name, agent_uid=agent_uid, remote_uids=list(remote_uids), name=name,
            instructions=instructions, greeting=greeting, llm=_config(llm, voice_pb2.VoiceLlmConfig),
            tts=_config(tts, voice_pb2.VoiceTtsConfig), asr=_config(asr, voice_pb2.VoiceAsrConfig))
        if idle_timeout_seconds is not None:
            req.idle_timeout_seconds = idle_timeout_seconds
        if max_duration_seconds is not None:
            req.max_duration_seconds = max_duration_seconds
        if enable_rtm is not None:
            req.enable_rtm = enable_rtm
        # Not retried: a retry after a lost answer would start a second agent in the channel.
        return await self._call(self.voice_agents.StartVoiceAgent, req, retries=0)

    async def stop_voice_agent(self, agent_id: str) -> voice_pb2.StopVoiceAgentResponse:
        """Stops the agent (it leaves the channel). Idempotent: an unknown or already stopped agent is success (status
        STOPPED); another user's is NotFoundError reason agent_not_found."""
        return await self._call(self.voice_agents.StopVoiceAgent, voice_pb2.StopVoiceAgentRequest(agent_id=agent_id))

    async def get_voice_agent(self, agent_id: str) -> voice_pb2.VoiceAgent:
        """The agent; NotFoundError reason agent_not_found when unknown or another user's."""
        res = await self._call(self.voice_agents.GetVoiceAgent, voice_pb2.GetVoiceAgentRequest(agent_id=agent_id))
        return res.agent

    async def list_voice_agents(self, *, channel_name: str = "", status: Union[str, int] = 0,
                                all: bool = False) -> list[voice_pb2.VoiceAgent]:  # noqa: A002 - the proto's name
        """The caller's voice agents (every user's with `all`, for admins), optionally in one channel or of one
        status ("running", …); every page."""
        if isinstance(status, str) and status:
            if status not in VOICE_AGENT_STATUSES:
                raise ValueError(f"unknown voice agent status {status!r}: one of {', '.join(VOICE_AGENT_STATUSES)}")
            status = VOICE_AGENT_STATUSES[status]
        out: list[voice_pb2.VoiceAgent] = []
        token = ""
        while True:
            res = await self._call(self.voice_agents.ListVoiceAgents, voice_pb2.ListVoiceAgentsRequest(
                page_size=100, page_token=token, channel_name=channel_name, status=cast(Any, int(status or 0)), all=all))
            out.extend(res.agents)
            token = res.next_page_token
            if not token:
                return out
