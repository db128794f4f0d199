"""An A2A client that knows nothing of agentnet, written with the official Python SDK (a2a-sdk).

Run by test/a2a/a2a-python.test.ts:
  a2a_probe.py talk GATEWAY_URL TOKEN AGENT   discover, send, stream, refusals; prints the task ids as JSON
  a2a_probe.py read GATEWAY_URL TOKEN AGENT ID...   reads tasks back; prints their states and answers as JSON
Every check that fails raises, so the process exits non-zero with the reason on stderr.
"""

import asyncio
import json
import sys
import uuid

import httpx
from a2a.client import A2AClientError, ClientCallContext, ClientConfig, ClientFactory
from a2a.types import GetTaskRequest, ListTasksRequest, Message, Part, Role, SendMessageRequest, TaskState
from a2a.utils.errors import TaskNotFoundError


def message(text: str) -> Message:
    return Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)])


def texts(parts) -> list[str]:
    return [p.text for p in parts if p.WhichOneof("content") == "text"]


async def client_for(url: str, agent: str, streaming: bool):
    # Discovery by the card alone: the SDK picks the JSON-RPC interface the card declares.
    return await ClientFactory(ClientConfig(streaming=streaming)).create_from_url(f"{url}/a2a/{agent}")


async def talk(url: str, token: str, agent: str) -> dict:
    auth = ClientCallContext(service_parameters={"Authorization": f"Bearer {token}"})
    out: dict = {}

    async with httpx.AsyncClient() as http:
        card = (await http.get(f"{url}/a2a/{agent}/.well-known/agent-card.json")).json()
    out["card_name"] = card["name"]

    plain = await client_for(url, agent, streaming=False)
    events = [e async for e in plain.send_message(SendMessageRequest(message=message("hello from python")), context=auth)]
    task = events[-1].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, task
    out["answer"] = texts(task.artifacts[0].parts)
    out["task_id"] = task.id

    streaming = await client_for(url, agent, streaming=True)
    kinds, pieces, final = [], [], None
    async for event in streaming.send_message(SendMessageRequest(message=message("stream please")), context=auth):
        kind = event.WhichOneof("payload")
        kinds.append(kind)
        if kind == "task":
            out["stream_task_id"] = event.task.id
        if kind == "artifact_update":
            pieces.append("".join(texts(event.artifact_update.artifact.parts)))
        if kind == "status_update":
            final = event.status_update.status.state
    out["stream_kinds"] = kinds
    out["stream_pieces"] = pieces
    out["stream_final"] = TaskState.Name(final)

    listed = await plain.list_tasks(ListTasksRequest(page_size=1), context=auth)
    out["listed"] = [len(listed.tasks), listed.next_page_token != ""]

    # Refusals: an unknown task, no credentials, a private agent's card.
    try:
        await plain.get_task(GetTaskRequest(id="no-such-task"), context=auth)
        raise AssertionError("an unknown task was found")
    except TaskNotFoundError:
        out["unknown_task"] = "TaskNotFoundError"
    try:
        await plain.get_task(GetTaskRequest(id=task.id))
        raise AssertionError("a call without credentials was answered")
    except A2AClientError as e:
        out["no_credentials"] = "401" if "401" in str(e) else str(e)
    async with httpx.AsyncClient() as http:
        out["private_card_status"] = (await http.get(f"{url}/a2a/py_hidden/.well-known/agent-card.json")).status_code
    await plain.close()
    await streaming.close()
    return out


async def read(url: str, token: str, agent: str, ids: list[str]) -> dict:
    auth = ClientCallContext(service_parameters={"Authorization": f"Bearer {token}"})
    client = await client_for(url, agent, streaming=False)
    tasks = {}
    for task_id in ids:
        task = await client.get_task(GetTaskRequest(id=task_id), context=auth)
        tasks[task_id] = {"state": TaskState.Name(task.status.state), "answer": [t for a in task.artifacts for t in texts(a.parts)]}
    await client.close()
    return tasks


def main() -> None:
    command, url, token, agent, *rest = sys.argv[1:]
    result = asyncio.run(talk(url, token, agent) if command == "talk" else read(url, token, agent, rest))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
