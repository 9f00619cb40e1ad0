// Fault injection: a steady stream of signed webhooks at real `lbmirror serve` processes on
// MariaDB, then on Postgres, while something breaks, then the faults stop and two invariants are checked:
//  (a) every webhook that got a 2xx is in liveblocks_events (lost = 0);
//  (b) every mirrored room, Storage document, Yjs document and thread equals the API now.
// Scenarios: kill -9 at random moments (10+ times), the database server restarted, the REST API
// failing for a share of requests (500, 429 + Retry-After, slow, dropped), three replicas with
// one killed and one restarted, and every webhook delivered several times in reverse order.
// Like Liveblocks, the sender redelivers a webhook until it is acknowledged.
//   LBMIRROR_FAULT_SECONDS=N  stream length per scenario (default 10)
//   LBMIRROR_FAULT_SEED=N     the seed of the random changes (printed)
//   LBMIRROR_FAULT_REPORT=F   also append each scenario's figures to F
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import * as Y from "yjs";
import {
  env, startMirror, signedRequest, liveblocks, storageUpdated, ydocUpdated, roomEvent, uniqueId,
  sleep, waitFor, startFaultProxy, MysqlMirrorDb, PostgresMirrorDb, mariadbAsync, postgresAsync,
} from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { threadEvent, roomDifferences } from "./lib/checks.mjs";
import { rng } from "./lib/yjs_random.mjs";

const SECONDS = Number(process.env.LBMIRROR_FAULT_SECONDS ?? 10);
const SEED = Number(process.env.LBMIRROR_FAULT_SEED ?? Date.now() % 100000);
const ROOMS = 6;
const LEASE_MS = 3000;

// ---- the replicas --------------------------------------------------------------------------

class Replicas {
  constructor(databaseUrl, prefix, baseUrl) {
    this.databaseUrl = databaseUrl;
    this.prefix = prefix;
    this.baseUrl = baseUrl;
    this.live = [];
    this.kills = 0;
  }
  async start() {
    const mirror = await startMirror({ databaseUrl: this.databaseUrl, baseUrl: this.baseUrl,
      extraArgs: ["--table-prefix", this.prefix, "--lease-ms", String(LEASE_MS)],
      extraEnv: { LBMIRROR_LOG_LEVEL: "info" } });
    this.live.push(mirror);
    return mirror;
  }
  async kill9(index = 0) {
    const [mirror] = this.live.splice(index, 1);
    const exit = await mirror.stop("SIGKILL");
    assert.equal(exit.signal, "SIGKILL");
    this.kills++;
  }
  async restart(index = 0) {
    const [mirror] = this.live.splice(index, 1);
    const exit = await mirror.stop("SIGTERM");
    assert.equal(exit.code, 0, "SIGTERM exits 0:\n" + mirror.log().slice(-2000));
    await this.start();
  }
  url(n) {
    return this.live.length ? this.live[n % this.live.length].url : null;
  }
  async stopAll() {
    for (const mirror of this.live.splice(0)) {
      const exit = await mirror.stop("SIGTERM");
      assert.equal(exit.code, 0, "SIGTERM exits 0:\n" + mirror.log().slice(-2000));
    }
  }
}

// ---- delivery as Liveblocks does it: retried until acknowledged ----------------------------

class Sender {
  constructor(replicas, prefix) {
    this.replicas = replicas;
    this.prefix = prefix;
    this.next = 0;
    this.turn = 0;
    this.sent = 0;
    this.posts = 0;
    this.acked = new Set();
    this.inFlight = new Set();
  }
  webhook(event) {
    const id = `${this.prefix}msg_${++this.next}`;
    this.sent++;
    return { id, request: signedRequest(event, { id }) };
  }
  // Posts until a 2xx (to any live replica); resolves when acknowledged.
  deliver({ id, request }) {
    const attempt = async () => {
      for (;;) {
        const url = this.replicas.url(this.turn++);
        if (url) {
          this.posts++;
          try {
            const res = await fetch(url, { method: "POST", body: request.body, headers: request.headers,
              signal: AbortSignal.timeout(10000) });
            await res.arrayBuffer();
            if (res.status >= 200 && res.status < 300) {
              this.acked.add(id);
              return;
            }
            assert.ok([500, 503].includes(res.status), `unexpected status ${res.status} for ${id}`);
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            // refused, reset or timed out: the replica is down or restarting
          }
        }
        await sleep(50 + Math.random() * 200);
      }
    };
    return this.track(attempt());
  }
  track(work) {
    const promise = work.finally(() => this.inFlight.delete(promise));
    this.inFlight.add(promise);
    return promise;
  }
  async drain() {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}

// ---- the changing world: Storage, Yjs and threads of a few rooms ---------------------------

class World {
  constructor(prefix, double, seed) {
    this.prefix = prefix;
    this.double = double;
    this.random = rng(seed);
    this.rooms = [];
    this.docs = new Map();
    this.threads = new Map();  // room -> [{ threadId, commentIds }]
    this.n = 0;
  }
  pick(list) {
    return list[Math.floor(this.random() * list.length)];
  }
  async setup() {
    const events = [];
    for (let i = 0; i < ROOMS; i++) {
      const roomId = uniqueId(`${this.prefix}room${i}`);
      await liveblocks.createRoom(roomId, { metadata: { index: String(i) } });
      await liveblocks.setStorage(roomId, { n: 0 });
      this.rooms.push(roomId);
      this.docs.set(roomId, new Y.Doc());
      this.threads.set(roomId, []);
      events.push(roomEvent("roomCreated", roomId), storageUpdated(roomId));
    }
    return events;
  }
  // Makes one change through the API and returns the webhook event that reports it.
  async change(roomId = this.pick(this.rooms), kind = null) {
    const n = ++this.n;
    const x = kind === null ? this.random() : { storage: 0, ydoc: 0.5, thread: 0.9 }[kind];
    if (x < 0.45) {
      await liveblocks.setStorage(roomId, { n, title: `change ${n}`, list: [n, { nested: n % 7 }] });
      return storageUpdated(roomId);
    }
    if (x < 0.7) {
      const doc = this.docs.get(roomId);
      const before = Y.encodeStateVector(doc);
      const text = doc.getText("notes");
      if (text.length > 200) text.delete(0, 50);
      text.insert(text.length, `word${n} `);
      if (n % 5 === 0) doc.getMap("meta").set("last", n);
      await liveblocks.putYdoc(roomId, Y.encodeStateAsUpdate(doc, before));
      return ydocUpdated(roomId);
    }
    const threads = this.threads.get(roomId);
    if (threads.length === 0 || this.random() < 0.25) {
      const { threadId, commentId } = this.double.createThread(roomId, { userId: "alice", body: textBody(`thread ${n}`) });
      threads.push({ threadId, commentIds: [commentId] });
      return threadEvent("threadCreated", roomId, threadId, { createdBy: "alice" });
    }
    const thread = this.pick(threads);
    const y = this.random();
    if (y < 0.4) {
      const commentId = this.double.addComment(roomId, thread.threadId, { userId: "bob", body: textBody(`reply ${n}`) });
      thread.commentIds.push(commentId);
      return threadEvent("commentCreated", roomId, thread.threadId, { commentId, createdBy: "bob" });
    }
    const commentId = this.pick(thread.commentIds);
    if (y < 0.65) {
      this.double.editComment(roomId, thread.threadId, commentId, textBody(`edited ${n}`));
      return threadEvent("commentEdited", roomId, thread.threadId, { commentId });
    }
    if (y < 0.85) {
      this.double.addReaction(roomId, thread.threadId, commentId, this.pick(["👍", "🎉", "👀"]), this.pick(["carol", "dave"]));
      return threadEvent("commentReactionAdded", roomId, thread.threadId, { commentId, emoji: "👍", addedBy: "carol" });
    }
    this.double.setResolved(roomId, thread.threadId, this.random() < 0.5);
    return threadEvent("threadMarkedAsResolved", roomId, thread.threadId, { updatedBy: "alice" });
  }
}

// ---- one scenario --------------------------------------------------------------------------

let scenarioIndex = 0;

// Runs the stream for SECONDS while `fault` acts, then checks both invariants and reports.
async function runScenario(server, name, { replicas: count = 1, setupProxy, fault, deliverBatch }) {
  const prefix = `fi${process.pid % 10000}_${++scenarioIndex}_`;
  const db = server.db();
  const double = await startLiveblocksDouble(env.baseUrl);
  const proxy = await startFaultProxy(double.url);
  const replicas = new Replicas(server.url, prefix, proxy.url);
  const sender = new Sender(replicas, prefix);
  const world = new World(prefix, double, SEED + scenarioIndex);
  try {
    for (let i = 0; i < count; i++) await replicas.start();
    for (const event of await world.setup()) sender.deliver(sender.webhook(event));
    setupProxy?.(proxy.state);
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;
    const stream = (async () => {
      while (elapsed() < SECONDS) {
        const batch = [];
        for (let i = 0; i < (deliverBatch ? 10 : 1); i++) batch.push(sender.webhook(await world.change()));
        if (deliverBatch) deliverBatch(batch, sender);
        else sender.deliver(batch[0]);
        while (sender.inFlight.size > 64) await Promise.race([...sender.inFlight]);
        await sleep(5);
      }
    })();
    await Promise.all([stream, fault?.({ replicas, proxy, elapsed }) ?? Promise.resolve()]);

    // The faults are over. A last change to every target arrives while the read of the one
    // before it is still on its way back (slow answers): the mirror must read once more.
    proxy.state.mode = "slow";
    proxy.state.slowMs = 400;
    if (replicas.live.length === 0) await replicas.start();
    const marker = { storage: "/storage", ydoc: "/ydoc-binary", thread: "/threads/" };
    for (const kind of ["storage", "ydoc", "thread"]) {
      for (const roomId of world.rooms) {
        const seen = proxy.state.readPaths.length;
        sender.deliver(sender.webhook(await world.change(roomId, kind)));
        await waitFor(`a ${kind} read of ${roomId}`, async () => proxy.state.readPaths.slice(seen)
          .some((p) => p.includes(encodeURIComponent(roomId)) && p.includes(marker[kind])), 30000, 5);
        sender.deliver(sender.webhook(await world.change(roomId, kind)));
      }
    }
    await sender.drain();
    proxy.state.mode = "pass";
    const readsAtEnd = () => proxy.state.reads;
    const differingRooms = new Set();
    const check = async () => {
      const differing = [];
      differingRooms.clear();
      for (const roomId of world.rooms) {
        const threadIds = world.threads.get(roomId).map((t) => t.threadId);
        const differences = await roomDifferences(db, prefix, roomId, { double, threadIds });
        if (differences.length) differingRooms.add(roomId);
        differing.push(...differences);
      }
      return differing;
    };
    let differing = [];
    try {
      await waitFor("the mirror to equal the API", async () => (differing = await check()).length === 0, 60000, 500);
    } catch {
      // reported below with the differences themselves
    }
    const stored = new Set((await db.query(`SELECT webhook_id FROM ${prefix}events WHERE webhook_id LIKE ?`, [`${prefix}msg_%`]))
      .map((r) => r.webhook_id));
    const lost = [...sender.acked].filter((id) => !stored.has(id));
    const figures = { scenario: `${name} (${server.name})`, seed: SEED + scenarioIndex, sent: sender.sent, acknowledged: sender.acked.size,
      lost: lost.length, posts: sender.posts, rooms_checked: world.rooms.length,
      threads_checked: [...world.threads.values()].reduce((n, list) => n + list.length, 0),
      rooms_differing: differingRooms.size,
      rest_reads_per_webhook: Number((readsAtEnd() / Math.max(1, sender.acked.size)).toFixed(3)),
      rest_faults: proxy.state.faults, kills: replicas.kills };
    const line = `${figures.scenario}: ${figures.sent} webhooks sent, ${figures.acknowledged} acknowledged, ${figures.lost} lost, ` +
      `${figures.rooms_checked} rooms and ${figures.threads_checked} threads checked, ${figures.rooms_differing} differing, ` +
      `${figures.rest_reads_per_webhook} REST reads per webhook (${figures.rest_faults} REST faults, ` +
      `${figures.kills} kill -9, ${figures.posts} deliveries, seed ${figures.seed})`;
    console.log(line);
    if (process.env.LBMIRROR_FAULT_REPORT) fs.appendFileSync(process.env.LBMIRROR_FAULT_REPORT, line + "\n");
    assert.equal(sender.acked.size, sender.sent, "every webhook is acknowledged in the end");
    assert.deepEqual(lost, [], "every acknowledged webhook is in liveblocks_events");
    assert.deepEqual(differing, [], "every mirrored room equals the API");
    return figures;
  } finally {
    await replicas.stopAll();
    await proxy.close();
    await double.close();
  }
}

// ---- the scenarios -------------------------------------------------------------------------

const servers = [
  { name: "MariaDB", url: env.mysqlUrl, dir: env.mariadbDir, db: () => new MysqlMirrorDb(env.mysqlUrl), control: mariadbAsync },
  { name: "Postgres", url: env.postgresUrl, dir: env.postgresDir, db: () => new PostgresMirrorDb(env.postgresUrl), control: postgresAsync },
];
for (const server of servers) {
  describe(`fault injection (${server.name}, ${SECONDS} s per scenario, seed ${SEED})`, { concurrency: 1 }, () => {
    before(() => assert.ok(server.url && server.dir, `needs the test ${server.name} server (scripts/test.sh)`));

    test("a burst of 200 storageUpdated events for one room costs a handful of REST reads", async () => {
      const prefix = `fi${process.pid % 10000}_${++scenarioIndex}_`;
      const db = server.db();
      const proxy = await startFaultProxy(env.baseUrl);
      const replicas = new Replicas(server.url, prefix, proxy.url);
      const sender = new Sender(replicas, prefix);
      try {
        await replicas.start();
        const roomId = uniqueId(`${prefix}burst`);
        await liveblocks.createRoom(roomId);
        await liveblocks.setStorage(roomId, { n: 200 });
        const webhooks = Array.from({ length: 200 }, () => sender.webhook(storageUpdated(roomId)));
        await Promise.all(webhooks.map((w) => sender.deliver(w)));
        const truth = (await liveblocks.storage(roomId)).json;
        await waitFor("the burst to be mirrored", async () => (await roomDifferences(db, prefix, roomId, { room: false })).length === 0);
        await sleep(500);  // a late read would show up here
        const stored = await db.query(`SELECT COUNT(*) AS n FROM ${prefix}events WHERE webhook_id LIKE ?`, [`${prefix}msg_%`]);
        const line = `burst (${server.name}): 200 storageUpdated for one room, ${proxy.state.reads} REST reads, ${stored[0].n} events stored`;
        console.log(line);
        if (process.env.LBMIRROR_FAULT_REPORT) fs.appendFileSync(process.env.LBMIRROR_FAULT_REPORT, line + "\n");
        assert.equal(Number(stored[0].n), 200);
        assert.ok(proxy.state.reads >= 1 && proxy.state.reads <= 10, `${proxy.state.reads} reads`);
        assert.deepEqual(truth, { n: 200 });

        // The checks themselves see a change that no webhook reported.
        await liveblocks.setStorage(roomId, { n: 201 });
        assert.match((await roomDifferences(db, prefix, roomId, { room: false })).join("\n"), /^storage /);
      } finally {
        await replicas.stopAll();
        await proxy.close();
      }
    });

    test("kill -9 of the server at random moments", async () => {
      const figures = await runScenario(server, "kill -9", {
        async fault({ replicas, elapsed }) {
          while (elapsed() < SECONDS || replicas.kills < 10) {
            await sleep(300 + Math.random() * 900);
            await replicas.kill9();
            await replicas.start();
          }
        },
      });
      assert.ok(figures.kills >= 10);
    });

    test(`the ${server.name} server restarted during the stream`, async () => {
      await runScenario(server, "database restart", {
        async fault({ elapsed }) {
          while (elapsed() < SECONDS / 3) await sleep(100);
          await server.control("stop");
          await sleep(2000);
          await server.control("start");
        },
      });
    });

    test("the REST API answering 500, 429, slowly or not at all for a share of requests", async () => {
      const figures = await runScenario(server, "REST faults", {
        setupProxy(state) {
          state.mode = "mixed";
          state.mix = { 500: 0.1, 429: 0.1, slow: 0.1, drop: 0.1 };
        },
      });
      assert.ok(figures.rest_faults > 0, "faults were injected");
    });

    test("three replicas, one killed and one restarted mid-stream", async () => {
      await runScenario(server, "three replicas", {
        replicas: 3,
        async fault({ replicas, elapsed }) {
          while (elapsed() < SECONDS / 3) await sleep(100);
          await replicas.kill9(0);
          while (elapsed() < (2 * SECONDS) / 3) await sleep(100);
          await replicas.restart(0);
          assert.equal(replicas.live.length, 2);
        },
      });
    });

    test("every webhook delivered several times, batches in reverse order", async () => {
      await runScenario(server, "duplicates, reversed", {
        deliverBatch(batch, sender) {
          for (const webhook of [...batch].reverse()) {
            sender.deliver(webhook);
            sender.deliver(webhook);
            sender.track(sleep(Math.random() * 1000).then(() => sender.deliver(webhook)));
          }
        },
      });
    });
  });
}
