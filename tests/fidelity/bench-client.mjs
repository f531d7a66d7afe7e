// The official `partysocket` client (with `ws`) as the JS baseline of `cargo xtask bench`:
// the same measurements as the Rust bench, against the same party-mock server. Prints one
// line of JSON. Every wait is bounded; the whole run gives up after RUN_MS.
//
// usage:
//   node bench-client.mjs throughput HOST:PORT SIZE WINDOW WARMUP_MS MEASURE_MS ROUNDS STALL_MS
//     one socket to an echo room, WINDOW messages of SIZE bytes in flight; echoes per
//     second over MEASURE_MS after WARMUP_MS, for each round
//   node --expose-gc bench-client.mjs idle HOST:PORT COUNT BATCH
//     resident set before and after opening COUNT idle sockets (BATCH at a time)

import PartySocket from "partysocket";
import WS from "ws";

const RUN_MS = 240000;
const OPEN_MS = 10000;
setTimeout(() => {
  console.error(`bench-client: gave up after ${RUN_MS} ms`);
  process.exit(3);
}, RUN_MS).unref();

const run = Math.random().toString(36).slice(2, 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a socket and resolves once its greeting arrived. */
function open(host, party, room) {
  return new Promise((resolve, reject) => {
    const socket = new PartySocket({ host, party, room, WebSocket: WS });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no greeting from ${party}/${room} within ${OPEN_MS} ms`));
    }, OPEN_MS);
    const greeted = () => {
      clearTimeout(timer);
      socket.removeEventListener("message", greeted);
      resolve(socket);
    };
    socket.addEventListener("message", greeted);
  });
}

/** Waits until `done()` holds, failing when `progress()` stops changing for `stallMs`. */
async function until(done, progress, stallMs) {
  let last = progress();
  let since = performance.now();
  while (!done()) {
    await sleep(10);
    const now = progress();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= stallMs) {
      return false;
    }
  }
  return true;
}

async function throughputRound(host, size, window, warmupMs, measureMs, stallMs, round) {
  const socket = await open(host, "echo", `js-throughput-${run}-${round}`);
  const payload = "x".repeat(size);
  let sent = 0;
  let echoed = 0;
  let stop = false;
  socket.addEventListener("message", () => {
    echoed += 1;
    if (!stop) {
      socket.send(payload);
      sent += 1;
    }
  });
  for (let i = 0; i < window; i += 1) {
    socket.send(payload);
    sent += 1;
  }
  await sleep(warmupMs);
  const before = echoed;
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  await sleep(measureMs);
  const counted = echoed - before;
  const elapsedMs = performance.now() - began;
  const cpu = process.cpuUsage(cpuBefore);
  stop = true;
  const drained = await until(() => echoed === sent, () => echoed, stallMs);
  socket.close();
  if (!drained) {
    return { stalled: true, echoed, in_flight: sent - echoed };
  }
  return {
    rate: counted / (elapsedMs / 1000),
    cpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
}

async function throughput(args) {
  const [host, size, window, warmupMs, measureMs, rounds, stallMs] = args;
  const results = [];
  for (let round = 0; round < Number(rounds); round += 1) {
    results.push(
      await throughputRound(
        host,
        Number(size),
        Number(window),
        Number(warmupMs),
        Number(measureMs),
        Number(stallMs),
        round,
      ),
    );
  }
  console.log(JSON.stringify({ rounds: results }));
}

function collect() {
  if (typeof global.gc !== "function") {
    throw new Error("run node with --expose-gc");
  }
  global.gc();
}

async function idle(args) {
  const [host, countText, batchText] = args;
  const count = Number(countText);
  const batch = Number(batchText);
  const room = `js-idle-${run}`;
  // One socket first, so what every socket shares (modules, code, pools) is in `before`.
  const sockets = [await open(host, "echo", room)];
  await sleep(200);
  collect();
  const before = process.memoryUsage().rss;
  for (let opened = 0; opened < count; opened += batch) {
    const size = Math.min(batch, count - opened);
    const next = await Promise.all(Array.from({ length: size }, () => open(host, "echo", room)));
    sockets.push(...next);
  }
  await sleep(1000);
  collect();
  const after = process.memoryUsage().rss;
  console.log(JSON.stringify({ before, after, sockets: sockets.length - 1 }));
  // Exiting closes every socket at once.
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);
const modes = { throughput, idle };
if (!modes[mode]) {
  console.error("usage: node bench-client.mjs throughput|idle HOST:PORT ...");
  process.exit(2);
}
modes[mode](args).catch((err) => {
  console.error(`bench-client: ${err.stack || err}`);
  process.exit(1);
});
