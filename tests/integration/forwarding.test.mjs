// Forwarding the change feed, on SQLite, MariaDB and Postgres at once (each with its own
// mirror, receiver and rooms): lbmirror serve --change-feed --forward-config POSTs every change
// to a receiver that verifies each Standard Webhooks signature; every change arrives at least
// once, and, deduplicated by webhook-id, each room's in position order; across a kill -9 of
// lbmirror in the middle of a delivery (the cursor in the database resumes it once the dead
// process's lease ends), and across a minute of the receiver answering 503, after which it
// catches up.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { env, startMirror, sendEvent, liveblocks, storageUpdated, uniqueId, waitFor, backends, parseJsonColumn } from "./lib/harness.mjs";

const SECRET = "whsec_" + Buffer.from("forwarding-receiver-secret-000001").toString("base64");

// The test receiver: verifies every signature, records each delivery, answers 503 while
// `failing`, and takes `delayMs` over each answer.
async function startReceiver() {
  const verifier = new Webhook(SECRET);
  const state = { deliveries: [], badSignatures: 0, failing: false, refused: 0, delayMs: 0 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", async () => {
      if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.failing) {
        state.refused++;
        res.writeHead(503).end();
        return;
      }
      try {
        verifier.verify(body, req.headers);
      } catch {
        state.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const change = JSON.parse(body);
      assert.equal(req.headers["webhook-id"], `chg_${change.position}`);
      state.deliveries.push(change);
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${server.address().port}/changes`;
  state.close = () => new Promise((resolve) => server.close(resolve));
  return state;
}

function changesOf(backend, prefix) {
  const proc = spawn(env.bin, ["changes", "--room-prefix", prefix, ...backend.extraArgs], {
    env: { PATH: process.env.PATH, DATABASE_URL: backend.databaseUrl }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => { out += d; });
  return new Promise((resolve) => proc.on("exit", () => resolve(out.split("\n").filter(Boolean).map((l) => JSON.parse(l)))));
}

async function forwardingOn(backend, t) {
  let receiver;
  let mirror;
  let configFile;
  const prefix = uniqueId("fwd") + ":";
  const rooms = [0, 1, 2, 3].map((i) => `${prefix}room-${i}`);
  const start = () => startMirror({ databaseUrl: backend.databaseUrl,
    extraArgs: [...backend.extraArgs, "--change-feed", "--forward-config", configFile] });

  const setUp = async () => {
    backend.cleanup();
    receiver = await startReceiver();
    configFile = path.join(os.tmpdir(), `${uniqueId("forward")}.json`);
    fs.writeFileSync(configFile, JSON.stringify([{ name: "receiver", url: receiver.url, secret: SECRET,
      kinds: ["document"], room_prefix: prefix }]));
    mirror = await start();
    for (const room of rooms) await liveblocks.createRoom(room);
  };
  const tearDown = async () => {
    assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
    assert.ok(!mirror.log().includes(SECRET), "the endpoint's secret never reaches the log");
    await receiver.close();
    fs.rmSync(configFile, { force: true });
    backend.cleanup();
  };

  let step = 0;
  // Every room's Storage changes once, announced by a webhook, and is mirrored (so that each
  // step is one change per room: edits read together are one change).
  async function changeEveryRoom() {
    step++;
    for (const room of rooms) {
      await liveblocks.setStorage(room, { step, room });
      assert.equal((await sendEvent(mirror, storageUpdated(room))).status, 200);
    }
    await waitFor(`step ${step} mirrored`, async () => {
      const rows = await backend.db.query(`SELECT data FROM ${backend.prefix}documents WHERE room_id LIKE ?`, [`${prefix}%`]);
      return rows.length === rooms.length && rows.every((r) => parseJsonColumn(r.data).step === step);
    }, 15000);
  }
  // Every change of the rooms was delivered, and each room's in order once deduplicated.
  async function expectAllDelivered(timeoutMs) {
    await waitFor("every change delivered", async () => {
      const wanted = await changesOf(backend, prefix);
      const got = new Set(receiver.deliveries.map((c) => c.position));
      return wanted.length === rooms.length * step && wanted.every((c) => got.has(c.position));
    }, timeoutMs, 200);
    const seen = new Set();
    const last = new Map();
    for (const change of receiver.deliveries) {
      if (seen.has(change.position)) continue;
      seen.add(change.position);
      assert.ok(change.room_id.startsWith(prefix) && change.kind === "document");
      assert.ok((last.get(change.room_id) ?? 0) < change.position, `room ${change.room_id} in order`);
      last.set(change.room_id, change.position);
    }
    assert.equal(receiver.badSignatures, 0);
  }

  await setUp();
  try {
    await t.test("every change is delivered, signed, in order per room", async () => {
      await changeEveryRoom();
      await changeEveryRoom();
      await expectAllDelivered(20000);
      assert.ok(receiver.deliveries[0].payload.patch, "the change as lbmirror changes prints it");
    });

    await t.test("a kill -9 in the middle of a delivery: the next run resumes from the cursor", async () => {
      receiver.delayMs = 1000;
      const before = receiver.deliveries.length;
      await changeEveryRoom();
      await changeEveryRoom();
      // Killed once the first of these arrived, with the others in flight or waiting.
      await waitFor("a delivery under way", async () => receiver.deliveries.length > before, 15000, 10);
      const { signal } = await mirror.stop("SIGKILL");
      assert.equal(signal, "SIGKILL");
      receiver.delayMs = 0;
      mirror = await start();
      await changeEveryRoom();
      await expectAllDelivered(30000);
    });

    await t.test("a minute of the receiver answering 503: changes wait, then all arrive", async () => {
      const outageMs = 60000;
      receiver.failing = true;
      const refusedBefore = receiver.refused;
      await changeEveryRoom();
      await waitFor("the receiver refusing", async () => receiver.refused > refusedBefore, 15000);
      await new Promise((r) => setTimeout(r, outageMs));
      await changeEveryRoom();
      receiver.failing = false;
      await expectAllDelivered(30000);
      assert.match(mirror.log(), /forwarding to receiver: position \d+: HTTP 503/);
    });
  } finally {
    await tearDown();
  }
}

describe("forwarding the change feed", { concurrency: true }, () => {
  for (const backend of backends("fwd")) {
    test(`on ${backend.name}`, { timeout: 300000 }, (t) => forwardingOn(backend, t));
  }
});
