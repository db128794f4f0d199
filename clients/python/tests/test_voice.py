"""Voice (TokenService, VoiceAgentService) on a gateway of its own that talks to the fake Agora process
(conftest.voice_server, which fails the module when the fake saw a request Agora would reject)."""
from __future__ import annotations

import pytest

import agentnet
from agentnet import voice_agent_status_name

from conftest import new_user_token


@pytest.fixture(scope="module")
async def users(voice_server, run_id):
    clients = [agentnet.connect(voice_server.url, token=await new_user_token(voice_server, f"py{run_id}_voice_{n}"))
               for n in ("alice", "bob")]
    yield clients
    for c in clients:
        await c.close()


async def test_voice_config_start_list_get_stop(users):
    alice, bob = users
    config = await alice.voice_config(channel_name="py_room", expires_in=600)
    assert config.channel_name == "py_room"
    assert config.token.startswith("007")  # an AccessToken2
    assert config.app_id and config.agent_uid and config.agent_uid != config.uid
    started = await alice.start_voice_agent("py_room", agent_uid=config.agent_uid, remote_uids=[config.uid],
                                            greeting="hello", llm={"model": "gpt-4o-mini", "max_history": 8})
    assert started.channel_name == "py_room" and started.agent_id
    assert [a.agent_id for a in await alice.list_voice_agents(channel_name="py_room")] == [started.agent_id]
    assert [a.agent_id for a in await alice.list_voice_agents(status="running")] == [started.agent_id]
    agent = await alice.get_voice_agent(started.agent_id)
    assert voice_agent_status_name(agent.status) == "running"
    assert list(agent.remote_uids) == [config.uid]
    # Another user's agent does not exist for them: neither to read nor to stop.
    with pytest.raises(agentnet.NotFoundError) as not_theirs:
        await bob.get_voice_agent(started.agent_id)
    assert not_theirs.value.reason == "agent_not_found"
    with pytest.raises(agentnet.NotFoundError) as not_theirs_to_stop:
        await bob.stop_voice_agent(started.agent_id)
    assert not_theirs_to_stop.value.reason == "agent_not_found"
    assert await bob.list_voice_agents() == []

    stopped = await alice.stop_voice_agent(started.agent_id)
    assert stopped.agent_id == started.agent_id
    assert voice_agent_status_name((await alice.get_voice_agent(started.agent_id)).status) == "stopped"
    assert await alice.list_voice_agents(status="running") == []


async def test_voice_refusals_are_typed(users):
    alice, _ = users
    with pytest.raises(agentnet.NotFoundError) as unknown:
        await alice.get_voice_agent("va_does_not_exist")
    assert unknown.value.reason == "agent_not_found"
    # Stopping an agent twice is success, but an id nobody started is refused like another user's.
    with pytest.raises(agentnet.NotFoundError) as unknown_to_stop:
        await alice.stop_voice_agent("va_does_not_exist")
    assert unknown_to_stop.value.reason == "agent_not_found"
    with pytest.raises(agentnet.InvalidArgumentError):
        await alice.stop_voice_agent("")
    with pytest.raises(agentnet.InvalidArgumentError) as no_listener:
        await alice.start_voice_agent("py_room2", agent_uid="1234")
    assert no_listener.value.reason == "missing_remote_uids"
    with pytest.raises(agentnet.InvalidArgumentError) as bad_expiry:
        await alice.voice_config(expires_in=0)
    assert bad_expiry.value.reason == "invalid_expiry"
    with pytest.raises(ValueError, match="voice agent status"):
        await alice.list_voice_agents(status="dancing")
