// One scenario, written against the official `partysocket` client, that runs unchanged
// against `partykit dev` and against `party-mock`. It prints what it observed as JSON,
// with what legitimately differs between runs (ports, random ids, timestamps, random
// positions) replaced by placeholders, so two runs can be compared byte for byte.
//
// usage: node scenario.mjs HOST:PORT > observations.json

import { request } from "node:http";
import PartySocket from "partysocket";
import WS from "ws";

const host = process.argv[2];
if (!host) {
  console.error("usage: node scenario.mjs HOST:PORT");
  process.exit(2);
}

// Every wait is bounded: one step, and the whole run.
const STEP_MS = 5000;
const RUN_MS = 60000;
setTimeout(() => {
  console.error(`scenario: gave up after ${RUN_MS} ms`);
  process.exit(3);
}, RUN_MS).unref();

// Fresh rooms per run, so state kept by a long-running server cannot leak in.
const run = Math.random().toString(36).slice(2, 10);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Replaces what differs between servers and runs: the address and the run id. */
function norm(text) {
  return text.split(host).join("<host>").split(run).join("<run>");
}

async function decode(data) {
  if (typeof data === "string") return data;
  if (typeof Blob !== "undefined" && data instanceof Blob) {
    data = await data.arrayBuffer();
  }
  return `binary:${[...new Uint8Array(data)].join(",")}`;
}

/** A PartySocket whose messages and close events can be awaited in order. */
class Client {
  constructor(label, options) {
    this.label = label;
    this.messages = [];
    this.closes = [];
    this.wakers = [];
    this.decoded = Promise.resolve();
    this.socket = new PartySocket({ host, WebSocket: WS, ...options });
    this.socket.addEventListener("message", (event) => {
      this.decoded = this.decoded.then(async () => {
        this.messages.push(await decode(event.data));
        this.wake();
      });
    });
    this.socket.addEventListener("close", (event) => {
      this.closes.push({ code: event.code, reason: event.reason });
      this.wake();
    });
  }

  wake() {
    for (const waker of this.wakers.splice(0)) waker();
  }

  async waitFor(what, take) {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: timed out waiting for ${what}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  next() {
    return this.waitFor("a message", () => this.messages.shift());
  }

  async nextJson() {
    return JSON.parse(await this.next());
  }

  nextClose() {
    return this.waitFor("a close", () => this.closes.shift());
  }

  send(data) {
    this.socket.send(typeof data === "object" && !(data instanceof Uint8Array) ? JSON.stringify(data) : data);
  }

  close() {
    this.socket.close();
  }
}

/**
 * One HTTP request on a connection of its own. A pooled keep-alive connection can be
 * closed by the server after a response that left the request body unread (workerd
 * does), and the next request on it then fails with "other side closed".
 */
function http(path, init = {}) {
  return new Promise((resolve, reject) => {
    const body = init.body;
    const headers = body === undefined ? {} : { "content-length": Buffer.byteLength(body) };
    const req = request(
      `http://${host}${path}`,
      { method: init.method ?? "GET", agent: false, headers, timeout: STEP_MS },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode,
            type: response.headers["content-type"] ?? null,
            body: norm(text),
          }),
        );
        response.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`http ${path}: no answer within ${STEP_MS} ms`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The HTTP status a raw WebSocket handshake gets, or "open". */
function handshake(path) {
  return new Promise((resolve, reject) => {
    const ws = new WS(`ws://${host}${path}`);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`handshake ${path}: no answer`));
    }, STEP_MS);
    ws.on("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => {
        clearTimeout(timer);
        ws.terminate();
        resolve({ status: response.statusCode, body });
      });
    });
    ws.on("open", () => {
      clearTimeout(timer);
      ws.close();
      resolve("open");
    });
    ws.on("error", () => {});
  });
}

const obs = {};

// --- echo: ids and URLs the server sees, text and binary echo ------------------------
{
  const named = new Client("echo-named", {
    party: "echo",
    room: `echo-${run}`,
    id: "fid-echo-1",
    query: { name: "Zoë Q", tag: "a&b" },
  });
  const hello = await named.nextJson();
  obs.echoNamed = { id: hello.id, url: norm(hello.url) };
  named.send("hello");
  obs.echoText = await named.next();
  named.send(new Uint8Array([0, 1, 2, 255]));
  obs.echoBinary = await named.next();
  // The text an application-level heartbeat sends. No auto-response is set, so the
  // party gets it like any other message and echoes it.
  named.send("ping");
  obs.echoPing = await named.next();
  named.close();

  const anonymous = new Client("echo-anonymous", {
    party: "echo",
    room: `echo-${run}`,
    path: "sub/path",
  });
  const greeting = await anonymous.nextJson();
  obs.echoGeneratedId = {
    sameAsClient: greeting.id === anonymous.socket.id,
    isUuid: UUID.test(greeting.id),
    url: norm(greeting.url).split(greeting.id).join("<id>"),
  };
  anonymous.close();

  obs.echoHttp = await http(`/parties/echo/echo-${run}/x?q=1`, { method: "POST", body: "ping" });
}

// --- main: greeting, broadcast to all but the sender, the classic route, HTTP ---------
{
  const room = `main-${run}`;
  const a = new Client("main-a", { room, id: "a" });
  const b = new Client("main-b", { room, id: "b" });
  // The classic `/party/:room` route, reached through basePath.
  const c = new Client("main-c", { basePath: `party/${room}`, id: "c" });
  obs.mainWelcome = [await a.next(), await b.next(), await c.next()];

  a.send("hi from A");
  b.send("hi from B");
  c.send(new Uint8Array([9, 8, 7]));
  // Each client receives the other two clients' messages, never its own.
  const three = async (client) => [await client.next(), await client.next()].sort();
  obs.mainBroadcast = { a: await three(a), b: await three(b), c: await three(c) };
  // A heartbeat's `ping` is broadcast like chat; the sender gets nothing back (its next
  // message is the HTTP broadcast below).
  a.send("ping");
  obs.mainPing = [await b.next(), await c.next()];

  obs.mainGet = await http(`/parties/main/${room}`);
  obs.mainGetClassic = await http(`/party/${room}`);
  obs.mainPost = await http(`/parties/main/${room}`, {
    method: "POST",
    body: '{"hello":"world","n":1.0,"nested":{"z":1,"a":[true,null,2.5]}}',
  });
  obs.mainPosted = [await a.next(), await b.next(), await c.next()];
  obs.mainPut = await http(`/parties/main/${room}`, { method: "PUT", body: "x" });
  obs.mainPostInvalid = await http(`/parties/main/${room}`, { method: "POST", body: "nope" });

  const fetched = await PartySocket.fetch({ host, room });
  obs.mainClientFetch = { status: fetched.status, body: await fetched.text() };

  for (const client of [a, b, c]) client.close();
}

// --- unknown parties and paths -----------------------------------------------------------
{
  obs.unknownPartyHttp = await http(`/parties/nope/r-${run}`);
  obs.unknownPartyWs = await handshake(`/parties/nope/r-${run}`);
  obs.unknownPathHttp = await http(`/nothing/here`);
  obs.unknownPathWs = await handshake(`/nothing/here`);
  obs.noOnRequest = await http(`/parties/chat/c-${run}`);
}

// --- chat: history kept per room, across reconnects and new sockets ------------------
function normChat(value) {
  const text = JSON.stringify(value, (key, field) => {
    if (key === "id" && typeof field === "string") return UUID.test(field) ? "<uuid>" : field;
    if (key === "timestamp" && typeof field === "number") {
      return Math.abs(Date.now() - field) < 3_600_000 ? "<now>" : field;
    }
    return field;
  });
  return JSON.parse(text);
}
{
  const room = `chat-${run}`;
  const first = new Client("chat-1", { party: "chat", room, id: "chat-1" });
  obs.chatSyncEmpty = await first.nextJson();
  first.send({ type: "message", user: "alice", text: "one" });
  first.send({ type: "ignored", text: "nothing happens" });
  first.send({ type: "message", user: "alice", text: "two" });
  first.send({ type: "message", text: "no user" });
  obs.chatMessages = normChat([await first.nextJson(), await first.nextJson(), await first.nextJson()]);

  first.socket.reconnect();
  obs.chatSyncAfterReconnect = normChat(await first.nextJson());
  first.close();

  const second = new Client("chat-2", { party: "chat", room, id: "chat-2" });
  obs.chatSyncNewSocket = normChat(await second.nextJson());
  second.send("this is not JSON");
  obs.chatInvalidClose = await second.nextClose();
  second.close();
}

// --- presence ------------------------------------------------------------------------
{
  const room = `presence-${run}`;
  const alice = new Client("presence-alice", { party: "presence", room, id: "p1", query: { name: "alice" } });
  const seen = [];
  seen.push(["alice", await alice.nextJson()]);
  const bob = new Client("presence-bob", { party: "presence", room, id: "p2", query: { name: "bob" } });
  seen.push(["bob", await bob.nextJson()], ["alice", await alice.nextJson()]);
  alice.send({ type: "status", status: "away" });
  seen.push(["alice", await alice.nextJson()], ["bob", await bob.nextJson()]);
  const nobody = new Client("presence-anon", { party: "presence", room, id: "p3" });
  seen.push(["anon", await nobody.nextJson()], ["alice", await alice.nextJson()]);
  bob.close();
  seen.push(["alice", await alice.nextJson()], ["anon", await nobody.nextJson()]);
  obs.presence = seen;
  alice.close();
  nobody.close();
}

// --- game --------------------------------------------------------------------------------
{
  const room = `game-${run}`;
  const moved = new Set([10, 20.5]);
  // Start positions are random; positions set by a move are compared exactly.
  const normGame = (value) =>
    JSON.parse(
      JSON.stringify(value, (key, field) => {
        if ((key === "x" || key === "y") && typeof field === "number" && !moved.has(field)) {
          const max = key === "x" ? 800 : 600;
          return field >= 0 && field < max ? "<random>" : field;
        }
        return field;
      }),
    );
  const seen = [];
  const g1 = new Client("game-1", { party: "game", room, id: "g1", query: { name: "alice" } });
  seen.push(["g1", await g1.nextJson()]);
  const g2 = new Client("game-2", { party: "game", room, id: "g2", query: { name: "bob" } });
  seen.push(["g2", await g2.nextJson()], ["g1", await g1.nextJson()]);
  g1.send({ type: "move", x: 10, y: 20.5 });
  seen.push(["g2", await g2.nextJson()]);
  const g3 = new Client("game-3", { party: "game", room, id: "g3" });
  seen.push(["g3", await g3.nextJson()], ["g1", await g1.nextJson()], ["g2", await g2.nextJson()]);
  g2.close();
  seen.push(["g1", await g1.nextJson()], ["g3", await g3.nextJson()]);
  g3.send("{ broken");
  seen.push(["g3 close", await g3.nextClose()]);
  obs.game = normGame(seen);
  g1.close();
  g3.close();
}

console.log(JSON.stringify(obs, null, 2));
process.exit(0);
