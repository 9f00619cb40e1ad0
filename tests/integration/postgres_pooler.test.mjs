// Through a connection pooler in transaction mode, as Supabase's and Neon's poolers run: a
// private PgBouncer 1.18 (which, like many hosted poolers, does not keep prepared statements
// across transactions) with two server sessions in front of the test PostgreSQL server.
// lbmirror must migrate and mirror through it: with unnamed statements when the URL says it
// is a pooler, and when it does not, by noticing the first lost prepared statement.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  env, freePort, startMirror, sendEvent, storageUpdated, ydocUpdated, roomEvent, liveblocks, tiptapUpdate,
  uniqueId, waitFor, PostgresMirrorDb,
} from "./lib/harness.mjs";
import { roomDifferences } from "./lib/checks.mjs";

const ROOMS = 12;
const LOST = /lost a prepared statement/;

describe("through PgBouncer in transaction mode", { skip: !env.postgresDir && "needs scripts/postgres.sh (scripts/test.sh)" }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-pooler-"));
  const script = path.join(env.scripts, "pgbouncer.sh");
  const direct = new PostgresMirrorDb(env.postgresUrl);
  let pooled;
  before(async () => {
    fs.chmodSync(dir, 0o755);  // PgBouncer runs as the postgres user
    const port = await freePort();
    execFileSync(script, ["start", dir, String(port), new URL(env.postgresUrl).port, "2"], { stdio: "pipe" });
    pooled = execFileSync(script, ["url", dir], { encoding: "utf8" }).trim();
  });
  after(() => {
    execFileSync(script, ["stop", dir], { stdio: "pipe" });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const { name, query, switches } of [
    { name: "a URL that says pgbouncer=true: unnamed statements from the start", query: "?pgbouncer=true", switches: false },
    { name: "a URL that does not say so: the first lost prepared statement switches", query: "", switches: true },
  ]) {
    test(name, async () => {
      const prefix = `pool${process.pid}_${switches ? "s" : "u"}_`;
      const databaseUrl = pooled + query;
      const migrated = spawnSync(env.bin, ["migrate", "--database-url", databaseUrl, "--table-prefix", prefix],
        { encoding: "utf8", env: { PATH: process.env.PATH } });
      assert.equal(migrated.status, 0, migrated.stdout + migrated.stderr);
      const mirror = await startMirror({ databaseUrl, extraArgs: ["--table-prefix", prefix, "--no-migrate", "--workers", "6"] });
      try {
        const rooms = [];
        for (let i = 0; i < ROOMS; i++) {
          const roomId = uniqueId(`pool-${i}`);
          await liveblocks.createRoom(roomId, { metadata: { i: String(i) } });
          await liveblocks.setStorage(roomId, { i, pooled: true });
          await liveblocks.putYdoc(roomId, tiptapUpdate(`Room ${i}`, "through the pooler"));
          rooms.push(roomId);
        }
        await Promise.all(rooms.flatMap((roomId) => [roomEvent("roomCreated", roomId), storageUpdated(roomId), ydocUpdated(roomId)]
          .map(async (event) => assert.equal((await sendEvent(mirror, event)).status, 200))));
        let differing = [];
        await waitFor("every room mirrored", async () => {
          differing = (await Promise.all(rooms.map((roomId) => roomDifferences(direct, prefix, roomId)))).flat();
          return differing.length === 0;
        }, 60000, 250).catch(() => assert.deepEqual(differing, []));
        const stored = await direct.query(`SELECT COUNT(*) AS n FROM ${prefix}events`);
        assert.equal(Number(stored[0].n), 3 * ROOMS);
        if (switches) assert.match(mirror.log(), LOST, "the lost statement was noticed");
        else assert.doesNotMatch(mirror.log(), LOST);
        assert.doesNotMatch(mirror.log(), / error /, "no error on the way");
      } finally {
        assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      }
    });
  }
});
