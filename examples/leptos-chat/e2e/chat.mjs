// The leptos-chat example end to end, in headless Chromium driven by playwright-core:
// two pages join a room, a message crosses from one to the other, the server stops,
// both show "reconnecting" and a stale presence count, a message typed during the outage
// shows as pending on its page (and nowhere else), the server comes back, both show
// "connected" and a fresh count, and the outage message arrives exactly once (on both
// pages and in the server's log) with nothing left pending.
//
// In mode `ssr` the page is the server-rendered one (leptos_axum): before any browser,
// its HTML must already show the chat in its first state with no connection made to the
// party server; in the browser it must hydrate without a hydration warning or page
// error, and every WebSocket must be created after hydration finished.
//
// usage: node chat.mjs <page URL> <party-mock host:port> <screenshot folder> [csr|ssr]
// The browser is $CHROMIUM. Every wait is bounded; the whole run gives up after 120 s.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [pageUrl, mockHost, shots, mode = "csr"] = process.argv.slice(2);
if (!pageUrl || !mockHost || !shots || !process.env.CHROMIUM || !["csr", "ssr"].includes(mode)) {
  console.error("usage: CHROMIUM=<browser> node chat.mjs <page URL> <mock host:port> <screenshot folder> [csr|ssr]");
  process.exit(2);
}
const ssr = mode === "ssr";
// What must not appear in a console or as an uncaught error (the SSR page only).
const problems = [];
const WAIT = 20_000;
const guard = setTimeout(() => {
  console.error("e2e: gave up after 120 s");
  process.exit(1);
}, 120_000);

const room = `e2e-${Date.now()}`;
const step = (what) => console.log(`e2e [${mode}]: ${what}`);

async function mock(method, path) {
  const response = await fetch(`http://${mockHost}/_mock/${path}`, { method });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function open(browser, name) {
  // One context per user: separate pages, as two people would have.
  const context = await browser.newContext({ viewport: { width: 720, height: 560 } });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      console.log(`  [${name} console.${message.type()}] ${message.text()}`);
      if (/hydrat/i.test(message.text())) problems.push(`${name}: console.${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => {
    console.log(`  [${name} page error] ${error.message}`);
    problems.push(`${name}: page error: ${error.message}`);
  });
  if (ssr) {
    // Whether the page was hydrated when each WebSocket was created.
    await page.addInitScript(() => {
      const Original = window.WebSocket;
      window.__socketsHydrated = [];
      window.WebSocket = new Proxy(Original, {
        construct(target, args) {
          window.__socketsHydrated.push(document.documentElement.dataset.hydrated === "true");
          return Reflect.construct(target, args);
        },
      });
    });
  }
  await page.goto(pageUrl + query(name), { timeout: WAIT });
  return page;
}

function query(name) {
  return `?host=${encodeURIComponent(mockHost)}&room=${room}&name=${name}`;
}

// The server-rendered HTML, fetched without a browser: the chat in its first state,
// the hydration script, and no connection to the party server.
async function serverRendered() {
  const response = await fetch(pageUrl + query("ada"));
  check(response.ok, `the SSR page answered ${response.status}`);
  const html = await response.text();
  check(html.includes(room), "the SSR page does not name the room");
  check(/id="status"[^>]*data-state="connecting"/.test(html), "the SSR page does not render the status as connecting");
  check(html.includes("… online"), "the SSR page does not render the presence placeholder");
  check(html.includes("mod.hydrate()"), "the SSR page has no hydration script");
  const log = await mock("GET", "log");
  const attempts = (log.attempts ?? []).filter((attempt) => JSON.stringify(attempt).includes(room));
  check(attempts.length === 0, `rendering on the server connected to the party server: ${JSON.stringify(attempts)}`);
  step("the server rendered the chat, connecting, with no socket");
}

async function hydratedBeforeConnecting(page, name) {
  await page.waitForSelector(`html[data-hydrated="true"]`, { timeout: WAIT });
  const sockets = await page.evaluate(() => window.__socketsHydrated);
  check(sockets.length >= 2, `${name}: ${sockets.length} WebSockets created, expected the chat's and presence's`);
  check(sockets.every((hydrated) => hydrated), `${name}: a WebSocket was created before hydration finished: ${JSON.stringify(sockets)}`);
}

async function status(page, state) {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout: WAIT });
}

// The presence count once the presence socket is open and the server has sent it.
const FRESH_TWO = `#online[data-state="fresh"]:text('2 online')`;

async function status_of(page) {
  return page.locator("#status").getAttribute("data-state", { timeout: WAIT });
}

async function type(page, text) {
  await page.fill("#message", text, { timeout: WAIT });
  await page.press("#message", "Enter", { timeout: WAIT });
}

async function appears(page, text) {
  await page
    .locator("#messages li .text", { hasText: text })
    .first()
    .waitFor({ timeout: WAIT });
}

async function count(page, text) {
  return page.locator("#messages li .text", { hasText: text }).count();
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function screenshots(pages, moment) {
  for (const [name, page] of Object.entries(pages)) {
    const file = join(shots, `${name}-${moment}.png`);
    await page.screenshot({ path: file });
    step(`saved ${file}`);
  }
}

mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox"],
});
let failed = false;
try {
  if (ssr) await serverRendered();
  const ada = await open(browser, "ada");
  const bob = await open(browser, "bob");
  await status(ada, "connected");
  await status(bob, "connected");
  if (ssr) {
    await hydratedBeforeConnecting(ada, "ada");
    await hydratedBeforeConnecting(bob, "bob");
    step("both pages hydrated, then connected");
  }
  await ada.waitForSelector(FRESH_TWO, { timeout: WAIT });
  await bob.waitForSelector(FRESH_TWO, { timeout: WAIT });
  step("both pages connected; 2 online, fresh");

  await type(ada, "hello from ada");
  await appears(bob, "hello from ada");
  await type(bob, "hi ada, bob here");
  await appears(ada, "hi ada, bob here");
  step("messages cross between the pages");
  await screenshots({ ada, bob }, "before-restart");

  // Down long enough to type and look; the pages retry meanwhile.
  await mock("POST", "restart?down_ms=5000");
  await status(ada, "reconnecting");
  await status(bob, "reconnecting");
  await ada.waitForSelector(`#online[data-state="stale"]:text('2 online (stale)')`, { timeout: WAIT });
  await bob.waitForSelector(`#online[data-state="stale"]`, { timeout: WAIT });
  step("the server is down: both pages show reconnecting and a stale count");
  const outage = "typed during the outage";
  await type(ada, outage);
  const pendingItem = ada.locator("#messages li.pending", { hasText: outage });
  await pendingItem.waitFor({ timeout: WAIT });
  check((await pendingItem.locator(".pending-label").innerText()) === "pending", "the outage message is not labelled pending");
  check((await status_of(ada)) === "reconnecting", "ada reconnected before the pending message was seen");
  check((await count(bob, outage)) === 0, "bob shows the outage message while the server is down");
  step("the message typed during the outage shows as pending on ada's page only");
  await screenshots({ ada }, "during-outage");

  await status(ada, "connected");
  await status(bob, "connected");
  step("both pages reconnected");
  await appears(bob, outage);
  await appears(ada, outage);
  await ada.locator("#messages li.pending").first().waitFor({ state: "detached", timeout: WAIT });
  await ada.waitForSelector(FRESH_TWO, { timeout: WAIT });
  await bob.waitForSelector(FRESH_TWO, { timeout: WAIT });
  step("the outage message is delivered, nothing is pending, the count is fresh");
  // Give a duplicate the time to show up, were there one.
  await new Promise((resolve) => setTimeout(resolve, 500));
  check((await ada.locator("#messages li.pending").count()) === 0, "ada still shows a pending message");
  check((await count(ada, outage)) === 1, `ada shows "${outage}" ${await count(ada, outage)} times`);
  check((await count(bob, outage)) === 1, `bob shows "${outage}" ${await count(bob, outage)} times`);
  check((await count(bob, "hello from ada")) === 1, "the history after the restart repeats a message");

  const log = await mock("GET", `log?party=chat&room=${room}`);
  const texts = log.received
    .flatMap((entry) => entry.messages)
    .map((entry) => JSON.parse(entry.message.data).text);
  const received = texts.filter((text) => text === outage).length;
  check(received === 1, `the server received "${outage}" ${received} times: ${JSON.stringify(texts)}`);
  step(`the server received the outage message once (${texts.length} messages in all)`);
  await screenshots({ ada, bob }, "after-restart");
  check(problems.length === 0, `hydration warnings or page errors:\n${problems.join("\n")}`);
  if (ssr) step("no hydration warning and no page error on either page");
  step("passed");
} catch (error) {
  failed = true;
  console.error(`e2e: FAILED: ${error.stack ?? error}`);
} finally {
  await browser.close();
  clearTimeout(guard);
}
process.exit(failed ? 1 : 0);
