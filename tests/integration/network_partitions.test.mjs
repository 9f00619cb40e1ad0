// Silent network partitions: a steady stream of signed storageUpdated webhooks at a real
// `lbmirror serve` on MariaDB, then on Postgres, while every packet to and from the database's
// port (5 s, then 20 s), or the Liveblocks API's (the fault proxy's port, 20 s), is dropped with
// iptables on loopback: no reset, what a failover, a NAT's idle timeout or a cut link looks
// like. Like Liveblocks, the sender delivers a webhook again until it is acknowledged.
// Each scenario asserts: every request is answered (never a timeout or a reset) within the
// acknowledgement deadline plus one second; /readyz answers 503 during a database partition
// (200 during an API partition) and 200 again within seconds of the heal; the process never
// restarts; every acknowledged webhook is in liveblocks_events; every room equals the API
// within a bound after the heal. It prints, per scenario, the answers during the partition by
// status, the slowest answer, and the times from the heal to the first acknowledgement and to
// convergence. The iptables rules are removed whatever happens (also on exit or a signal).
// Needs root and iptables (scripts/install-deps.sh --test).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import {
  env, startMirror, signedRequest, liveblocks, storageUpdated, roomEvent, uniqueId, sleep, waitFor,
  startFaultProxy, MysqlMirrorDb, PostgresMirrorDb,
} from "./lib/harness.mjs";
import { roomDifferences } from "./lib/checks.mjs";

const ACK_TIMEOUT_MS = 5000;  // lbmirror's default --ack-timeout
const ROOMS = 10;
const RATE = 40;  // webhooks a second

// ---- iptables: cut and heal a loopback port ------------------------------------------------

const cutPorts = new Set();
function iptables(action, port) {
  for (const side of ["--dport", "--sport"]) {
    execFileSync("iptables", [action, "INPUT", "-i", "lo", "-p", "tcp", side, String(port), "-j", "DROP"]);
  }
}
function cut(port) {
  iptables("-I", port);
  cutPorts.add(port);
}
function heal(port) {
  if (cutPorts.delete(port)) iptables("-D", port);
}
function healAll() {
  for (const port of [...cutPorts]) {
    try {
      heal(port);
    } catch {
      // removed already
    }
  }
}
process.on("exit", healAll);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    healAll();
    process.exit(1);
  });
}

const portOf = (url) => Number(new URL(url).port);

// ---- delivery, timed ----------------------------------------------------------------------

class TimedSender {
  constructor(url, prefix) {
    this.url = url;
    this.prefix = prefix;
    this.next = 0;
    this.acked = new Set();
    this.answers = [];  // { sentAt, ms, status } for every POST; status 0: no answer
    this.inFlight = new Set();
  }
  // Posts until a 2xx, as Liveblocks does (without its long backoff).
  deliver(event) {
    const id = `${this.prefix}msg_${++this.next}`;
    const request = signedRequest(event, { id });
    const work = (async () => {
      for (;;) {
        const sentAt = Date.now();
        let status = 0;
        try {
          const res = await fetch(this.url, { method: "POST", body: request.body, headers: request.headers,
            signal: AbortSignal.timeout(30000) });
          await res.arrayBuffer();
          status = res.status;
        } catch {
          status = 0;  // reset, refused or timed out
        }
        this.answers.push({ sentAt, ms: Date.now() - sentAt, status });
        if (status >= 200 && status < 300) {
          this.acked.add(id);
          return;
        }
        await sleep(500 + Math.random() * 500);
      }
    })();
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
  async drain() {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}

// /readyz polled every 0.5 s: { at, ms, status } (status 0: no answer within 5 s).
function pollReadiness(mirror) {
  const polls = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const at = Date.now();
      let status = 0;
      try {
        const res = await fetch(`http://127.0.0.1:${mirror.port}/readyz`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 0;
      }
      polls.push({ at, ms: Date.now() - at, status });
      await sleep(500);
    }
  })();
  return { polls, stop: async () => { stopped = true; await done; } };
}

// ---- one scenario --------------------------------------------------------------------------

let scenarioIndex = 0;

async function runPartition(server, { target, seconds }) {
  const prefix = `pt${process.pid % 10000}_${++scenarioIndex}_`;
  const db = server.db();
  const proxy = await startFaultProxy(env.baseUrl);
  const mirror = await startMirror({ databaseUrl: server.url, baseUrl: proxy.url,
    extraArgs: ["--table-prefix", prefix, "--lease-ms", "5000"], extraEnv: { LBMIRROR_LOG_LEVEL: "info" } });
  const port = target === "database" ? portOf(server.url) : portOf(proxy.url);
  const sender = new TimedSender(mirror.url, prefix);
  const readiness = pollReadiness(mirror);
  let exitedEarly = null;
  mirror.exited.then((exit) => { exitedEarly ??= exit; });
  const name = `${target} partition of ${seconds} s (${server.name})`;
  try {
    const rooms = [];
    for (let i = 0; i < ROOMS; i++) {
      const roomId = uniqueId(`${prefix}room${i}`);
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { n: 0 });
      rooms.push(roomId);
      sender.deliver(roomEvent("roomCreated", roomId));
      sender.deliver(storageUpdated(roomId));
    }
    let n = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        const roomId = rooms[n % ROOMS];
        await liveblocks.setStorage(roomId, { n: ++n, title: `change ${n}` });
        sender.deliver(storageUpdated(roomId));
        await sleep(1000 / RATE);
      }
    })();
    await sleep(3000);
    const cutAt = Date.now();
    cut(port);
    await sleep(seconds * 1000);
    heal(port);
    const healedAt = Date.now();
    await sleep(5000);
    streaming = false;
    await stream;
    const lastChangeAt = Date.now();
    await sender.drain();
    let convergedAt = null;
    let differing = [];
    try {
      await waitFor("the mirror to equal the API", async () => {
        differing = [];
        for (const roomId of rooms) differing.push(...await roomDifferences(db, prefix, roomId));
        return differing.length === 0;
      }, 60000, 250);
      convergedAt = Date.now();
    } catch {
      // reported below with the differences
    }
    await readiness.stop();

    // The figures, then the assertions.
    const during = sender.answers.filter((a) => a.sentAt >= cutAt && a.sentAt < healedAt);
    const byStatus = {};
    for (const a of during) byStatus[a.status || "none"] = (byStatus[a.status || "none"] ?? 0) + 1;
    const slowest = Math.max(...sender.answers.map((a) => a.ms));
    const firstAck = sender.answers.filter((a) => a.status === 200 && a.sentAt + a.ms >= healedAt)
      .map((a) => a.sentAt + a.ms).sort((a, b) => a - b)[0];
    const readyDuring = readiness.polls.filter((p) => p.at >= cutAt + 500 && p.at + p.ms < healedAt);
    const readyStatuses = {};
    for (const p of readyDuring) readyStatuses[p.status || "none"] = (readyStatuses[p.status || "none"] ?? 0) + 1;
    const firstReady = readiness.polls.find((p) => p.at >= healedAt && p.status === 200);
    const stored = new Set((await db.query(`SELECT webhook_id FROM ${prefix}events WHERE webhook_id LIKE ?`,
      [`${prefix}msg_%`])).map((r) => r.webhook_id));
    const lost = [...sender.acked].filter((id) => !stored.has(id));
    const line = `${name}: ${sender.next} webhooks, ${sender.answers.length} deliveries; during the partition ` +
      `${JSON.stringify(byStatus)}; slowest answer ${slowest} ms; /readyz during it ${JSON.stringify(readyStatuses)} ` +
      `(slowest ${Math.max(0, ...readyDuring.map((p) => p.ms))} ms), 200 again ${firstReady ? firstReady.at + firstReady.ms - healedAt : "never"} ms ` +
      `after the heal; first acknowledgement ${firstAck ? firstAck - healedAt : "none"} ms after the heal; ` +
      `converged ${convergedAt ? convergedAt - healedAt : "never"} ms after the heal, the stream going on for 5 s after it ` +
      `(${convergedAt ? convergedAt - lastChangeAt : "never"} ms after the last change); ${lost.length} lost`;
    console.log(line);
    if (process.env.LBMIRROR_FAULT_REPORT) fs.appendFileSync(process.env.LBMIRROR_FAULT_REPORT, line + "\n");

    assert.equal(exitedEarly, null, "the process never exited:\n" + mirror.log().slice(-3000));
    assert.equal(sender.answers.filter((a) => a.status === 0).length, 0, "every request got an answer");
    assert.ok(slowest <= ACK_TIMEOUT_MS + 1000, `every answer within the deadline plus 1 s (slowest ${slowest} ms)`);
    assert.ok(Object.keys(byStatus).every((s) => ["200", "503"].includes(s)), JSON.stringify(byStatus));
    // A poll every 0.5 s after the last answer, which takes up to 2 s while the database is cut off.
    assert.ok(readyDuring.length >= Math.max(1, Math.floor(seconds / 3)), `${readyDuring.length} readiness polls during the partition`);
    const expectedReady = target === "database" ? 503 : 200;
    // The first second after the cut may still see the database answer a probe in flight.
    const settled = readyDuring.filter((p) => p.at >= cutAt + 1000);
    assert.deepEqual(settled.filter((p) => p.status !== expectedReady), [], `/readyz is ${expectedReady} during the partition`);
    assert.ok(readyDuring.every((p) => p.ms <= 3000), "/readyz answers within 3 s");
    assert.ok(firstReady && firstReady.at + firstReady.ms - healedAt <= 10000, "/readyz is 200 within 10 s of the heal");
    if (target === "database") assert.ok((byStatus[503] ?? 0) > 0, "webhooks are answered 503 while the database is cut off");
    assert.ok(firstAck !== undefined && firstAck - healedAt <= 10000, "acknowledgements resume within 10 s of the heal");
    assert.deepEqual(lost, [], "every acknowledged webhook is in liveblocks_events");
    assert.deepEqual(differing, [], "every room equals the API within 60 s of the heal");
    const exit = await mirror.stop("SIGTERM");
    assert.equal(exit.code, 0, "SIGTERM exits 0:\n" + mirror.log().slice(-2000));
  } finally {
    healAll();
    await readiness.stop();
    if (mirror.proc.exitCode === null) await mirror.stop("SIGKILL");
    await proxy.close();
  }
}

// ---- the scenarios -------------------------------------------------------------------------

const servers = [
  { name: "MariaDB", url: env.mysqlUrl, db: () => new MysqlMirrorDb(env.mysqlUrl) },
  { name: "Postgres", url: env.postgresUrl, db: () => new PostgresMirrorDb(env.postgresUrl) },
];
describe("silent network partitions", { concurrency: 1 }, () => {
  before(() => {
    assert.equal(process.getuid?.(), 0, "iptables needs root");
    execFileSync("iptables", ["-L", "INPUT", "-n"]);
  });
  after(healAll);
  for (const server of servers) {
    describe(server.name, { concurrency: 1 }, () => {
      before(() => assert.ok(server.url, `needs the test ${server.name} server (scripts/test.sh)`));
      for (const [target, seconds] of [["database", 5], ["database", 20], ["api", 20]]) {
        test(`${target} cut off for ${seconds} s`, { timeout: 240000 }, () => runPartition(server, { target, seconds }));
      }
    });
  }
});
