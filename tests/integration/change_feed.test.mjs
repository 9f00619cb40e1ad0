// The change feed, on SQLite, MariaDB and Postgres: lbmirror serve --change-feed records each
// change the mirror makes, and none for a re-read that changes nothing; lbmirror changes prints
// them in position order from after a position, filtered by kind and room, and --follow keeps
// printing new ones; GET /api/changes answers the same, waiting for the next change. The JSON
// Patches replayed give the mirrored document; a change's cause names its webhook; a follower of
// three replicas writing at once never sees a gap. Threads come from the project's test double
// (the dev server lacks them), the rest from the dev server.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import { env, startMirror, sendEvent, liveblocks, storageUpdated, uniqueId, waitFor, backends, parseJsonColumn, freePort } from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { threadEvent } from "./lib/checks.mjs";

const TOKEN = "admin-token-for-the-feed-tests-0123456789";

function changes(backend, args) {
  const proc = spawn(env.bin, ["changes", ...args, ...backend.extraArgs], {
    env: { PATH: process.env.PATH, DATABASE_URL: backend.databaseUrl }, stdio: ["ignore", "pipe", "pipe"] });
  const state = { out: "", err: "", proc };
  proc.stdout.on("data", (d) => { state.out += d; });
  proc.stderr.on("data", (d) => { state.err += d; });
  state.done = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  state.lines = () => state.out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return state;
}

// JSON Patch (add, remove, replace) applied to `doc`, enough to replay the feed's patches.
function applyPatch(doc, patch) {
  for (const { op, path, value } of patch) {
    if (path === "") { doc = structuredClone(value); continue; }
    const tokens = path.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = tokens.pop();
    const parent = tokens.reduce((at, t) => at[Array.isArray(at) ? Number(t) : t], doc);
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (op === "add") parent.splice(i, 0, structuredClone(value));
      else if (op === "remove") parent.splice(i, 1);
      else parent[i] = structuredClone(value);
    } else if (op === "remove") delete parent[last];
    else parent[last] = structuredClone(value);
  }
  return doc;
}

for (const backend of backends("feed")) {
  describe(`the change feed, on ${backend.name}`, () => {
    let mirror;
    let double;
    let admin;
    const api = (query, token = TOKEN) => fetch(`${admin}/api/changes?${query}`,
      { headers: token ? { authorization: `Bearer ${token}` } : {} });
    before(async () => {
      backend.cleanup();
      double = await startLiveblocksDouble(env.baseUrl);
      const port = await freePort();
      admin = `http://127.0.0.1:${port}`;
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url,
        extraArgs: [...backend.extraArgs, "--change-feed", "--admin-listen", `127.0.0.1:${port}`],
        extraEnv: { LBMIRROR_ADMIN_TOKEN: TOKEN } });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      await double.close();
      backend.cleanup();
    });

    test("Storage changes in order, none for a re-read, resumed from a position and followed", async () => {
      const roomId = uniqueId("feed");
      await liveblocks.createRoom(roomId);
      const versions = [{ title: "a", list: [1, 2] }, { title: "b/c", list: [1, 2, 3], extra: { x: true } }];
      for (const storage of versions) {
        await liveblocks.setStorage(roomId, storage);
        assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
        await waitFor("mirrored", async () => {
          const [row] = await backend.db.query(`SELECT data FROM ${backend.prefix}documents WHERE room_id = ?`, [roomId]);
          return row && isDeepStrictEqual(parseJsonColumn(row.data), (await liveblocks.storage(roomId)).json);
        }, 15000);
      }
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);  // nothing changed
      const all = changes(backend, ["--after", "0"]);
      assert.equal(await all.done, 0, all.err);
      const mine = all.lines().filter((c) => c.room_id === roomId);
      assert.deepEqual(mine.map((c) => [c.kind, c.op]), [["document", "insert"], ["document", "update"]]);
      assert.ok(mine[1].position > mine[0].position);
      let doc = null;
      for (const change of mine) doc = applyPatch(doc, change.payload.patch);
      assert.deepEqual(doc, (await liveblocks.storage(roomId)).json, "the patches replayed give the document");

      const rest = changes(backend, ["--after", String(mine[0].position)]);
      assert.equal(await rest.done, 0, rest.err);
      assert.deepEqual(rest.lines().map((c) => c.position), [mine[1].position]);

      const follower = changes(backend, ["--after", String(mine[1].position), "--follow"]);
      try {
        await liveblocks.setStorage(roomId, { title: "followed" });
        assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
        await waitFor("the follower prints the new change", async () => follower.lines().some((c) => c.room_id === roomId), 15000);
        assert.equal(follower.lines()[0].position, mine[1].position + 1);
      } finally {
        follower.proc.kill("SIGTERM");
      }
    });

    test("thread changes name their webhooks, filtered by kind and by room", async () => {
      const roomId = uniqueId("feedth");
      await liveblocks.createRoom(roomId);
      const { threadId, commentId } = double.createThread(roomId, { userId: "alice", body: textBody("hello") });
      const created = uniqueId("msg_created");
      assert.equal((await sendEvent(mirror, threadEvent("threadCreated", roomId, threadId), { id: created })).status, 200);
      const count = async (table) => (await backend.db.query(
        `SELECT COUNT(*) AS n FROM ${backend.prefix}${table} WHERE thread_id = ?`, [threadId]))[0].n;
      await waitFor("the comment mirrored", async () => Number(await count("comments")) === 1, 15000);
      double.addReaction(roomId, threadId, commentId, "👍", "bob");
      const reacted = uniqueId("msg_reacted");
      assert.equal((await sendEvent(mirror, threadEvent("commentReactionAdded", roomId, threadId,
        { commentId, emoji: "👍" }), { id: reacted })).status, 200);
      await waitFor("the reaction mirrored", async () => Number(await count("comment_reactions")) === 1, 15000);

      const mine = changes(backend, ["--kind", "thread,comment,reaction", "--room-prefix", roomId]);
      assert.equal(await mine.done, 0, mine.err);
      const lines = mine.lines();
      // (A reaction moves the thread's updatedAt: the thread changes too.)
      assert.deepEqual(lines.map((c) => [c.kind, c.op, c.key]), [["thread", "insert", threadId],
        ["comment", "insert", commentId], ["thread", "update", threadId], ["reaction", "insert", `${commentId}/👍/bob`]]);
      assert.ok(lines.every((c) => c.room_id === roomId));
      assert.deepEqual(lines[0].cause, { reason: "webhook", webhooks: [created] });
      assert.deepEqual(lines[3].cause, { reason: "webhook", webhooks: [reacted] });
      assert.equal(lines[1].payload.row.body_text, "hello");
      assert.deepEqual(Object.keys(lines[2].payload.previous), ["updated_at"]);
      assert.equal(lines[2].payload.row.updated_at, double.thread(roomId, threadId).updatedAt);
      assert.equal(lines[3].payload.row.user_id, "bob");

      const others = changes(backend, ["--kind", "document", "--room-prefix", roomId]);
      assert.equal(await others.done, 0, others.err);
      assert.deepEqual(others.lines(), [], "no document changed in that room");
      const wrong = changes(backend, ["--kind", "threads"]);
      assert.equal(await wrong.done, 2);
      assert.match(wrong.err, /--kind: threads is not a kind of change/);
    });

    test("GET /api/changes resumes from a position and waits for the next change", async () => {
      assert.equal((await api("after=0", null)).status, 401);
      assert.equal((await api("after=0&wait=5m")).status, 400);
      assert.equal((await api("after=-1")).status, 400);
      assert.equal((await api("after=0&kind=nope")).status, 400);
      const first = await (await api("after=0&limit=1")).json();
      assert.equal(first.changes.length, 1);
      assert.equal(first.next, first.changes[0].position);
      const rest = await (await api(`after=${first.next}&limit=1000`)).json();
      assert.ok(rest.changes.every((c) => c.position > first.next));
      assert.ok(rest.changes.length > 0, "the earlier tests left more than one change");

      const roomId = uniqueId("feedpoll");
      const waiting = api(`after=${rest.next}&wait=30s&room_prefix=${encodeURIComponent(roomId)}`);
      const started = Date.now();
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { polled: true });
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      const answer = await waiting;
      assert.equal(answer.status, 200);
      const body = await answer.json();
      assert.ok(Date.now() - started < 25000, "answered when the change came, not at the deadline");
      assert.deepEqual(body.changes.map((c) => [c.kind, c.op, c.room_id]), [["document", "insert", roomId]]);
      assert.equal(body.next, body.changes[0].position);

      const quiet = await (await api(`after=${body.next + 1000000}&wait=1s`)).json();
      assert.deepEqual(quiet, { changes: [], next: body.next + 1000000 }, "nothing after: empty at the deadline");
    });
  });
}

// Three replicas with four workers each write changes at once while a follower reads: the
// follower sees positions 1, 2, 3, ... with no gap and none twice, and in the end every change
// in the table. (SQLite: three processes on one file, taking turns on its lock.)
for (const backend of backends("feedrep")) {
  test(`a follower of three replicas never sees a gap, on ${backend.name}`, { timeout: 120000 }, async () => {
    backend.cleanup();
    const replicas = [];
    let follower;
    try {
      for (let i = 0; i < 3; i++) {
        replicas.push(await startMirror({ databaseUrl: backend.databaseUrl,
          extraArgs: [...backend.extraArgs, "--change-feed", "--workers", "4"] }));
      }
      follower = changes(backend, ["--follow"]);  // once the schema is there
      const rooms = Array.from({ length: 12 }, (_, i) => uniqueId(`feedrep-${i}`));
      for (const room of rooms) await liveblocks.createRoom(room);
      for (let round = 1; round <= 3; round++) {
        await Promise.all(rooms.map(async (room, i) => {
          await liveblocks.setStorage(room, { round, room });
          assert.equal((await sendEvent(replicas[(i + round) % 3], storageUpdated(room))).status, 200);
        }));
        await waitFor(`round ${round} mirrored`, async () => {
          const rows = await backend.db.query(`SELECT data FROM ${backend.prefix}documents`);
          const mine = rows.map((r) => parseJsonColumn(r.data)).filter((d) => rooms.includes(d?.room));
          return mine.length === rooms.length && mine.every((d) => d.round === round);
        }, 20000);
      }
      const [{ n }] = await backend.db.query(`SELECT COUNT(*) AS n FROM ${backend.prefix}changes`);
      await waitFor("the follower reads every change", async () => follower.lines().length === Number(n), 15000);
      const positions = follower.lines().map((c) => c.position);
      assert.deepEqual(positions, Array.from({ length: positions.length }, (_, i) => i + 1), "1, 2, 3, ... in order");
      assert.ok(positions.length >= rooms.length * 3);
    } finally {
      follower?.proc.kill("SIGTERM");
      for (const replica of replicas) assert.equal((await replica.stop()).code, 0, replica.log().slice(-2000));
      backend.cleanup();
    }
  });
}
