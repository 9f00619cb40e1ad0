// End to end: signed webhooks into a running `lbmirror serve`, rows compared with what the
// Liveblocks dev server's REST API returns, on SQLite, MariaDB and Postgres.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  env, startMirror, sendEvent, signedRequest, post, liveblocks, tiptapUpdate, storageUpdated,
  ydocUpdated, roomEvent, uniqueId, waitFor, parseJsonColumn, OTHER_SECRET, backends,
} from "./lib/harness.mjs";
import { referenceViews } from "./lib/yjs_reference.mjs";

for (const backend of backends("e2e")) {
  describe(`mirror on ${backend.name}`, () => {
    let mirror;
    const db = backend.db;
    const t = (name) => backend.prefix + name;

    before(async () => {
      backend.cleanup();
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, extraArgs: backend.extraArgs });
    });
    after(async () => {
      const exit = await mirror.stop("SIGTERM");
      assert.equal(exit.code, 0, "graceful shutdown exits 0:\n" + mirror.log().slice(-2000));
      for (const url of [env.mysqlUrl, env.postgresUrl].filter(Boolean)) {
        assert.ok(!mirror.log().includes(new URL(url).password), "the password never reaches the log");
      }
      backend.cleanup();
    });

    async function documentRow(roomId) {
      const rows = await db.query(`SELECT data, deleted_at FROM ${t("documents")} WHERE room_id = ?`, [roomId]);
      return rows[0];
    }

    test("Storage, Yjs and room rows equal the REST API after signed webhooks", async () => {
      const roomId = uniqueId("room");
      await liveblocks.createRoom(roomId, { metadata: { color: "blue", tags: ["x", "y"] }, usersAccesses: { alice: ["room:write"] } });
      await liveblocks.setStorage(roomId, { title: "Hello", count: 3, nested: { list: [1, 2, { k: "v" }] }, emoji: "🎉 日本語 שלום" });
      await liveblocks.putYdoc(roomId, tiptapUpdate("Title", "Hello bold world"));

      for (const event of [roomEvent("roomCreated", roomId), storageUpdated(roomId), ydocUpdated(roomId)]) {
        const res = await sendEvent(mirror, event);
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(JSON.parse(res.body), { status: "stored" });
      }
      const truth = (await liveblocks.storage(roomId)).json;
      await waitFor("the Storage row", async () => {
        const row = await documentRow(roomId);
        return row && isDeepStrictEqual(parseJsonColumn(row.data), truth);
      });
      const ydocTruth = referenceViews(await liveblocks.ydocBinary(roomId)).json;
      const ydoc = await waitFor("the Yjs row", async () =>
        (await db.query(`SELECT data, text FROM ${t("ydocs")} WHERE room_id = ?`, [roomId]))[0]);
      assert.deepEqual(parseJsonColumn(ydoc.data), ydocTruth);
      assert.equal(ydoc.text, "Title\nHello bold world");

      const roomTruth = (await liveblocks.room(roomId)).json;
      const room = await waitFor("the room row", async () =>
        (await db.query(`SELECT * FROM ${t("rooms")} WHERE room_id = ?`, [roomId]))[0]);
      assert.deepEqual(parseJsonColumn(room.metadata), roomTruth.metadata);
      assert.deepEqual(parseJsonColumn(room.users_accesses), roomTruth.usersAccesses);
      assert.deepEqual(parseJsonColumn(room.default_accesses), roomTruth.defaultAccesses);
      assert.deepEqual(parseJsonColumn(room.groups_accesses), roomTruth.groupsAccesses);
      assert.equal(room.organization_id, roomTruth.organizationId);
      assert.equal(room.created_at, roomTruth.createdAt.replace("T", " ").replace("Z", ""));
      assert.equal(room.deleted_at, null);

      const events = await db.query(`SELECT type, room_id FROM ${t("events")} WHERE room_id = ? ORDER BY received_at`, [roomId]);
      assert.deepEqual(events.map((e) => e.type), ["roomCreated", "storageUpdated", "ydocUpdated"]);
    });

    test("a duplicate delivery is acknowledged and stored once", async () => {
      const roomId = uniqueId("dup");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { v: 1 });
      const request = signedRequest(storageUpdated(roomId));
      const first = await post(mirror.url, request);
      const second = await post(mirror.url, request);
      const third = await post(mirror.url, signedRequest(request.body, { id: request.headers["webhook-id"] }));
      assert.equal(first.status, 200);
      assert.deepEqual([second.status, JSON.parse(second.body).status], [200, "duplicate"]);
      assert.deepEqual([third.status, JSON.parse(third.body).status], [200, "duplicate"]);
      const count = await db.query(`SELECT COUNT(*) AS n FROM ${t("events")} WHERE webhook_id = ?`, [request.headers["webhook-id"]]);
      assert.equal(Number(count[0].n), 1);
      await waitFor("the Storage row", async () => (await documentRow(roomId))?.data);
    });

    test("events delivered out of order end at the current data", async () => {
      const roomId = uniqueId("order");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { version: 1 });
      const older = signedRequest(storageUpdated(roomId), { date: new Date(Date.now() - 120_000) });
      await liveblocks.setStorage(roomId, { version: 2 });
      const newer = signedRequest(storageUpdated(roomId));
      assert.equal((await post(mirror.url, newer)).status, 200);
      assert.equal((await post(mirror.url, older)).status, 200, "a late retry is still inside the window");
      await waitFor("version 2 in the mirror", async () => parseJsonColumn((await documentRow(roomId))?.data ?? "{}").version === 2);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(parseJsonColumn((await documentRow(roomId)).data), (await liveblocks.storage(roomId)).json);
    });

    test("a forged or stale webhook is rejected and nothing is stored", async () => {
      const roomId = uniqueId("forged");
      const forged = signedRequest(storageUpdated(roomId), { secret: OTHER_SECRET });
      const res = await post(mirror.url, forged);
      assert.equal(res.status, 401);
      assert.deepEqual(JSON.parse(res.body), { error: "webhook signature does not match" });
      const stale = signedRequest(storageUpdated(roomId), { date: new Date(Date.now() - 400_000) });
      assert.equal((await post(mirror.url, stale)).status, 401);
      const missing = await post(mirror.url, { body: JSON.stringify(storageUpdated(roomId)), headers: {} });
      assert.equal(missing.status, 400);
      const rows = await db.query(`SELECT COUNT(*) AS n FROM ${t("events")} WHERE room_id = ?`, [roomId]);
      assert.equal(Number(rows[0].n), 0);
      assert.ok(!mirror.log().includes(OTHER_SECRET.slice(6)), "secrets never reach the log");
    });

    test("a deleted room is marked deleted with its documents", async () => {
      const roomId = uniqueId("deleted");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { keep: "me" });
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
      await waitFor("the room row", async () => (await db.query(`SELECT 1 FROM ${t("rooms")} WHERE room_id = ?`, [roomId])).length === 1);
      await waitFor("the Storage row", async () => (await documentRow(roomId))?.data);
      await liveblocks.deleteRoom(roomId);
      assert.equal((await sendEvent(mirror, roomEvent("roomDeleted", roomId))).status, 200);
      await waitFor("the room marked deleted", async () =>
        (await db.query(`SELECT deleted_at FROM ${t("rooms")} WHERE room_id = ?`, [roomId]))[0]?.deleted_at);
      const doc = await documentRow(roomId);
      assert.notEqual(doc.deleted_at, null);
      assert.deepEqual(parseJsonColumn(doc.data), { keep: "me" }, "the last known data stays for audit");
    });

    test("unknown event types are stored and acknowledged; bad input gets a clear status", async () => {
      const res = await sendEvent(mirror, { type: "roomArchived", data: { roomId: "r-unknown" } });
      assert.equal(res.status, 200);
      const malformed = await post(mirror.url, signedRequest("{not json"));
      assert.deepEqual([malformed.status, JSON.parse(malformed.body).error], [400, "body is not valid JSON"]);
      const big = await post(mirror.url, signedRequest({ type: "storageUpdated", data: { roomId: "x", pad: "x".repeat(2 << 20) } }));
      assert.equal(big.status, 413);
      const wrongMethod = await fetch(mirror.url);
      assert.equal(wrongMethod.status, 405);
      const wrongPath = await fetch(mirror.url.replace("liveblocks-webhook", "nope"), { method: "POST" });
      assert.equal(wrongPath.status, 404);
    });
  });
}
