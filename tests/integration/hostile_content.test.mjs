// Hostile and extreme content and deployments, on SQLite, MariaDB and Postgres: documents nested
// deeper than a JSON column holds (with the change feed on: a deep document's change at its
// bottom is a one-operation patch, at once), a Yjs state past lbmirror's depth limit (the service stays
// up, the target fails with its reason, `lbmirror retry` mirrors it once the cause is gone), a
// room deleted while reads of its content are in flight, replicas migrating a fresh database
// at the same instant, and more idle connections than the process has file descriptors.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, execFileSync } from "node:child_process";
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import { isDeepStrictEqual } from "node:util";
import path from "node:path";
import {
  env, startMirror, sendEvent, storageUpdated, ydocUpdated, roomEvent, liveblocks, uniqueId,
  waitFor, sleep, freePort, startFaultProxy, parseJsonColumn, backends,
} from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { threadEvent } from "./lib/checks.mjs";
import { nestedMapsUpdate } from "./lib/yjs_editors.mjs";
import { referenceViews } from "./lib/yjs_reference.mjs";

const LIMIT = 2000;  // kMaxNestingDepth in src/core/limits.h

// A plain object nested `depth` levels deep: {"level":1,"child":{"level":2,"child":{…}}}.
function nestedObject(depth) {
  let value = { leaf: "🌱" };
  for (let level = depth - 1; level >= 1; level--) value = { level, child: value };
  return value;
}

const runLbmirror = (args, databaseUrl) => new Promise((resolve) => {
  execFile(env.bin, args, { env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl,
                                   LIVEBLOCKS_SECRET_KEY: "sk_localdev", LIVEBLOCKS_BASE_URL: env.baseUrl } },
    (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
});

for (const backend of backends("hostile")) {
  describe(`deep documents on ${backend.name}`, () => {
    const { db } = backend;
    const t = (name) => backend.prefix + name;
    let mirror;
    before(async () => {
      backend.cleanup();
      // With the change feed on: each read of a document also diffs it with the one it replaces.
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, extraArgs: [...backend.extraArgs, "--change-feed"] });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-2000));
      backend.cleanup();
    });

    const mirrored = async (table, roomId) => {
      const rows = await db.query(
        `SELECT data, deep_data, deleted_at FROM ${t(table)} WHERE room_id = ?`, [roomId]);
      return rows[0];
    };
    const documentOf = (row) => parseJsonColumn(row.deep_data ?? row.data);

    test("Storage nested 40, 300 and 1,000 levels deep is mirrored exactly", async () => {
      const rooms = [];
      for (const depth of [10, 40, 300, 1000]) {
        const roomId = uniqueId(`deep-storage-${depth}`);
        await liveblocks.createRoom(roomId);
        await liveblocks.setStorage(roomId, nestedObject(depth));
        assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
        rooms.push({ roomId, depth });
      }
      for (const { roomId, depth } of rooms) {
        const want = (await liveblocks.storage(roomId)).json;
        const row = await waitFor(`Storage of depth ${depth}`, async () => {
          const r = await mirrored("documents", roomId);
          return r && r.deleted_at === null ? r : null;
        });
        assert.deepEqual(documentOf(row), want, `depth ${depth}`);
        // MariaDB's JSON columns hold 32 levels: deeper documents are kept in deep_data.
        const deep = backend.name === "MariaDB" && depth > 32;
        assert.equal(row.deep_data !== null, deep, `depth ${depth}: deep_data used only past the JSON type's limit`);
        if (deep) assert.equal(parseJsonColumn(row.data), null);
      }
    });

    test("a 1,000-level document changed at its bottom is mirrored with its change at once", async () => {
      const roomId = uniqueId("deep-change");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, nestedObject(1000));
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      const before = (await liveblocks.storage(roomId)).json;
      await waitFor("the first version", () => mirrored("documents", roomId));
      const changed = nestedObject(1000);
      let bottom = changed;
      let path = "";
      for (; bottom.child; bottom = bottom.child) path += "/child";
      bottom.leaf = "🌳";
      await liveblocks.setStorage(roomId, changed);
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      const want = (await liveblocks.storage(roomId)).json;
      // The diff walks both documents once (comparing at every level took minutes here).
      await waitFor("the second version", async () => {
        const row = await mirrored("documents", roomId);
        return isDeepStrictEqual(documentOf(row), want);
      });
      const changes = await db.query(
        `SELECT op, payload FROM ${t("changes")} WHERE room_id = ? AND kind = 'document' ORDER BY change_id`, [roomId]);
      assert.deepEqual(changes.map((c) => c.op), ["insert", "update"]);
      // The first holds the whole document: on MariaDB, deeper than its JSON type takes, it says
      // only that the document changed. The second's patch is shallow everywhere.
      const first = parseJsonColumn(changes[0].payload);
      if (backend.name === "MariaDB") assert.equal(first.too_deep, true);
      else assert.deepEqual(first.patch, [{ op: "replace", path: "", value: before }]);
      const { patch } = parseJsonColumn(changes[1].payload);
      assert.deepEqual(patch, [{ op: "replace", path: `${path}/leaf`, value: "🌳" }]);
    });

    test("Yjs documents nested 600 and 1,000 levels deep are mirrored exactly", async () => {
      const rooms = [];
      for (const depth of [600, 1000]) {
        const roomId = uniqueId(`deep-ydoc-${depth}`);
        await liveblocks.createRoom(roomId);
        await liveblocks.putYdoc(roomId, nestedMapsUpdate(depth));
        assert.equal((await sendEvent(mirror, ydocUpdated(roomId))).status, 200);
        rooms.push({ roomId, depth });
      }
      for (const { roomId, depth } of rooms) {
        const want = referenceViews(await liveblocks.ydocBinary(roomId)).json;
        const row = await waitFor(`Yjs document of depth ${depth}`, () => mirrored("ydocs", roomId));
        assert.deepEqual(documentOf(row), want, `depth ${depth}`);
      }
    });

    test("a Yjs state past the depth limit fails its target only: the service and other rooms go on", async () => {
      const poison = uniqueId("too-deep");
      const healthy = uniqueId("healthy");
      const update = nestedMapsUpdate(LIMIT + 100);
      await liveblocks.createRoom(poison);
      await liveblocks.putYdoc(poison, update);
      await liveblocks.createRoom(healthy);
      await liveblocks.setStorage(healthy, { fine: true });
      assert.equal((await sendEvent(mirror, ydocUpdated(poison))).status, 200);
      assert.equal((await sendEvent(mirror, storageUpdated(healthy))).status, 200);

      const target = await waitFor("the too-deep target to fail", async () => {
        const rows = await db.query(
          `SELECT attempts, last_error FROM ${t("targets")} WHERE kind = 'ydoc' AND scope_id = ?`, [poison]);
        return rows[0]?.last_error ? rows[0] : null;
      });
      assert.match(target.last_error, new RegExp(`nested deeper than ${LIMIT} levels`));
      await waitFor("the healthy room", async () => (await mirrored("documents", healthy))?.deleted_at === null);
      assert.equal((await fetch(`http://127.0.0.1:${mirror.port}/healthz`)).status, 200);
      assert.equal(mirror.proc.exitCode, null, "serve is still running");
      assert.equal((await mirrored("ydocs", poison)), undefined, "nothing half-written");

      const metrics = await (await fetch(`http://127.0.0.1:${mirror.port}/metrics`)).text();
      assert.match(metrics, /^lbmirror_targets_failed [1-9]/m);
      const status = await runLbmirror(["status", ...backend.extraArgs], backend.databaseUrl);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`ydoc:${poison}`));
      assert.match(status.stdout, new RegExp(`nested deeper than ${LIMIT} levels`));

      // The same bytes through `lbmirror ydoc decode`: exit 1 with the reason, no abort.
      const file = path.join(os.tmpdir(), `${poison}.bin`);
      fs.writeFileSync(file, await liveblocks.ydocBinary(poison));
      const decoded = await runLbmirror(["ydoc", "decode", file], backend.databaseUrl);
      fs.rmSync(file);
      assert.equal(decoded.code, 1);
      assert.match(JSON.parse(decoded.stdout).error, new RegExp(`nested deeper than ${LIMIT} levels`));
    });
  });

  describe(`lbmirror retry on ${backend.name}`, () => {
    const { db } = backend;
    const t = (name) => backend.prefix + name;
    let proxy, mirror;
    before(async () => {
      proxy = await startFaultProxy();
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: proxy.url, extraArgs: backend.extraArgs });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-2000));
      await proxy.close();
      backend.cleanup();
    });

    test("a failed target is mirrored by `lbmirror retry` once the cause is gone, before its backoff ends", async () => {
      const roomId = uniqueId("retry");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { fixed: "later" });
      proxy.state.mode = "500";
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      // Failed three times and waiting (not claimed) for a retry more than a second away.
      const failed = await waitFor("three failed attempts", async () => {
        const rows = await db.query(`SELECT attempts, next_attempt_at, lease_until, last_error
          FROM ${t("targets")} WHERE kind = 'storage' AND scope_id = ?`, [roomId]);
        const row = rows[0];
        return row && Number(row.attempts) >= 3 && row.last_error && Number(row.lease_until) === 0 &&
          Number(row.next_attempt_at) > Date.now() + 1000 ? row : null;
      }, 30000);
      assert.match(failed.last_error, /500/);
      proxy.state.mode = "pass";
      const backoffEnds = Number(failed.next_attempt_at);
      const retried = await runLbmirror(["retry", `storage:${roomId}`, ...backend.extraArgs], backend.databaseUrl);
      assert.equal(retried.code, 0, retried.stderr);
      assert.match(retried.stdout, new RegExp(`storage:${roomId} is due now`));
      await waitFor("the retried target", async () => (await db.query(
        `SELECT room_id FROM ${t("documents")} WHERE room_id = ?`, [roomId])).length === 1);
      assert.ok(Date.now() < backoffEnds, "mirrored by the retry, not by the backoff");
      const wrong = await runLbmirror(["retry", "bogus"], backend.databaseUrl);
      assert.equal(wrong.code, 2);
    });
  });

  describe(`a room deleted while reads of it are in flight, on ${backend.name}`, () => {
    const { db } = backend;
    const t = (name) => backend.prefix + name;
    let double, proxy, mirror;
    before(async () => {
      double = await startLiveblocksDouble(env.baseUrl);
      proxy = await startFaultProxy(double.url);
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: proxy.url, extraArgs: backend.extraArgs });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-2000));
      await proxy.close();
      await double.close();
      backend.cleanup();
    });

    // Mirrors the content once, holds the next read of it with newer content, deletes the room
    // and lets its deletion complete, then releases the held read: the rows stay deleted.
    async function resurrection({ kind, table, key, prepare, change, read, event, gone }) {
      const roomId = uniqueId(`resurrect-${kind}`);
      await liveblocks.createRoom(roomId);
      const id = await prepare(roomId);
      assert.equal((await sendEvent(mirror, event(roomId, id))).status, 200);
      await waitFor(`${kind} mirrored`, async () => (await db.query(
        `SELECT deleted_at FROM ${t(table)} WHERE ${key} = ?`, [id ?? roomId]))[0]?.deleted_at === null);

      await change(roomId, id);
      const hold = proxy.hold((url) => url.startsWith(read(roomId, id)));
      assert.equal((await sendEvent(mirror, event(roomId, id))).status, 200);
      await hold.held;  // the newer content is read, not yet written
      await liveblocks.deleteRoom(roomId);
      await gone?.(roomId, id);
      assert.equal((await sendEvent(mirror, roomEvent("roomDeleted", roomId))).status, 200);
      await waitFor("the deletion", async () => (await db.query(
        `SELECT deleted_at FROM ${t(table)} WHERE ${key} = ?`, [id ?? roomId]))[0]?.deleted_at !== null);
      hold.release();
      await waitFor(`the ${kind} target to settle`, async () => (await db.query(
        `SELECT 1 FROM ${t("targets")} WHERE kind = ? AND scope_id = ? AND dirty_seq > done_seq`,
        [kind, roomId])).length === 0);
      await sleep(500);
      const rows = await db.query(`SELECT deleted_at FROM ${t(table)} WHERE ${key} = ?`, [id ?? roomId]);
      assert.equal(rows.length, 1);
      assert.notEqual(rows[0].deleted_at, null, `the ${kind} row of the deleted room stays deleted`);
    }

    test("Storage read before the deletion does not bring the document back", () => resurrection({
      kind: "storage", table: "documents", key: "room_id",
      prepare: async (roomId) => { await liveblocks.setStorage(roomId, { v: 1 }); },
      change: (roomId) => liveblocks.setStorage(roomId, { v: 2 }),
      read: (roomId) => `/v2/rooms/${encodeURIComponent(roomId)}/storage`,
      event: (roomId) => storageUpdated(roomId),
    }));

    test("a Yjs read before the deletion does not bring the document back", () => resurrection({
      kind: "ydoc", table: "ydocs", key: "room_id",
      prepare: async (roomId) => { await liveblocks.putYdoc(roomId, nestedMapsUpdate(3)); },
      change: (roomId) => liveblocks.putYdoc(roomId, nestedMapsUpdate(5)),
      read: (roomId) => `/v2/rooms/${encodeURIComponent(roomId)}/ydoc-binary`,
      event: (roomId) => ydocUpdated(roomId),
    }));

    test("a thread read before the deletion does not bring the thread back", () => resurrection({
      kind: "thread", table: "threads", key: "thread_id",
      prepare: async (roomId) => double.createThread(roomId, { userId: "ann", body: textBody("first") }).threadId,
      change: (roomId, threadId) => double.addComment(roomId, threadId, { userId: "bob", body: textBody("second") }),
      read: (roomId, threadId) => `/v2/rooms/${encodeURIComponent(roomId)}/threads/${threadId}`,
      event: (roomId, threadId) => threadEvent("commentCreated", roomId, threadId),
      gone: (roomId, threadId) => double.deleteThread(roomId, threadId),  // Liveblocks deletes a room's threads with it
    }));
  });
}

describe("replicas starting together on a fresh database", () => {
  const ROUNDS = 10;
  const PROCESSES = 4;

  async function startTogether(databaseUrl, extraArgs) {
    const ports = await Promise.all(Array.from({ length: PROCESSES }, () => freePort()));
    const logs = [];
    const procs = ports.map((port) => {
      const log = [];
      logs.push(log);
      const proc = spawn(env.bin, ["serve", "--listen", `127.0.0.1:${port}`, "--reconcile-interval", "0", ...extraArgs], {
        env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LIVEBLOCKS_BASE_URL: env.baseUrl,
               LIVEBLOCKS_SECRET_KEY: "sk_localdev", LIVEBLOCKS_WEBHOOK_SECRET: "whsec_" + Buffer.from("race-secret-0000").toString("base64") },
        stdio: ["ignore", "pipe", "pipe"],
      });
      proc.stdout.on("data", (d) => log.push(String(d)));
      proc.stderr.on("data", (d) => log.push(String(d)));
      return proc;
    });
    const migrate = runLbmirror(["migrate", ...extraArgs], databaseUrl);
    return { ports, procs, logs, migrate };
  }

  for (const backend of backends("race")) {
    test(`${PROCESSES} serve processes and a migrate, ${ROUNDS} rounds, on ${backend.name}: all come up`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        backend.cleanup();
        const prefix = `${backend.prefix.replace(/_$/, "")}r${round}_`;
        const server = backend.name !== "SQLite";
        const extraArgs = server ? ["--table-prefix", prefix] : [];
        const db = backend.db;
        const { ports, procs, logs, migrate } = await startTogether(backend.databaseUrl, extraArgs);
        try {
          for (const [i, port] of ports.entries()) {
            const state = await waitFor(`round ${round}: process ${i} ready`, async () => {
              if (procs[i].exitCode !== null) return "exited";
              return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? "ready" : null;
            }, 30000);
            assert.equal(state, "ready", `round ${round}: process ${i} exited ${procs[i].exitCode}: ${logs[i].join("")}`);
          }
          const migrated = await migrate;
          assert.equal(migrated.code, 0, `round ${round}: migrate: ${migrated.stderr}`);
          const p = server ? prefix : "liveblocks_";
          const versions = await db.query(`SELECT version FROM ${p}schema_migrations ORDER BY version`);
          assert.deepEqual(versions.map((v) => Number(v.version)), [1, 2, 3, 4, 5, 6, 7, 8], `round ${round}`);
        } finally {
          for (const proc of procs) proc.kill("SIGTERM");
          await Promise.all(procs.map((proc) => (proc.exitCode !== null ? null : new Promise((r) => proc.on("exit", r)))));
        }
        for (const [i, proc] of procs.entries()) assert.equal(proc.exitCode, 0, `round ${round}, process ${i}: ${logs[i].join("")}`);
      }
      backend.cleanup();
    });
  }

  test("a schema newer than this lbmirror is refused with a clear message", async () => {
    const file = path.join(os.tmpdir(), `lbmirror-newer-${process.pid}.db`);
    const url = `sqlite:${file}`;
    assert.equal((await runLbmirror(["migrate"], url)).code, 0);
    execFileSync("sqlite3", [file, "INSERT INTO liveblocks_schema_migrations VALUES (99, 'from the future', '2030-01-01')"]);
    for (const args of [["migrate"], ["serve", "--listen", "127.0.0.1:0", "--no-migrate"], ["serve", "--listen", "127.0.0.1:0"]]) {
      const result = await runLbmirror(args, url);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, /schema is at version 99, newer than this lbmirror/);
    }
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });
});

describe("more idle connections than file descriptors", () => {
  const file = path.join(os.tmpdir(), `lbmirror-fds-${process.pid}.db`);
  let mirror;
  before(async () => {
    // This process needs descriptors for its own 1,500 sockets.
    execFileSync("prlimit", ["--pid", String(process.pid), "--nofile=8192:8192"]);
    mirror = await startMirror({ databaseUrl: `sqlite:${file}`, wrapper: ["prlimit", "--nofile=1024:1024", "--"] });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-2000));
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });

  const cpuSeconds = (pid) => {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;  // utime + stime, in clock ticks
  };

  test("1,500 idle connections under a limit of 1,024: CPU near idle, a bounded log, webhooks still answered", async () => {
    const sockets = [];
    let closedByServer = 0;
    const logLinesBefore = mirror.log().split("\n").length;
    for (let i = 0; i < 1500; i++) {
      const socket = net.connect(mirror.port, "127.0.0.1");
      socket.on("error", () => {});
      socket.on("close", () => closedByServer++);
      sockets.push(socket);
      if (i % 100 === 99) await sleep(20);
    }
    await sleep(1000);
    const cpuBefore = cpuSeconds(mirror.proc.pid);
    await sleep(3000);
    const cpu = cpuSeconds(mirror.proc.pid) - cpuBefore;
    const logLines = mirror.log().split("\n").length - logLinesBefore;
    console.log(`# CPU ${cpu.toFixed(2)} s over 3 s, ${logLines} log lines, ${closedByServer} idle connections closed`);
    assert.ok(cpu < 0.6, `CPU stays near idle (${cpu} s over 3 s)`);
    assert.ok(logLines < 100, `the log grows by a bounded number of lines (${logLines})`);
    assert.ok(closedByServer >= 1500 - 512, "past --max-connections the longest idle connections are closed");

    const roomId = uniqueId("after-flood");
    const res = await sendEvent(mirror, storageUpdated(roomId));
    assert.equal(res.status, 200, "a webhook sent after the flood is acknowledged");
    for (const socket of sockets) socket.destroy();
  });
});
