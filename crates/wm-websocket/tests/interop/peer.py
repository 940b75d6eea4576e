"""The independent peer for wm-websocket's interop test: Python `websockets`.

    python3 peer.py server        echo server on 127.0.0.1; prints its port, then serves
                                  until stdin closes
    python3 peer.py client URL    connects, checks echoes of text, binary, a 200 KiB
                                  message, JSON, and a ping, closes with 1000; prints the
                                  answer's extensions and OK lines

Both ends offer and accept permessage-deflate, as `websockets` does by default (windows of
12 bits on its server).

Bounded: every wait has a timeout, and the whole run stops after 30 s.
"""

import asyncio
import sys

import websockets


async def echo(ws, *_):
    async for message in ws:
        await ws.send(message)


async def server():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=2**24) as srv:
        port = srv.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


async def client(url):
    async with websockets.connect(url, max_size=2**24, subprotocols=["chat"]) as ws:
        print("protocol", ws.subprotocol, flush=True)
        print("extensions", ws.response_headers.get("Sec-WebSocket-Extensions"), flush=True)
        json = '{"user":"ana","text":"hello, hello, hello world"}' * 20
        for message in ["hello", "κόσμε ✓", b"\x00\x01\xff", "x" * 200_000, b"", json, json]:
            await ws.send(message)
            echoed = await asyncio.wait_for(ws.recv(), 10)
            assert echoed == message, (message[:20], echoed[:20])
            assert type(echoed) is type(message)
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        print("OK echoes and pong", flush=True)
        await ws.close(1000, "done")
    print("OK closed", ws.close_code, flush=True)


async def main():
    if sys.argv[1] == "server":
        await server()
    else:
        await client(sys.argv[2])


asyncio.run(asyncio.wait_for(main(), 30))
