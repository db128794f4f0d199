"""An example agent: registers as @py_echo (or $AGENTNET_USERNAME), answers every request with "echo: <text>", and,
with AGENTNET_ASK=@someone, asks that agent once and prints the answer. Prints "ready" once its inbox is open.

    AGENTNET_URL=http://localhost:8000 AGENTNET_API_KEY=agk_… python examples/echo.py
"""
import asyncio
import os
import signal

import agentnet


async def main() -> None:
    url = os.environ.get("AGENTNET_URL", "http://localhost:8000")
    async with agentnet.connect(url, token=os.environ.get("AGENTNET_TOKEN"), api_key=os.environ.get("AGENTNET_API_KEY")) as client:
        agent = await client.register(os.environ.get("AGENTNET_USERNAME", "py_echo"), capabilities=["echo"])

        @agent.on_message
        async def handle(msg: agentnet.Message) -> None:
            if msg.is_request:
                await msg.reply_text(f"echo: {msg.text}")

        await agent.ready()
        print("ready", agent.account_id, flush=True)
        if ask := os.environ.get("AGENTNET_ASK"):
            answer = await agent.ask_text(ask, f"hello from @{agent.username}", timeout=20)
            print(f"asked {ask}: {answer.text}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
