// The operator's console in a real browser: Debian's headless Chromium driven by
// puppeteer-core, against real `lbmirror serve` on MariaDB (SQLite without it), the dev server
// and the fault proxy. The overview draws its charts after a stream of webhooks, a failing
// target is listed with its error and Retry now mirrors it once the fault is gone, the webhook
// log filters by room, the passes are listed, the room view and Mirror again work, a room id
// and an event type made of HTML are shown as text and run nothing, and without the token
// nothing is rendered.
// Screenshots of each view go to LBMIRROR_TEST_OUTPUT_DIR (a temporary folder otherwise).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import {
  env, startMirror, startFaultProxy, sendEvent, signedRequest, post, storageUpdated, liveblocks, uniqueId,
  waitFor, freePort, MysqlMirrorDb, SqliteMirrorDb, parseJsonColumn,
} from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { threadEvent } from "./lib/checks.mjs";

const TOKEN = "console-token-for-the-browser-tests";
const CHROMIUM = "/usr/bin/chromium";
const output = process.env.LBMIRROR_TEST_OUTPUT_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-console-"));

describe("the console in Chromium", { skip: !fs.existsSync(CHROMIUM) && "needs Debian's chromium (scripts/install-deps.sh --test)" }, () => {
  const file = path.join(os.tmpdir(), `lbmirror-console-${process.pid}.db`);
  const prefix = `console${process.pid}_`;
  const db = env.mysqlUrl ? new MysqlMirrorDb(env.mysqlUrl) : new SqliteMirrorDb(file);
  const p = env.mysqlUrl ? prefix : "liveblocks_";
  let double, proxy, mirror, browser, page, admin;
  const documentOf = async (roomId) => (await db.query(`SELECT data FROM ${p}documents WHERE room_id = ?`, [roomId]))[0]?.data;
  const shot = (name) => page.screenshot({ path: path.join(output, `console-${name}.png`), fullPage: true });

  // An endpoint nothing listens on: it fails, and waits longer after each failure.
  const forwardConfig = path.join(os.tmpdir(), `lbmirror-console-forward-${process.pid}.json`);
  before(async () => {
    fs.writeFileSync(forwardConfig, JSON.stringify([{ name: "unreachable", url: "http://127.0.0.1:9/changes",
      secret: "whsec_" + Buffer.from("console-forwarding-secret-0001").toString("base64") }]));
    fs.mkdirSync(output, { recursive: true });
    console.log(`# screenshots in ${output}`);
    const port = await freePort();
    admin = `http://127.0.0.1:${port}`;
    double = await startLiveblocksDouble(env.baseUrl);  // the dev server, with threads
    proxy = await startFaultProxy(double.url);
    mirror = await startMirror({ databaseUrl: env.mysqlUrl ?? `sqlite:${file}`, baseUrl: proxy.url,
      extraArgs: [...(env.mysqlUrl ? ["--table-prefix", prefix] : []), "--admin-listen", `127.0.0.1:${port}`,
        "--admin-sample-interval", "1s", "--inbox-interval", "2s", "--change-feed", "--forward-config", forwardConfig],
      extraEnv: { LBMIRROR_ADMIN_TOKEN: TOKEN } });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.evaluateOnNewDocument(() => { window.__pwned = 0; });
  });
  after(async () => {
    await browser?.close();
    assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-2000));
    await proxy.close();
    await double.close();
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
    fs.rmSync(forwardConfig, { force: true });
  });

  test("without the token, or with another, the page answers 401 and renders nothing", async () => {
    for (const url of [`${admin}/`, `${admin}/?token=wrong-token-but-long-enough-000`]) {
      const response = await page.goto(url);
      assert.equal(response.status(), 401);
      assert.equal(await page.$("#charts"), null);
      assert.doesNotMatch(await page.content(), /Failing targets/);
    }
    await shot("unauthorized");
  });

  test("the overview draws its charts after a stream of webhooks; the token leaves the address bar", async () => {
    const roomId = uniqueId("console-stream");
    await liveblocks.createRoom(roomId);
    const started = Date.now();
    while (Date.now() - started < 2500) assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    const response = await page.goto(`${admin}/?token=${TOKEN}`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()["content-security-policy"], /script-src 'nonce-/);
    assert.equal(new URL(page.url()).search, "", "the token is not left in the address");
    await page.waitForFunction(() => Number(document.querySelector("#chart-webhooks")?.dataset.max) > 0, { timeout: 15000 });
    await page.waitForFunction(() => Number(document.querySelector("#chart-ack")?.dataset.max) > 0, { timeout: 15000 });
    // A line per event type and per REST outcome, each named in the legend.
    await page.waitForFunction(() => Number(document.querySelector('#chart-webhooks polyline[data-series="storageUpdated"]')?.dataset.max) > 0 &&
      Number(document.querySelector('#chart-rest polyline[data-series="200"]')?.dataset.max) > 0, { timeout: 15000 });
    const points = await page.$eval('#chart-webhooks polyline[data-series="storageUpdated"]', (line) => line.getAttribute("points").split(" ").length);
    assert.ok(points >= 2, `${points} points`);
    assert.match(await page.$eval("#chart-webhooks .legend", (e) => e.textContent), /storageUpdated \d/);
    assert.match(await page.$eval("#chart-ack .legend", (e) => e.textContent), /p99 .*mean /);
    assert.equal(await page.$("#chart-repaired"), null, "no reconciliation chart while reconciliation is off");
    assert.match(await page.$eval("#status", (e) => e.textContent), /updated/);
    await shot("overview");
  });

  test("a failing target is listed with its error; Retry now mirrors it once the fault is gone", async () => {
    const roomId = uniqueId("console-fail");
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { fixed: true });
    proxy.state.mode = "500";
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await page.waitForFunction((target) => [...document.querySelectorAll("#failures-body tr")]
      .some((row) => row.cells[0].textContent === target && /500/.test(row.cells[3].textContent)),
    { timeout: 20000 }, `storage:${roomId}`);
    await shot("failures");
    proxy.state.mode = "pass";
    await page.evaluate((target) => [...document.querySelectorAll("#failures-body tr")]
      .find((row) => row.cells[0].textContent === target).querySelector("button.retry").click(), `storage:${roomId}`);
    await waitFor("the document mirrored", async () => (await documentOf(roomId)) !== undefined, 15000);
    await page.waitForFunction((target) => ![...document.querySelectorAll("#failures-body tr")]
      .some((row) => row.cells[0].textContent === target), { timeout: 15000 }, `storage:${roomId}`);
  });

  test("the passes are listed with when they ran and what they marked", async () => {
    const user = uniqueId("console-user");
    const n = { kind: "thread", id: uniqueId("in"), roomId: "r", threadId: "th", notifiedAt: new Date().toISOString(), readAt: null };
    double.setNotification(user, n);
    const at = new Date().toISOString();
    assert.equal((await sendEvent(mirror, { type: "notification", data: { channel: "email", kind: "thread", projectId: "p",
      roomId: "r", userId: user, threadId: "th", inboxNotificationId: n.id, createdAt: at, triggeredAt: at } })).status, 200);
    await page.waitForFunction(() => [...document.querySelectorAll("#passes-body tr")].some((row) =>
      row.cells[0].textContent === "inbox" && row.cells[1].textContent === "2 s" &&
      /^\d{4}-\d\d-\d\d /.test(row.cells[3].textContent) && Number(row.cells[4].textContent) >= 1),
    { timeout: 20000 });
    await shot("passes");
  });

  test("the webhook log filters by room and shows a payload as received", async () => {
    const [a, b] = [uniqueId("console-log-a"), uniqueId("console-log-b")];
    for (const roomId of [a, b, a]) assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await page.type("#filter-room", a);
    await page.click("#webhook-filter button");
    await page.waitForFunction((room) => {
      const rows = [...document.querySelectorAll("#webhooks-body tr")];
      return rows.length === 2 && rows.every((row) => row.cells[2].textContent === room);
    }, { timeout: 10000 }, a);
    await page.click("#webhooks-body tr");
    const payload = await page.$eval("#payload", (e) => e.textContent);
    assert.equal(JSON.parse(payload).data.roomId, a);
    await shot("webhooks");
    await page.$eval("#filter-room", (e) => { e.value = ""; });
  });

  test("HTML in a room id, an event type and a comment is shown as text and runs nothing", async () => {
    const evil = `x<img src=x onerror="window.__pwned=1">${uniqueId("")}`;
    const comment = `<img src=z onerror="window.__pwned=3"> hello`;
    await liveblocks.createRoom(evil);
    const { threadId } = double.createThread(evil, { userId: "mallory", body: textBody(comment) });
    assert.equal((await sendEvent(mirror, threadEvent("threadCreated", evil, threadId, { createdBy: "mallory" }))).status, 200);
    await waitFor("the comment mirrored", async () =>
      (await db.query(`SELECT body_text FROM ${p}comments WHERE room_id = ?`, [evil]))[0]?.body_text === comment, 15000);
    const webhook = signedRequest({ type: `t<img src=y onerror="window.__pwned=2">`, data: { roomId: evil } });
    assert.equal((await post(mirror.url, webhook)).status, 200);
    assert.equal((await sendEvent(mirror, storageUpdated(evil))).status, 200);
    await page.reload();
    await page.waitForFunction((room) => [...document.querySelectorAll("#webhooks-body tr")]
      .some((row) => row.cells[2].textContent === room), { timeout: 15000 }, evil);
    await page.type("#room-id", evil);
    await page.click("#room-form button[type=submit]");
    await page.waitForFunction((room) => document.querySelector("#room-view").textContent.includes(room), { timeout: 10000 }, evil);
    assert.equal(await page.$eval("#room-comments tr:nth-child(2) td", (td) => td.textContent), comment);
    await shot("html-as-text");
    assert.equal(await page.evaluate(() => window.__pwned), 0, "no handler ran");
    assert.equal(await page.$$eval("img", (images) => images.length), 0, "no element was made from the text");
    assert.ok(await page.evaluate(() => document.body.textContent.includes('onerror="window.__pwned=2"')));
    await page.$eval("#room-id", (e) => { e.value = ""; });
  });

  test("the room view and Mirror again", async () => {
    const roomId = uniqueId("console-room");
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { v: 1 });
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await waitFor("the document", async () => (await documentOf(roomId)) !== undefined);
    await liveblocks.setStorage(roomId, { v: 2 });  // no webhook for it
    await page.type("#room-id", roomId);
    await page.click("#room-form button[type=submit]");
    await page.waitForFunction(() => [...document.querySelectorAll("#room-view tr")]
      .some((row) => row.cells[0].textContent === "documents" && row.cells[1].textContent === "1"), { timeout: 10000 });
    await shot("room");
    await page.click("#mirror-again");
    await page.waitForFunction(() => /marked to be read again/.test(document.querySelector("#status").textContent), { timeout: 10000 });
    await waitFor("the second version", async () => parseJsonColumn(await documentOf(roomId))?.v === 2, 15000);
    // The room's changes, newest first: among them its document's, the read Mirror again made
    // (with the room's row, read then too), named as its cause, then the webhook's.
    await page.click("#room-form button[type=submit]");
    await page.waitForFunction(() => [...document.querySelectorAll("#room-changes tr")]
      .filter((r) => r.cells[1].textContent === "document").length === 2, { timeout: 10000 });
    const all = await page.$$eval("#room-changes tr", (rows) => rows.slice(1).map((r) => [...r.cells].map((c) => c.textContent)));
    assert.ok(all.some((c) => c[1] === "room" && c[4] === "mirror_again"), JSON.stringify(all));
    const changes = all.filter((c) => c[1] === "document");
    assert.match(changes[0][0], / update$/);
    assert.match(changes[1][0], / insert$/);
    assert.deepEqual(changes.map((c) => [c[1], c[2], c[4].split(" ")[0]]),
      [["document", roomId, "mirror_again"], ["document", roomId, "webhook"]]);
    await shot("room-changes");
  });

  test("the forwarding panel shows a failing endpoint, and Retry now tries it again at once", async () => {
    // Once its backoff reached 10 s, and 7 s or more are left of it: an attempt within 4 s of
    // the click is the click's.
    await page.waitForFunction(() => [...document.querySelectorAll("#forwarding-body tr")].some((row) =>
      row.cells[0].textContent === "unreachable" && Number(row.cells[4].textContent) >= 6 &&
      Number(row.cells[5].textContent.replace(/[^0-9]/g, "")) >= 7 &&
      /POST failed/.test(row.cells[6].textContent)), { timeout: 60000, polling: 100 });
    await shot("forwarding");
    const failures = async () => Number(await page.$$eval("#forwarding-body tr", (rows) =>
      rows.find((r) => r.cells[0].textContent === "unreachable").cells[4].textContent));
    const before = await failures();
    await page.$$eval("#forwarding-body tr", (rows) =>
      rows.find((r) => r.cells[0].textContent === "unreachable").querySelector("button.retry").click());
    await page.waitForFunction(() => /retrying unreachable/.test(document.querySelector("#status").textContent), { timeout: 10000 });
    await waitFor("another attempt, at once", async () => (await failures()) > before, 4000);
  });
});
