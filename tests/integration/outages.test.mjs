// Accepted webhooks take effect even when the Liveblocks API fails for a while or the
// database is down when they arrive.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  env, startMirror, sendEvent, sleep, signedRequest, post, liveblocks, storageUpdated, uniqueId,
  waitFor, startFaultProxy, MysqlMirrorDb, SqliteMirrorDb, parseJsonColumn, mariadb,
} from "./lib/harness.mjs";

describe("the Liveblocks API failing for a while", () => {
  const file = path.join(os.tmpdir(), `lbmirror-faults-${process.pid}.db`);
  const db = new SqliteMirrorDb(file);
  let proxy;
  let mirror;
  before(async () => {
    proxy = await startFaultProxy();
    mirror = await startMirror({ databaseUrl: `sqlite:${file}`, baseUrl: proxy.url });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0);
    await proxy.close();
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });

  for (const mode of ["500", "429", "drop"]) {
    test(`webhooks are accepted during ${mode} answers and applied after recovery`, async () => {
      const rooms = [uniqueId(`api${mode}-a`), uniqueId(`api${mode}-b`)];
      for (const [i, roomId] of rooms.entries()) {
        await liveblocks.createRoom(roomId);
        await liveblocks.setStorage(roomId, { n: i, mode });
      }
      proxy.state.mode = mode;
      const faultsBefore = proxy.state.faults;
      for (const roomId of rooms) {
        const res = await sendEvent(mirror, storageUpdated(roomId));
        assert.equal(res.status, 200, "the ack does not wait for Liveblocks");
      }
      await waitFor("the mirror to hit the failing API", async () => proxy.state.faults > faultsBefore);
      // Each read retries a few times before giving up; the failure is then kept for operators.
      await waitFor("the failure to be recorded", async () =>
        (await db.query("SELECT last_error FROM liveblocks_targets WHERE scope_id = ?", [rooms[0]]))[0]?.last_error);
      const during = await db.query("SELECT COUNT(*) AS n FROM liveblocks_documents WHERE room_id IN (?, ?)", rooms);
      assert.equal(Number(during[0].n), 0, "nothing can be mirrored while the API fails");
      proxy.state.mode = "pass";
      for (const roomId of rooms) {
        const truth = (await liveblocks.storage(roomId)).json;
        await waitFor(`room ${roomId} after recovery`, async () => {
          const row = (await db.query("SELECT data FROM liveblocks_documents WHERE room_id = ?", [roomId]))[0];
          return row && isDeepStrictEqual(parseJsonColumn(row.data), truth);
        }, 20000);
      }
      const cleared = await db.query("SELECT last_error FROM liveblocks_targets WHERE scope_id = ?", [rooms[0]]);
      assert.equal(cleared[0].last_error, null);
    });
  }
});

describe("the database going down while webhooks arrive", { skip: (!env.mysqlUrl || !env.mariadbDir) && "needs the test MariaDB server, which it stops and starts (scripts/test.sh)" }, () => {
  const prefix = `outage${process.pid}_`;
  const db = new MysqlMirrorDb(env.mysqlUrl);
  let mirror;
  before(async () => {
    mirror = await startMirror({ databaseUrl: env.mysqlUrl, extraArgs: ["--table-prefix", prefix] });
  });
  after(async () => {
    mariadb("start");
    assert.equal((await mirror.stop()).code, 0);
  });

  test("webhooks get 503 while it is down and are all applied once it is back", async () => {
    const rooms = [uniqueId("outage-a"), uniqueId("outage-b"), uniqueId("outage-c")];
    for (const [i, roomId] of rooms.entries()) {
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { i });
    }
    const accepted = await sendEvent(mirror, storageUpdated(rooms[0]));
    assert.equal(accepted.status, 200);

    mariadb("stop");
    const pending = rooms.slice(1).map((roomId) => signedRequest(storageUpdated(roomId)));
    for (const request of pending) {
      const res = await post(mirror.url, request);
      assert.equal(res.status, 503, "never 2xx for an event that is not stored: " + res.body);
    }
    const notReady = await fetch(`http://127.0.0.1:${mirror.port}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match((await notReady.json()).reason, /database is unreachable/);
    assert.equal((await fetch(`http://127.0.0.1:${mirror.port}/healthz`)).status, 200, "the process itself is up");
    mariadb("start");
    await waitFor("/readyz to say ready again", async () => (await fetch(`http://127.0.0.1:${mirror.port}/readyz`)).status === 200, 30000, 250);
    // Liveblocks retries the same messages; the mirror recovers without a restart.
    for (const request of pending) {
      const res = await waitFor("the webhook to be accepted again", async () => {
        const r = await post(mirror.url, request);
        return r.status === 200 ? r : false;
      }, 30000, 250);
      assert.equal(JSON.parse(res.body).status, "stored");
    }
    for (const roomId of rooms) {
      const truth = (await liveblocks.storage(roomId)).json;
      await waitFor(`room ${roomId}`, async () => {
        const row = (await db.query(`SELECT data FROM ${prefix}documents WHERE room_id = ?`, [roomId]))[0];
        return row && isDeepStrictEqual(parseJsonColumn(row.data), truth);
      }, 30000);
    }
    const events = await db.query(`SELECT COUNT(*) AS n FROM ${prefix}events`);
    assert.equal(Number(events[0].n), 3);
  });
});

describe("a wrong Liveblocks secret key", () => {
  const file = path.join(os.tmpdir(), `lbmirror-wrongkey-${process.pid}.db`);
  const db = new SqliteMirrorDb(file);
  const wrongKey = "sk_this_is_not_the_key_0123456789";
  let proxy;
  let mirror;
  before(async () => {
    proxy = await startFaultProxy();
    mirror = await startMirror({ databaseUrl: `sqlite:${file}`, baseUrl: proxy.url,
      extraEnv: { LIVEBLOCKS_SECRET_KEY: wrongKey } });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0);
    await proxy.close();
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });

  test("is reported loudly, kept on the target, and does not spin", async () => {
    const roomId = uniqueId("wrongkey");
    await liveblocks.createRoom(roomId);
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200, "webhooks are still accepted");
    const target = await waitFor("the failure to be recorded", async () =>
      (await db.query("SELECT last_error, next_attempt_at FROM liveblocks_targets WHERE scope_id = ?", [roomId]))[0]?.last_error
        ? (await db.query("SELECT last_error, next_attempt_at FROM liveblocks_targets WHERE scope_id = ?", [roomId]))[0] : false);
    assert.match(target.last_error, /403/);
    assert.match(target.last_error, /LIVEBLOCKS_SECRET_KEY/);
    assert.ok(Number(target.next_attempt_at) - Date.now() > 4 * 60 * 1000, "the next attempt waits the longest backoff");
    const reads = proxy.state.reads;
    await sleep(2000);
    assert.equal(proxy.state.reads, reads, "no reads while it waits");
    assert.ok(reads <= 4, `${reads} reads: the REST client does not retry a 403`);
    const log = mirror.log();
    assert.match(log, /error.*storage:.*403/i, "an error line names the failing target");
    assert.ok(!log.includes(wrongKey), "the secret key never reaches the log");
  });
});
