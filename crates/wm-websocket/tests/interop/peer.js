// The second independent peer for wm-websocket's interop test: Node's `ws`, with
// permessage-deflate on both ends and a threshold of 0 (every message compressed).
//
//   node peer.js server        echo server on 127.0.0.1; prints its port, then serves until
//                              stdin closes
//   node peer.js client URL    connects, prints the answer's extensions, checks echoes of
//                              text, binary, a 200 KiB message, JSON and a ping, closes with
//                              1000; prints OK lines
//
// Bounded: the whole run stops after 30 s. `ws` is found through NODE_PATH.
"use strict";

const WebSocket = require("ws");

const deflate = { threshold: 0 };
const maxPayload = 1 << 24;
setTimeout(() => {
  console.error("peer.js: timed out");
  process.exit(2);
}, 30000);

function server() {
  const wss = new WebSocket.Server({ host: "127.0.0.1", port: 0, perMessageDeflate: deflate, maxPayload });
  wss.on("listening", () => console.log(wss.address().port));
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}

function client(url) {
  const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload });
  const received = [];
  let wake = null;
  ws.on("upgrade", (response) => {
    console.log("extensions", response.headers["sec-websocket-extensions"]);
  });
  ws.on("message", (data, isBinary) => {
    received.push({ data, isBinary });
    if (wake) wake();
  });
  const next = () =>
    new Promise((resolve) => {
      if (received.length) return resolve(received.shift());
      wake = () => {
        wake = null;
        resolve(received.shift());
      };
    });
  ws.on("error", (error) => {
    console.error("peer.js:", error.message);
    process.exit(1);
  });
  ws.on("close", (code) => {
    console.log("OK closed", code);
    process.exit(0);
  });
  ws.on("open", async () => {
    const json = '{"user":"ana","text":"hello, hello, hello world"}'.repeat(20);
    const messages = ["hello", "κόσμε ✓", Buffer.from([0, 1, 255]), "x".repeat(200000), Buffer.alloc(0), json, json];
    for (const message of messages) {
      const binary = Buffer.isBuffer(message);
      ws.send(message, { binary });
      const echoed = await next();
      const want = binary ? message : Buffer.from(message, "utf8");
      if (echoed.isBinary !== binary || !echoed.data.equals(want)) {
        console.error("peer.js: wrong echo for", String(message).slice(0, 20));
        process.exit(1);
      }
    }
    ws.once("pong", (data) => {
      if (data.toString() !== "are you there") process.exit(1);
      console.log("OK echoes and pong");
      ws.close(1000, "done");
    });
    ws.ping("are you there");
  });
}

if (process.argv[2] === "server") server();
else client(process.argv[3]);
