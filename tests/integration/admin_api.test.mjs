// The admin listener of `lbmirror serve` (the operator's API): on only with an admin token,
// every /api/ request refused without it (401, nothing else), the queue with its failures, the
// webhook log filtered by room, Retry now and replay, and the health and metrics pages mirrored
// there for probes. Against real `lbmirror serve` on SQLite and the dev server, through the
// fault proxy.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  env, startMirror, startFaultProxy, sendEvent, storageUpdated, liveblocks, uniqueId, waitFor, freePort,
} from "./lib/harness.mjs";

const TOKEN = "admin-token-for-the-tests-0123456789";

describe("the admin API", () => {
  const file = path.join(os.tmpdir(), `lbmirror-admin-${process.pid}.db`);
  let proxy;
  let mirror;
  let admin;
  const api = (route, { token = TOKEN, method = "GET", body } = {}) => fetch(`${admin}${route}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  const documentOf = async (roomId) => spawnSync("sqlite3", [file, `SELECT data FROM liveblocks_documents WHERE room_id = '${roomId}'`],
    { encoding: "utf8" }).stdout.trim();

  before(async () => {
    const port = await freePort();
    admin = `http://127.0.0.1:${port}`;
    proxy = await startFaultProxy();
    mirror = await startMirror({ databaseUrl: `sqlite:${file}`, baseUrl: proxy.url,
      extraArgs: ["--admin-listen", `127.0.0.1:${port}`, "--admin-sample-interval", "1s", "--inbox-interval", "24h"],
      extraEnv: { LBMIRROR_ADMIN_TOKEN: TOKEN } });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-2000));
    assert.ok(!mirror.log().includes(TOKEN), "the token never reaches the log");
    await proxy.close();
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });

  test("without the token, or with another, every API route answers 401 and nothing else", async () => {
    for (const token of [null, "wrong-token-of-the-same-size-0000000", `${TOKEN}x`, ""]) {
      for (const [route, method, body] of [["/api/overview", "GET"], ["/api/queue", "GET"], ["/api/events", "GET"], ["/api/room?id=x", "GET"],
        ["/api/mirror", "POST", { room: "x" }],
        ["/api/retry", "POST", { failed: true }], ["/api/replay", "POST", { since: "1h" }]]) {
        const response = await api(route, { token, method, body });
        assert.equal(response.status, 401, `${method} ${route} with ${token}`);
        assert.equal(response.headers.get("www-authenticate"), "Bearer");
        assert.deepEqual(await response.json(), { error: "the admin token is missing or wrong" });
      }
    }
    // A cookie is not a token.
    const cookie = await fetch(`${admin}/api/queue`, { headers: { cookie: `token=${TOKEN}` } });
    assert.equal(cookie.status, 401);
  });

  test("the overview: rates per second between samples, the queue and the acknowledgement latency", async () => {
    const roomId = uniqueId("admin-overview");
    await liveblocks.createRoom(roomId);
    const started = Date.now();
    // Webhooks for about three samples.
    while (Date.now() - started < 3000) {
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    }
    const overview = await waitFor("a sample with webhooks", async () => {
      const body = await (await api("/api/overview")).json();
      return body.points.some((p) => p.webhooks_per_s > 0) ? body : null;
    }, 10000);
    assert.equal(overview.interval_s, 1);
    const busy = overview.points.filter((p) => p.webhooks_per_s > 0);
    for (const point of busy) {
      assert.ok(point.webhooks_by_type_per_s.storageUpdated > 0, JSON.stringify(point));
      assert.ok(point.ack_p99_ms > 0 && point.ack_mean_ms > 0, JSON.stringify(point));
      assert.ok(!Number.isNaN(Date.parse(point.at)));
      assert.equal(point.repaired, 0, "nothing repaired without reconciliation");
    }
    assert.ok(busy.some((p) => p.mirrored_per_s > 0 || p.rest_reads_per_s["200"] > 0), "reads and completions show");
    const last = overview.points[overview.points.length - 1];
    assert.equal(typeof last.pending, "number");
    assert.equal(typeof last.failed, "number");
    assert.equal(overview.reconcile, null, "reconciliation is off in these tests");
  });

  test("health, readiness and metrics are mirrored there without the token", async () => {
    assert.deepEqual(await (await fetch(`${admin}/healthz`)).json(), { status: "ok" });
    assert.deepEqual(await (await fetch(`${admin}/readyz`)).json(), { status: "ready" });
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^lbmirror_database_up 1$/m);
    assert.equal((await fetch(`http://127.0.0.1:${mirror.port}/metrics`)).status, 200, "the main listener keeps its pages");
  });

  test("a failing target is listed with its error; Retry now mirrors it once the fault is gone", async () => {
    const roomId = uniqueId("admin-fail");
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { retried: true });
    proxy.state.mode = "500";
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    const failure = await waitFor("the failure listed", async () =>
      (await (await api("/api/queue")).json()).failures.find((f) => f.room_id === roomId));
    assert.equal(failure.target, `storage:${roomId}`);
    assert.equal(failure.kind, "storage");
    assert.ok(failure.attempts >= 1);
    assert.match(failure.last_error, /500/);
    assert.ok(failure.next_attempt_in_s > 0, "waiting for its backoff");
    proxy.state.mode = "pass";
    const retried = await api("/api/retry", { method: "POST", body: { target: `storage:${roomId}` } });
    assert.equal(retried.status, 200);
    assert.deepEqual(await retried.json(), { made_due: 1 });
    await waitFor("the document mirrored", async () => (await documentOf(roomId)) === '{"retried":true}', 10000);
    const queue = await (await api("/api/queue")).json();
    assert.ok(!queue.failures.some((f) => f.room_id === roomId));
    const inbox = queue.passes.find((pass) => pass.name === "inbox");
    assert.ok(inbox, JSON.stringify(queue.passes));
    assert.equal(inbox.interval_s, 86400, "every 24 h");
    assert.equal(queue.passes.find((pass) => pass.name === "groups").interval_s, 0, "off");
    assert.equal(inbox.unsupported, false);
    assert.equal(typeof inbox.pending, "number");
    const stored = queue.webhooks.find((w) => w.type === "storageUpdated");
    assert.ok(stored && stored.count >= 1, JSON.stringify(queue.webhooks));
    assert.match(stored.last_received_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    for (const body of [{}, { target: "planet:x" }, { failed: "yes" }]) {
      const bad = await api("/api/retry", { method: "POST", body });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    assert.equal((await fetch(`${admin}/api/retry`, { method: "POST", body: "not json",
      headers: { authorization: `Bearer ${TOKEN}` } })).status, 400);
  });

  test("the webhook log filters by room, newest first, with each payload and its targets", async () => {
    const [a, b] = [uniqueId("admin-log-a"), uniqueId("admin-log-b")];
    for (const roomId of [a, b, a]) {
      await liveblocks.createRoom(roomId).catch(() => {});
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    }
    const log = await (await api(`/api/events?room=${encodeURIComponent(a)}&limit=10`)).json();
    assert.equal(log.events.length, 2);
    for (const event of log.events) {
      assert.equal(event.room_id, a);
      assert.equal(event.type, "storageUpdated");
      assert.deepEqual(JSON.parse(event.payload).data.roomId, a);
      assert.deepEqual(event.targets, [`storage:${a}`]);
    }
    assert.ok(log.events[0].received_at >= log.events[1].received_at, "newest first");
    const typed = await (await api("/api/events?type=roomDeleted&since=1h")).json();
    assert.deepEqual(typed.events, []);
    assert.equal((await api("/api/events?since=soon")).status, 400);
    const one = await (await api(`/api/events?room=${encodeURIComponent(a)}&limit=1`)).json();
    assert.equal(one.events.length, 1, "limit is applied");
    for (const limit of ["0", "501", "-1", "2x", "99999999999999999999", ""]) {
      const bad = await api(`/api/events?limit=${limit}`);
      if (limit === "") { assert.equal(bad.status, 200); continue; }
      assert.equal(bad.status, 400, `limit=${limit}`);
      assert.deepEqual(await bad.json(), { error: "limit must be a whole number from 1 to 500" });
    }
  });

  test("a room: what is mirrored of it, and Mirror again reads it anew", async () => {
    const roomId = uniqueId("admin-room");
    await liveblocks.createRoom(roomId, { metadata: { team: "ops" } });
    await liveblocks.setStorage(roomId, { v: 1 });
    for (const event of [storageUpdated(roomId)]) assert.equal((await sendEvent(mirror, event)).status, 200);
    await waitFor("the document", async () => (await documentOf(roomId)) === '{"v":1}');
    const room = await (await api(`/api/room?id=${encodeURIComponent(roomId)}`)).json();
    assert.equal(room.room_id, roomId);
    assert.equal(room.known, false, "no room event came, so no room row");
    const documents = room.tables.find((t) => t.table === "documents");
    assert.deepEqual([documents.rows, documents.live], [1, 1]);
    assert.match(documents.last_synced_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.deepEqual(room.pending, []);
    await liveblocks.setStorage(roomId, { v: 2 });  // no webhook for it
    const again = await api("/api/mirror", { method: "POST", body: { room: roomId } });
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { marked: 4 });  // room, Storage, Yjs, active users
    await waitFor("the second version", async () => (await documentOf(roomId)) === '{"v":2}', 10000);
    const after = await (await api(`/api/room?id=${encodeURIComponent(roomId)}`)).json();
    assert.equal(after.known, true, "the room's own row was read too");
    assert.equal((await api("/api/room")).status, 400);
    assert.equal((await api("/api/mirror", { method: "POST", body: {} })).status, 400);
  });

  test("replay re-marks the targets of a room's webhooks", async () => {
    const roomId = uniqueId("admin-replay");
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { v: 1 });
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await waitFor("the first version", async () => (await documentOf(roomId)) === '{"v":1}');
    await liveblocks.setStorage(roomId, { v: 2 });  // no webhook for it
    const replayed = await api("/api/replay", { method: "POST", body: { since: "1h", room: roomId } });
    assert.equal(replayed.status, 200);
    assert.deepEqual(await replayed.json(), { webhooks: 1, targets: 1, without_targets: 0, unreadable: 0 });
    await waitFor("the second version, read again", async () => (await documentOf(roomId)) === '{"v":2}', 10000);
    for (const body of [{}, { since: "1h", until: "2h" }, { since: "later" }]) {
      assert.equal((await api("/api/replay", { method: "POST", body })).status, 400, JSON.stringify(body));
    }
  });
});

describe("the admin listener's configuration", () => {
  test("off without a token; a short token is refused at start", async () => {
    const file = path.join(os.tmpdir(), `lbmirror-admin-off-${process.pid}.db`);
    const port = await freePort();
    const mirror = await startMirror({ databaseUrl: `sqlite:${file}`, extraArgs: ["--admin-listen", `127.0.0.1:${port}`] });
    try {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/api/queue`), "nothing listens without a token");
    } finally {
      assert.equal((await mirror.stop()).code, 0);
    }
    const short = spawnSync(env.bin, ["serve", "--listen", "127.0.0.1:0", "--database-url", `sqlite:${file}`],
      { encoding: "utf8", env: { PATH: process.env.PATH, LIVEBLOCKS_SECRET_KEY: "sk_localdev", LBMIRROR_ADMIN_TOKEN: "short" } });
    assert.equal(short.status, 2);
    assert.match(short.stderr + short.stdout, /LBMIRROR_ADMIN_TOKEN must be 16 characters or more/);
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });
});
