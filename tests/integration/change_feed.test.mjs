// The change feed (work in progress: Storage documents so far), on SQLite, MariaDB and
// Postgres: lbmirror serve --change-feed records each Storage change, and none for a re-read
// that changes nothing; lbmirror changes prints them in position order from after a position,
// and --follow keeps printing new ones. The JSON Patches replayed give the mirrored document.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import { env, startMirror, sendEvent, liveblocks, storageUpdated, uniqueId, waitFor, backends, parseJsonColumn } from "./lib/harness.mjs";

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
    before(async () => {
      backend.cleanup();
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, extraArgs: [...backend.extraArgs, "--change-feed"] });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
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
  });
}
