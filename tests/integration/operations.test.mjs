// Operating the mirror: backfill (paginated, interrupted and resumed, deleted rooms), background
// reconciliation, poll mode without webhooks, /metrics, /readyz, status, prune, lbmirror healthcheck
// and secrets read from NAME_FILE.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  env, startMirror, sendEvent, signedRequest, post, liveblocks, storageUpdated, roomEvent,
  uniqueId, waitFor, startFaultProxy, parseJsonColumn, backends,
} from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { roomDifferences } from "./lib/checks.mjs";
import { tiptapUpdate } from "./lib/yjs_editors.mjs";

const ROOMS = 300;

function lbmirror(args, { extraEnv = {} } = {}) {
  return spawn(env.bin, args, {
    env: { PATH: process.env.PATH, LIVEBLOCKS_SECRET_KEY: "sk_localdev", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
async function finish(proc) {
  let output = "";
  proc.stdout.on("data", (d) => { output += d; });
  proc.stderr.on("data", (d) => { output += d; });
  const code = await new Promise((resolve) => proc.on("exit", (c, signal) => resolve(c ?? signal)));
  return { code, output };
}

function sqliteBackend(name) {
  return backends(`ops-${name}`, { servers: false })[0];
}

describe(`backfill of ${ROOMS} rooms`, () => {
  const roomPrefix = uniqueId("bf") + "-";
  const rooms = [];
  const threads = new Map();
  let double;
  before(async () => {
    double = await startLiveblocksDouble(env.baseUrl);
    for (let i = 0; i < ROOMS; i++) {
      const roomId = `${roomPrefix}${String(i).padStart(3, "0")}`;
      await liveblocks.createRoom(roomId, { metadata: { index: String(i) } });
      await liveblocks.setStorage(roomId, { index: i, title: `room ${i}` });
      if (i % 25 === 0) await liveblocks.putYdoc(roomId, tiptapUpdate(`Doc ${i}`, "backfilled text"));
      if (i % 50 === 0) {
        const { threadId } = double.createThread(roomId, { userId: "alice", body: textBody(`thread in ${i}`) });
        threads.set(roomId, [threadId]);
      }
      rooms.push(roomId);
    }
    // Known to the mirror once her threads are: the backfill then reads her inbox.
    double.setNotification("alice", { kind: "thread", id: "in_backfilled", roomId: rooms[0], threadId: "th_x",
      notifiedAt: new Date().toISOString(), readAt: null });
  });
  after(() => double.close());

  for (const backend of backends("ops")) {
    test(`into ${backend.name}: interrupted, resumed, and deleted rooms found by a full pass`, async () => {
      backend.cleanup();
      const { db, prefix: p } = backend;
      const args = ["backfill", "--room-prefix", roomPrefix, "--database-url", backend.databaseUrl, "--table-prefix", p];
      // No REST budget: 300 rooms at the default 100 requests a second would only slow this
      // test down (the budget's own tests are in no_webhook_data.test.mjs).
      const extraEnv = { LIVEBLOCKS_BASE_URL: double.url, LBMIRROR_REST_BUDGET: "0" };

      // Interrupted while listing: pages come slowly, SIGINT after the first one.
      double.state.roomPageDelayMs = 400;
      const pagesBefore = double.state.roomPages;
      const first = lbmirror(args, { extraEnv });
      const firstDone = finish(first);
      await waitFor("the second page to be asked for", async () => double.state.roomPages >= pagesBefore + 2);
      first.kill("SIGINT");
      const interrupted = await firstDone;
      assert.equal(interrupted.code, 130, interrupted.output);
      assert.match(interrupted.output, /run the same command again to resume/);

      // Resumed: continues after the pages it had listed, then mirrors everything.
      double.state.roomPageDelayMs = 0;
      const resumed = await finish(lbmirror(args, { extraEnv }));
      assert.equal(resumed.code, 0, resumed.output);
      assert.match(resumed.output, /resuming an interrupted backfill after \d+ rooms/);
      assert.match(resumed.output, new RegExp(`backfill done: ${ROOMS} rooms`));
      assert.match(resumed.output, /inbox done: 1 targets read/, "alice, the author of the threads");
      assert.match(resumed.output, /groups done: 1 targets read/);
      const [notification] = await db.query(`SELECT user_id, read_at FROM ${p}notifications WHERE inbox_notification_id = ?`,
        ["in_backfilled"]);
      assert.deepEqual({ ...notification }, { user_id: "alice", read_at: null });
      assert.ok(!resumed.output.includes("sk_localdev"), "the secret key is never printed");

      const differing = [];
      for (const roomId of rooms) {
        differing.push(...await roomDifferences(db, p, roomId, { double, threadIds: threads.get(roomId) ?? [] }));
      }
      assert.deepEqual(differing, []);

      // A room deleted in Liveblocks is marked deleted by the next complete pass.
      const gone = rooms[7];
      await liveblocks.deleteRoom(gone);
      const full = await finish(lbmirror([...args, "--restart"], { extraEnv }));
      assert.equal(full.code, 0, full.output);
      assert.match(full.output, /1 mirrored rooms are no longer in Liveblocks/);
      const row = (await db.query(`SELECT deleted_at FROM ${p}rooms WHERE room_id = ?`, [gone]))[0];
      assert.notEqual(row.deleted_at, null);
      const doc = (await db.query(`SELECT deleted_at FROM ${p}documents WHERE room_id = ?`, [gone]))[0];
      assert.notEqual(doc.deleted_at, null);
      await liveblocks.createRoom(gone, { metadata: { index: "7" } });  // for the other backend
      await liveblocks.setStorage(gone, { index: 7, title: "room 7" });
      backend.cleanup();
    });
  }

  test("bad arguments get a clear message and exit 2", async () => {
    const bad = await finish(lbmirror(["backfill", "--kinds", "storage,nonsense", "--database-url", "sqlite::memory:"]));
    assert.equal(bad.code, 2);
    assert.match(bad.output, /unknown kind "nonsense"/);
    const noKey = await finish(spawn(env.bin, ["backfill"], { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] }));
    assert.equal(noKey.code, 2);
    assert.match(noKey.output, /LIVEBLOCKS_SECRET_KEY is not set/);
  });
});

// ---- metrics in the Prometheus text format -----------------------------------------------

function parseMetrics(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m;
    if ((m = line.match(/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/))) {
      if (m[1] === "TYPE") {
        assert.ok(["counter", "gauge", "histogram"].includes(m[3]), line);
        types.set(m[2], m[3]);
      }
      continue;
    }
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|NaN)$/);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]) || types.has(family), `sample before its TYPE: ${line}`);
    samples.set(m[1] + (m[2] ?? ""), Number(m[3]));
  }
  return samples;
}
async function scrape(mirror) {
  const res = await fetch(`http://127.0.0.1:${mirror.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

for (const backend of backends("serve")) describe(`operating lbmirror serve on ${backend.name}`, () => {
  const p = backend.prefix;
  const cli = ["--database-url", backend.databaseUrl, ...backend.extraArgs];
  let mirror;
  before(async () => {
    backend.cleanup();
    mirror = await startMirror({ databaseUrl: backend.databaseUrl,
      extraArgs: [...backend.extraArgs, "--reconcile-interval", "1s", "--room-prefix", "reconcile-"] });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0);
    backend.cleanup();
  });

  test("/readyz and /metrics: the text parses and the counters move with webhooks", async () => {
    const ready = await fetch(`http://127.0.0.1:${mirror.port}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
    const roomId = uniqueId("metrics");
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { a: 1 });
    const before = await scrape(mirror);
    const stored = 'lbmirror_webhooks_total{type="storageUpdated",outcome="stored"}';
    const rejected = 'lbmirror_webhooks_total{type="unparsed",outcome="rejected"}';
    for (let i = 0; i < 2; i++) assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    const forged = signedRequest(storageUpdated(roomId));
    forged.headers["webhook-signature"] = "v1,AAAA";
    assert.equal((await post(mirror.url, forged)).status, 401);
    await waitFor("the document", async () => (await backend.db.query(`SELECT data FROM ${p}documents WHERE room_id = ?`, [roomId]))[0]);
    const now = await scrape(mirror);
    assert.equal((now.get(stored) ?? 0) - (before.get(stored) ?? 0), 2);
    assert.equal((now.get(rejected) ?? 0) - (before.get(rejected) ?? 0), 1);
    assert.equal(now.get("lbmirror_webhook_ack_seconds_count") - before.get("lbmirror_webhook_ack_seconds_count"), 3);
    assert.equal(now.get('lbmirror_webhook_ack_seconds_bucket{le="+Inf"}'), now.get("lbmirror_webhook_ack_seconds_count"));
    assert.ok(now.get('lbmirror_rest_reads_total{outcome="200"}') > (before.get('lbmirror_rest_reads_total{outcome="200"}') ?? 0));
    assert.ok(now.get("lbmirror_db_write_seconds_count") > 0);
    assert.equal(now.get("lbmirror_database_up"), 1);
    for (const name of ["lbmirror_targets_pending", "lbmirror_targets_failed", "lbmirror_oldest_pending_target_age_seconds"]) {
      assert.ok(now.has(name), name);
    }
  });

  test("reconciliation marks a room deleted without a webhook and refreshes changed metadata", async () => {
    const goneRoom = uniqueId("reconcile-gone");
    const changedRoom = uniqueId("reconcile-meta");
    for (const roomId of [goneRoom, changedRoom]) {
      await liveblocks.createRoom(roomId, { metadata: { v: "1" } });
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
    }
    await waitFor("both rooms", async () => Number((await backend.db.query(
      `SELECT COUNT(*) AS n FROM ${p}rooms WHERE room_id IN (?, ?)`, [goneRoom, changedRoom]))[0].n) === 2);
    // Let the mirror settle: two more passes and nothing pending.
    const settledFrom = (await scrape(mirror)).get("lbmirror_reconcile_passes_total");
    await waitFor("the mirror to settle", async () => {
      const m = await scrape(mirror);
      return m.get("lbmirror_reconcile_passes_total") >= settledFrom + 2 && m.get("lbmirror_targets_pending") === 0;
    }, 60000, 200);
    const before = await scrape(mirror);
    await liveblocks.deleteRoom(goneRoom);
    await liveblocks.updateRoom(changedRoom, { metadata: { v: "2" } });
    await waitFor("the deleted room to be marked deleted", async () =>
      (await backend.db.query(`SELECT deleted_at FROM ${p}rooms WHERE room_id = ?`, [goneRoom]))[0].deleted_at !== null, 30000);
    await waitFor("the changed metadata", async () => {
      const row = (await backend.db.query(`SELECT metadata FROM ${p}rooms WHERE room_id = ?`, [changedRoom]))[0];
      return parseJsonColumn(row.metadata).v === "2";
    }, 30000);
    const now = await scrape(mirror);
    // Found as gone from the listing, or (when a pass listed it just before the delete) as
    // Storage that no longer exists: a repair either way.
    assert.ok(now.get("lbmirror_reconcile_repaired_total") > before.get("lbmirror_reconcile_repaired_total"),
      "a deleted room with no roomDeleted webhook counts as repaired");
    assert.ok(now.get("lbmirror_reconcile_rooms_refreshed_total") > (before.get("lbmirror_reconcile_rooms_refreshed_total") ?? 0));
    assert.match(mirror.log(), /reconciliation: .* rows repaired/);
  });

  test("prune deletes stored webhooks older than the given age", async () => {
    const roomId = uniqueId("prune");
    await liveblocks.createRoom(roomId);
    const oldId = uniqueId("msg-old");
    const newId = uniqueId("msg-new");
    assert.equal((await post(mirror.url, signedRequest(storageUpdated(roomId), { id: oldId }))).status, 200);
    assert.equal((await post(mirror.url, signedRequest(storageUpdated(roomId), { id: newId }))).status, 200);
    await backend.db.query(`UPDATE ${p}events SET received_at = '2020-01-01 00:00:00.000' WHERE webhook_id = ?`, [oldId]);
    const out = execFileSync(env.bin, ["prune", "--events-older-than", "30d", ...cli],
      { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.match(out, /deleted 1 stored webhooks received before/);
    const left = await backend.db.query(`SELECT webhook_id FROM ${p}events WHERE webhook_id IN (?, ?)`, [oldId, newId]);
    assert.deepEqual(left.map((r) => r.webhook_id), [newId]);
    assert.throws(() => execFileSync(env.bin, ["prune", "--events-older-than", "soon", ...cli],
      { stdio: "pipe" }), (e) => e.status === 2 && /at least 1m/.test(String(e.stderr)));
  });
});

describe("status", () => {
  const backend = sqliteBackend("status");
  let proxy;
  let mirror;
  before(async () => {
    backend.cleanup();
    proxy = await startFaultProxy();
    mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: proxy.url,
      extraArgs: ["--reconcile-interval", "0", "--inbox-interval", "1h"] });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0);
    await proxy.close();
    backend.cleanup();
  });

  test("shows a failing target with its error, and the last webhook per type", async () => {
    const roomId = uniqueId("status");
    await liveblocks.createRoom(roomId);
    proxy.state.mode = "500";
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await waitFor("the failure", async () =>
      (await backend.db.query("SELECT last_error FROM liveblocks_targets WHERE scope_id = ?", [roomId]))[0]?.last_error);
    const out = execFileSync(env.bin, ["status", "--database-url", backend.databaseUrl], { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.match(out, /targets pending: 1/);
    assert.match(out, /targets failed: 1/);
    assert.match(out, new RegExp(`storage:${roomId}: \\d+ attempt\\(s\\), next in \\d+ s: .*500`));
    assert.match(out, /storageUpdated 1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/);
    assert.match(out, /^  inbox: started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC, finished .* UTC, 0 targets marked; 0 pending, 0 failed$/m,
      "the inbox pass ran at start and found no user yet");
    assert.match(out, /^  groups: never run$/m, "off (the harness turns the passes off unless asked)");

    // The room, as `lbmirror room` shows it: known from its webhook's target, not yet mirrored.
    const cli = ["--database-url", backend.databaseUrl];
    const room = execFileSync(env.bin, ["room", roomId, ...cli], { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.match(room, new RegExp(`^room ${roomId}: not in the mirror$`, "m"));
    assert.match(room, /^targets waiting to be read: 1$/m);
    assert.match(room, new RegExp(`^  storage:${roomId}: \\d+ attempt\\(s\\): .*500`, "m"));
    proxy.state.mode = "pass";

    // Mirror again: every target of the room due now, read by the running serve.
    const again = execFileSync(env.bin, ["room", roomId, "--mirror-again", ...cli], { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.match(again, new RegExp(`^4 targets of ${roomId} are due now`, "m"));
    await waitFor("the room mirrored", async () =>
      (await backend.db.query("SELECT deleted_at FROM liveblocks_rooms WHERE room_id = ?", [roomId])).length === 1 &&
      (await backend.db.query("SELECT 1 FROM liveblocks_targets WHERE scope_id = ? AND dirty_seq > done_seq", [roomId])).length === 0);
    const mirrored = execFileSync(env.bin, ["room", roomId, ...cli], { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.match(mirrored, new RegExp(`^room ${roomId}: live$`, "m"));
    assert.match(mirrored, /^targets waiting to be read: 0$/m);
    assert.match(mirrored, /^  documents 1 1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/m);
    assert.throws(() => execFileSync(env.bin, ["room", "", ...cli], { stdio: "pipe" }),
      (e) => e.status === 2 && /give the room's id/.test(String(e.stderr)));
  });
});

for (const backend of backends("poll")) describe(`poll mode, without webhooks, on ${backend.name}`, () => {
  const p = backend.prefix;
  const roomPrefix = uniqueId("poll") + "-";
  let mirror;
  before(async () => {
    backend.cleanup();
    mirror = await startMirror({ databaseUrl: backend.databaseUrl, secret: "",
      extraArgs: [...backend.extraArgs, "--poll", "1s", "--room-prefix", roomPrefix] });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0);
    backend.cleanup();
  });

  test("mirrors rooms, Storage and Yjs changed on the dev server without any webhook", async () => {
    const roomId = `${roomPrefix}room`;
    const other = uniqueId("not-polled");
    await liveblocks.createRoom(other);
    await liveblocks.createRoom(roomId, { metadata: { kind: "poll" } });
    await liveblocks.setStorage(roomId, { step: 1 });
    const row = async () => (await backend.db.query(`SELECT data FROM ${p}documents WHERE room_id = ?`, [roomId]))[0];
    await waitFor("the first version", async () => parseJsonColumn((await row())?.data ?? "null")?.step === 1, 20000);
    await liveblocks.setStorage(roomId, { step: 2 });
    await liveblocks.putYdoc(roomId, tiptapUpdate("Polled", "found without a webhook"));
    await waitFor("the second version", async () => parseJsonColumn((await row()).data).step === 2, 20000);
    await waitFor("the Yjs text", async () =>
      (await backend.db.query(`SELECT text FROM ${p}ydocs WHERE room_id = ?`, [roomId]))[0]?.text === "Polled\nfound without a webhook", 20000);
    assert.deepEqual(await roomDifferences(backend.db, p, roomId), []);
    const outside = await backend.db.query(`SELECT COUNT(*) AS n FROM ${p}rooms WHERE room_id = ?`, [other]);
    assert.equal(Number(outside[0].n), 0, "--room-prefix keeps other rooms out");
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 404, "no webhook route without a secret");
    assert.match(mirror.log(), /polling the Liveblocks API every 1 s/);
  });
});

for (const backend of backends("replay")) describe(`lbmirror replay on ${backend.name}`, () => {
  const p = backend.prefix;
  const cli = ["--database-url", backend.databaseUrl, ...backend.extraArgs];
  const replay = (...args) => execFileSync(env.bin, ["replay", ...args, ...cli], { encoding: "utf8", env: { PATH: process.env.PATH } });
  const dirty = async () => (await backend.db.query(
    `SELECT kind, scope_id FROM ${p}targets WHERE dirty_seq > done_seq ORDER BY kind, scope_id`)).map((r) => `${r.kind}:${r.scope_id}`);

  test("a time range re-marks exactly the targets of the webhooks received in it", async () => {
    backend.cleanup();
    const rooms = { old: uniqueId("replay-old"), middle: uniqueId("replay-mid"), recent: uniqueId("replay-new") };
    const ids = {};
    const mirror = await startMirror({ databaseUrl: backend.databaseUrl, extraArgs: backend.extraArgs });
    try {
      for (const [age, roomId] of Object.entries(rooms)) {
        await liveblocks.createRoom(roomId);
        await liveblocks.setStorage(roomId, { age });
        ids[age] = uniqueId("msg-replay");
        assert.equal((await post(mirror.url, signedRequest(storageUpdated(roomId), { id: ids[age] }))).status, 200);
      }
      await waitFor("every target read", async () => (await dirty()).length === 0, 30000);
    } finally {
      assert.equal((await mirror.stop()).code, 0);
    }
    // As if received 3 h ago, 90 min ago and now.
    for (const [age, hours] of [["old", 3], ["middle", 1.5]]) {
      const at = new Date(Date.now() - hours * 3600e3).toISOString().replace("T", " ").replace("Z", "");
      await backend.db.query(`UPDATE ${p}events SET received_at = '${at}' WHERE webhook_id = ?`, [ids[age]]);
    }
    const out = replay("--since", "2h", "--until", "1h");
    assert.match(out, /^replayed 1 stored webhooks received from .* UTC: 1 targets marked dirty\n$/);
    assert.deepEqual(await dirty(), [`storage:${rooms.middle}`]);
    assert.match(replay("--since", "4h", "--type", "storageUpdated", "--room", rooms.old), /replayed 1 stored webhooks/);
    assert.deepEqual(await dirty(), [`storage:${rooms.middle}`, `storage:${rooms.old}`].sort());
    assert.match(replay("--since", "10m", "--type", "roomDeleted"), /replayed 0 stored webhooks .*: 0 targets marked dirty/);
    assert.throws(() => execFileSync(env.bin, ["replay", "--since", "1h", "--until", "2h", ...cli], { stdio: "pipe" }),
      (e) => e.status === 2 && /--until must be shorter ago than --since/.test(String(e.stderr)));
    assert.throws(() => execFileSync(env.bin, ["replay", "--since", "soon", ...cli], { stdio: "pipe" }),
      (e) => e.status === 2 && /--since must be a duration/.test(String(e.stderr)));
    backend.cleanup();
  });
});

describe("healthcheck and secrets from files", () => {
  const backend = sqliteBackend("probe");
  let mirror;
  before(async () => { mirror = await startMirror({ databaseUrl: backend.databaseUrl }); });
  after(async () => { await mirror?.stop(); backend.cleanup(); });

  test("lbmirror healthcheck: 0 when serve answers 200, 1 when nothing answers, 2 for a bad address", async () => {
    const check = (args, listen) => finish(lbmirror(["healthcheck", ...args], { extraEnv: listen ? { LBMIRROR_LISTEN: listen } : {} }));
    assert.equal((await check([], `127.0.0.1:${mirror.port}`)).code, 0, "LBMIRROR_LISTEN names the port");
    assert.equal((await check(["--path", "/readyz", "--listen", `0.0.0.0:${mirror.port}`])).code, 0, "0.0.0.0 is asked on loopback");
    const missing = await check(["--path", "/nowhere", "--listen", `127.0.0.1:${mirror.port}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.output, /answered 404/);
    const closed = await check(["--listen", `127.0.0.1:1`]);
    assert.equal(closed.code, 1);
    assert.match(closed.output, /127\.0\.0\.1:1\/healthz: /);
    assert.equal((await check(["--listen", "nonsense"])).code, 2);
    assert.equal((await check(["--path", "healthz", "--listen", `127.0.0.1:${mirror.port}`])).code, 2);
  });

  test("NAME_FILE gives a secret's value from a file; both set, a missing or an empty file exit 2 without the value", async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-secret-files-"));
    after(() => fs.rmSync(folder, { recursive: true, force: true }));
    const file = path.join(folder, "database-url");
    const db = path.join(folder, "from-file.db");
    fs.writeFileSync(file, `sqlite:${db}\n`, { mode: 0o600 });
    const ok = await finish(lbmirror(["migrate"], { extraEnv: { DATABASE_URL_FILE: file } }));
    assert.equal(ok.code, 0, ok.output);
    assert.ok(fs.existsSync(db), "the database named in the file was created");

    const both = await finish(lbmirror(["migrate"], { extraEnv: { DATABASE_URL_FILE: file, DATABASE_URL: "sqlite:other.db" } }));
    assert.equal(both.code, 2);
    assert.match(both.output, /set DATABASE_URL or DATABASE_URL_FILE, not both/);
    const secretFile = path.join(folder, "key");
    fs.writeFileSync(secretFile, "sk_file_secret_value_123");
    const missing = await finish(lbmirror(["status"], { extraEnv: { LIVEBLOCKS_SECRET_KEY: "", LIVEBLOCKS_SECRET_KEY_FILE: path.join(folder, "nope") } }));
    assert.equal(missing.code, 2);
    assert.match(missing.output, /LIVEBLOCKS_SECRET_KEY_FILE: cannot open /);
    const empty = path.join(folder, "empty");
    fs.writeFileSync(empty, "\n");
    const blank = await finish(lbmirror(["status"], { extraEnv: { LBMIRROR_ADMIN_TOKEN_FILE: empty } }));
    assert.equal(blank.code, 2);
    assert.match(blank.output, /LBMIRROR_ADMIN_TOKEN_FILE: .* is empty/);
    const twice = await finish(lbmirror(["status"], { extraEnv: { LIVEBLOCKS_SECRET_KEY_FILE: secretFile } }));
    assert.equal(twice.code, 2, "LIVEBLOCKS_SECRET_KEY (set by the helper) and its _FILE");
    for (const run of [both, missing, blank, twice]) assert.ok(!run.output.includes("sk_file_secret_value_123") && !run.output.includes(db));
  });
});
