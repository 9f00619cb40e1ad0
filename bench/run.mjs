// The benchmark: the guide's route handler (bench/baseline.mjs) against `lbmirror serve`, same
// machine, same database server (MariaDB, Postgres, or each in turn) and Liveblocks dev
// server, same pre-signed webhooks sent by build/lbmirror_loadgen, alternating systems, several
// repetitions; medians reported.
// Run through bench/run.sh, which starts the services and sets the environment.
//   node bench/run.mjs [--reps 3] [--scenarios burst,spread,duplicates,large1mb,large10mb,mixed,steady,stream]
//                      (and editing: the stream while the rooms keep changing, for the change feed)
//                      [--rate 400] (webhooks/s of the steady scenario)
//                      [--concurrency 16] [--http-threads N] [--coalesce-ms N] [--workers N]
//                      (lbmirror's own defaults unless given)
//                      [--systems baseline,lbmirror]
//                      [--database mariadb|postgres|both] (default mariadb)
//                      [--console on] (lbmirror with its admin listener and console sampling
//                      every second)
//                      [--passes on] (lbmirror with the versions and feeds passes on, as by
//                      default: each document read also marks the room's versions and feeds
//                      to be read after --after-edit-delay; otherwise every pass is off)
//                      [--systems lbmirror,lbmirror-feed] (lbmirror-feed: lbmirror with
//                      --change-feed, forwarding every change to a receiver on loopback; its
//                      figures add the changes forwarded, the most the receiver was behind, and
//                      how long after the mirror converged the last change arrived)
import { spawn, execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { tiptapUpdate } from "../tests/integration/lib/yjs_editors.mjs";
import {
  env, SECRET, startMirror, signedRequest, liveblocks, storageUpdated, ydocUpdated, roomEvent,
  uniqueId, waitFor, freePort, sleep, MysqlMirrorDb, PostgresMirrorDb, parseJsonColumn,
} from "../tests/integration/lib/harness.mjs";

const args = Object.fromEntries(process.argv.slice(2).join(" ").split("--").filter(Boolean)
  .map((pair) => pair.trim().split(/\s+/)));
const REPS = Number(args.reps ?? 3);
const SCENARIOS = (args.scenarios ?? "burst,spread,duplicates,large1mb,large10mb,mixed,steady,stream").split(",");
const STEADY_RATE = Number(args.rate ?? 400);  // webhooks/s of the fixed-rate scenario
const CONCURRENCY = Number(args.concurrency ?? 16);
const SYSTEMS = (args.systems ?? "baseline,lbmirror").split(",");  // one only, for profiling
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const loadgen = path.join(root, "build", "lbmirror_loadgen");
const DATABASES = { mariadb: mariadbUnderTest, postgres: postgresUnderTest };
const chosen = args.database ?? "mariadb";
if (chosen !== "both" && !DATABASES[chosen]) throw new Error(`--database: mariadb, postgres or both, not ${chosen}`);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-bench-"));

// A TCP pass-through to the Liveblocks API that counts the GET requests going through it (the
// REST reads). It does not parse HTTP, so it adds little to each read: the systems read at
// nearly the API's own speed. Every REST call of both systems is a GET without a body.
async function startCountingProxy(target) {
  const { hostname, port } = new URL(target);
  const state = { reads: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("error", () => { client.destroy(); upstream.destroy(); });
      socket.on("close", () => sockets.delete(socket));
    }
    let carry = "";  // the end of the previous chunk: a request line may be split
    client.on("data", (chunk) => {
      const text = carry + chunk.toString("latin1");
      for (let i = text.indexOf("GET /"); i !== -1; i = text.indexOf("GET /", i + 1)) state.reads++;
      carry = text.slice(-4);  // shorter than "GET /": no request line is counted twice
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`, state,
    close: () => new Promise((resolve) => { for (const socket of sockets) socket.destroy(); server.close(resolve); }),
  };
}

// One pre-signed request for the load generator (a line of its input file).
function requestLine(event) {
  const { body, headers } = signedRequest(event);
  return JSON.stringify({ id: headers["webhook-id"], timestamp: headers["webhook-timestamp"],
    signature: headers["webhook-signature"], body });
}

// ---- scenarios: rooms prepared once, then the webhooks each run sends -------------------------

function document(room, sizeBytes) {
  const item = { text: "x".repeat(80), n: 0 };
  const count = Math.max(1, Math.floor(sizeBytes / 100));
  return { room, items: Array.from({ length: count }, (_, i) => ({ ...item, n: i })) };
}

async function prepareRooms(name, count, sizeBytes, { ydoc = false } = {}) {
  const ids = [];
  for (let r = 0; r < count; r++) {
    const id = uniqueId(`${name}${r}`);
    await liveblocks.createRoom(id);
    await liveblocks.setStorage(id, document(r, sizeBytes));
    if (ydoc) await liveblocks.putYdoc(id, tiptapUpdate(`Room ${r}`, `notes of room ${r} `.repeat(20)));
    ids.push(id);
  }
  return ids;
}

const scenarios = {
  // 50 rooms x 20 updates in one burst: the figures the guide's handler was measured with.
  async burst() {
    const rooms = await prepareRooms("burst", 50, 2000);
    return { rooms, events: () => Array.from({ length: 20 }, () => rooms.map(storageUpdated)).flat() };
  },
  async spread() {
    const rooms = await prepareRooms("spread", 1000, 2000);
    return { rooms, events: () => rooms.map(storageUpdated) };
  },
  // The burst, every webhook delivered three times (the same webhook-id).
  async duplicates() {
    const rooms = await prepareRooms("dup", 50, 2000);
    return { rooms, copies: 3, events: () => Array.from({ length: 20 }, () => rooms.map(storageUpdated)).flat() };
  },
  async large1mb() {
    const rooms = await prepareRooms("mb", 4, 1 << 20);
    return { rooms, events: () => Array.from({ length: 5 }, () => rooms.map(storageUpdated)).flat() };
  },
  async large10mb() {
    const rooms = await prepareRooms("tenmb", 1, 10 << 20);
    return { rooms, events: () => Array.from({ length: 3 }, () => rooms.map(storageUpdated)).flat() };
  },
  // The burst's webhooks at a fixed rate about the baseline's best: latency without overload.
  async steady() {
    const rooms = await prepareRooms("steady", 50, 2000);
    return { rooms, rate: STEADY_RATE, events: () => Array.from({ length: 20 }, () => rooms.map(storageUpdated)).flat() };
  },
  // 1,000 webhooks/s for 5 s while the rooms' Storage keeps changing (ten rooms edited every
  // ~20 ms), so that most reads make a change: the change feed's load. The mirror must end
  // equal to the last values.
  async editing() {
    const rooms = await prepareRooms("editing", 50, 2000);
    return { rooms, edits: true, rate: 1000,
      events: () => Array.from({ length: 100 }, () => rooms.map(storageUpdated)).flat() };
  },
  // Capacity: a longer stream with twice the requests in flight (32; the others 16). With
  // each request answered only once durable, the rate is bounded by requests in flight over
  // the commit time; more in flight share each commit.
  async stream() {
    const rooms = await prepareRooms("stream", 50, 2000);
    return { rooms, concurrency: 2 * CONCURRENCY, events: () => Array.from({ length: 200 }, () => rooms.map(storageUpdated)).flat() };
  },
  // Storage, Yjs and room events mixed (the guide's handler acknowledges the others unread).
  async mixed() {
    const rooms = await prepareRooms("mixed", 50, 2000, { ydoc: true });
    return { rooms, events: () => Array.from({ length: 20 }, (_, u) => rooms.map((id) =>
      u % 4 === 1 ? ydocUpdated(id) : u % 10 === 3 ? roomEvent("roomCreated", id) : storageUpdated(id))).flat() };
  },
};

// ---- one run ---------------------------------------------------------------------------------

function procStat(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);  // utime + stime
  const childrenTicks = Number(fields[13]) + Number(fields[14]);  // cutime + cstime (reaped)
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))[1]);
  return { cpuSeconds: ticks / 100, childrenCpuSeconds: childrenTicks / 100, ppid: Number(fields[1]),
    rssMiB: kb("VmRSS") / 1024, peakMiB: kb("VmHWM") / 1024 };
}

// The database under test: its URL, a client, a checksum of a JSON column, what it wrote (all
// clients together: the benchmark is the only client while it runs) and its own CPU time.
function mariadbUnderTest() {
  const db = new MysqlMirrorDb(env.mysqlUrl);
  return {
    name: "MariaDB", url: env.mysqlUrl, db, checksum: (column) => `CRC32(${column})`,
    writesLabel: "write statements",
    // Write statements the server executed (prepared ones included).
    async writes() {
      const rows = await db.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert','Com_update','Com_delete','Com_replace')");
      return rows.reduce((n, r) => n + Number(r.Value), 0);
    },
    cpuSeconds: () => procStat(Number(fs.readFileSync(path.join(env.mariadbDir, "mysqld.pid"), "utf8"))).cpuSeconds,
  };
}

function postgresUnderTest() {
  const db = new PostgresMirrorDb(env.postgresUrl);
  return {
    name: "Postgres", url: env.postgresUrl, db, checksum: (column) => `hashtext(${column}::text)`,
    // Postgres counts rows, not statements, and publishes a session's counts when it ends or
    // idles (read after the system under test stopped).
    writesLabel: "rows written",
    async writes() {
      const rows = await db.query("SELECT tup_inserted + tup_updated + tup_deleted AS n FROM pg_stat_database WHERE datname = current_database()");
      return Number(rows[0].n);
    },
    // The postmaster's CPU time, its ended sessions' (reaped children) and its live sessions'.
    cpuSeconds() {
      const pid = Number(fs.readFileSync(path.join(env.postgresDir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
      let seconds = procStat(pid).cpuSeconds + procStat(pid).childrenCpuSeconds;
      for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          if (procStat(Number(entry)).ppid === pid) seconds += procStat(Number(entry)).cpuSeconds;
        } catch {
          // gone meanwhile
        }
      }
      return seconds;
    },
  };
}

async function startBaseline(database, baseUrl, table) {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(root, "bench", "baseline.mjs")], {
    env: { PATH: process.env.PATH, PORT: String(port), DATABASE_URL: database.url, LIVEBLOCKS_SECRET_KEY: "sk_localdev",
      LIVEBLOCKS_BASE_URL: baseUrl, LIVEBLOCKS_WEBHOOK_SECRET: SECRET, BASELINE_TABLE: table },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitFor("the baseline to listen", async () => {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return true;
    } catch {
      return false;
    }
  }, 20000, 100);
  return { pid: proc.pid, url: `http://127.0.0.1:${port}/api/liveblocks-webhook`,
    stop: () => new Promise((resolve) => { proc.on("exit", resolve); proc.kill("SIGTERM"); }) };
}

// The receiver of lbmirror-feed's forwarding: counts what arrives (every change once, unless a
// round was retried), without verifying (the suites do).
async function startReceiver() {
  const state = { received: 0, positions: new Set() };
  const server = (await import("node:http")).createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      state.received++;
      state.positions.add(JSON.parse(body).position);
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${server.address().port}/changes`;
  state.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return state;
}

async function startLbmirror(database, baseUrl, prefix, { feed = null } = {}) {
  // With --console on: the admin listener samples every second, and an open console (the
  // page's requests, every second here) reads the overview, the queue and the webhook log.
  const withConsole = args.console === "on";
  const adminPort = withConsole ? await freePort() : 0;
  const token = "bench-console-token-0123456789";
  const mirror = await startMirror({ databaseUrl: database.url, baseUrl,
    extraArgs: ["--table-prefix", prefix, ...(args["http-threads"] ? ["--http-threads", args["http-threads"]] : []),
      ...(args["coalesce-ms"] ? ["--coalesce-ms", args["coalesce-ms"]] : []),
      ...(args.workers ? ["--workers", args.workers] : []),
      ...(args.passes === "on" ? ["--versions-interval", "24h", "--feeds-interval", "24h"] : []),
      ...(withConsole ? ["--admin-listen", `127.0.0.1:${adminPort}`, "--admin-sample-interval", "1s"] : []),
      ...(feed ? ["--change-feed", "--forward-config", feed] : [])],
    extraEnv: { LBMIRROR_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn", ...(withConsole ? { LBMIRROR_ADMIN_TOKEN: token } : {}) } });
  const poller = withConsole ? setInterval(() => {
    for (const route of ["/api/overview", "/api/queue", "/api/events?limit=50"]) {
      fetch(`http://127.0.0.1:${adminPort}${route}`, { headers: { authorization: `Bearer ${token}` } })
        .then((r) => r.arrayBuffer()).catch(() => {});
    }
  }, 1000) : null;
  return { pid: mirror.proc.pid, url: mirror.url,
    stop: () => { if (poller) clearInterval(poller); return mirror.stop("SIGTERM"); } };
}

async function run(database, system, scenarioName, setup, index) {
  const { db } = database;
  const prefix = `bench${process.pid % 10000}_${index}_`;
  const table = `${prefix}documents`;
  const proxy = await startCountingProxy(env.baseUrl);
  let receiver = null;
  let feed = null;
  if (system === "lbmirror-feed") {
    receiver = await startReceiver();
    feed = path.join(work, `${prefix}forward.json`);
    fs.writeFileSync(feed, JSON.stringify([{ name: "bench", url: receiver.url,
      secret: "whsec_" + Buffer.from("bench-forwarding-secret-000001").toString("base64") }]));
  }
  const server = system === "baseline" ? await startBaseline(database, proxy.url, table)
    : await startLbmirror(database, proxy.url, prefix, { feed });
  await sleep(300);
  const idle = procStat(server.pid);
  const truth = new Map();
  for (const id of setup.rooms) truth.set(id, (await liveblocks.storage(id)).json);

  const events = setup.events();
  const lines = [];
  for (const event of events) {
    const line = requestLine(event);
    for (let c = 0; c < (setup.copies ?? 1); c++) lines.push(line);
  }
  const file = path.join(work, `${prefix}requests.jsonl`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  // While the load runs, the rooms' Storage keeps changing (the editing scenario).
  let editing = setup.edits;
  const editor = (async () => {
    for (let n = 0; editing; n++) {
      await Promise.all(setup.rooms.slice(0, 10).map((id, i) =>
        liveblocks.setStorage(setup.rooms[(n * 10 + i) % setup.rooms.length], { edit: n, pad: "x".repeat(1500) })));
      await sleep(20);
    }
  })();
  const readsBefore = proxy.state.reads;
  const writesBefore = await database.writes();
  const before = procStat(server.pid);
  const databaseBefore = database.cpuSeconds();
  // Asynchronously: the counting proxy runs in this process and must keep answering.
  const load = JSON.parse(await new Promise((resolve, reject) => execFile(loadgen,
    ["--url", server.url, "--connections", String(setup.concurrency ?? CONCURRENCY), ...(setup.rate ? ["--rate", String(setup.rate)] : []), file],
    { encoding: "utf8" },
    (error, stdout) => (error && !stdout ? reject(error) : resolve(stdout)))));
  const loadEnd = Date.now();
  editing = false;
  await editor;
  if (setup.edits) for (const id of setup.rooms) truth.set(id, (await liveblocks.storage(id)).json);
  // The most changes the receiver was behind, sampled while the mirror catches up.
  let behindMax = 0;
  const sampleBehind = receiver ? setInterval(async () => {
    const [{ n }] = await db.query(`SELECT COUNT(*) AS n FROM ${prefix}changes WHERE position IS NOT NULL`);
    behindMax = Math.max(behindMax, Number(n) - receiver.positions.size);
  }, 250) : null;
  if (load.ok !== lines.length) console.error(`${system} ${scenarioName}: ${JSON.stringify(load)}`);
  // The checker must not load the machine (nor this process, which also proxies the REST
  // reads) while the mirror catches up: each look asks the database for a checksum of every
  // pending room's row, and only a row that is new or changed since the last look is read
  // and compared; a room found equal is done (no change follows the last webhook). One full
  // comparison at the end confirms every room.
  const equal = (row) => isDeepStrictEqual(parseJsonColumn(row.data), truth.get(row.room_id));
  const rowsOf = (ids, columns) => db.query(`SELECT room_id, ${columns} FROM ${table} WHERE room_id IN (${ids.map(() => "?").join(",")})`, ids);
  const select = (ids) => rowsOf(ids, `data, ${database.checksum("data")} AS sum`);
  const pending = new Set(truth.keys());
  const looked = new Map();  // room -> checksum of the row last found unequal
  const convergedAt = [];  // ms after the last acknowledgement, per room
  await waitFor("the mirror to equal the REST API", async () => {
    const ids = [...pending];
    const sums = await rowsOf(ids, `${database.checksum("data")} AS sum`);
    const seenAt = Date.now() - loadEnd;
    const seen = new Map(sums.map((row) => [row.room_id, Number(row.sum)]));
    const changed = sums.filter((row) => looked.get(row.room_id) !== Number(row.sum)).map((row) => row.room_id);
    if (changed.length > 0) {
      for (const row of await select(changed)) {
        if (equal(row)) {
          pending.delete(row.room_id);
          // Equal since the checksum was read, unless the row changed in between.
          convergedAt.push(Number(row.sum) === seen.get(row.room_id) ? seenAt : Date.now() - loadEnd);
        } else {
          looked.set(row.room_id, Number(row.sum));
        }
      }
    }
    return pending.size === 0;
  }, 120000, 20);
  convergedAt.sort((a, b) => a - b);
  const convergedMs = convergedAt[convergedAt.length - 1];
  const convergedP99Ms = convergedAt[Math.min(convergedAt.length - 1, Math.ceil(0.99 * convergedAt.length) - 1)];
  const runSeconds = (Date.now() - loadEnd) / 1000 + load.seconds;
  let forwardDoneMs = null;
  let forwarded = null;
  if (receiver) {
    const [{ n }] = await db.query(`SELECT COUNT(*) AS n FROM ${prefix}changes`);
    const convergedAtMs = Date.now();
    await waitFor("every change forwarded", async () => receiver.positions.size >= Number(n), 60000, 20);
    forwardDoneMs = Date.now() - convergedAtMs;
    forwarded = receiver.positions.size;
    clearInterval(sampleBehind);
  }
  const all = await select([...truth.keys()]);
  if (all.length !== truth.size || !all.every(equal)) throw new Error(`${system} ${scenarioName}: a room changed after it equalled the REST API`);
  const after = procStat(server.pid);
  const databaseAfter = database.cpuSeconds();
  const webhooks = lines.length;
  await server.stop();
  if (receiver) await receiver.close();
  const writesAfter = await database.writes();
  const figures = {
    database: database.name, system, scenario: scenarioName, concurrency: setup.concurrency ?? CONCURRENCY, webhooks, acked: load.ok, failed: load.other + load.errors,
    acks_per_s: load.rate, p50_ms: load.p50_ms, p99_ms: load.p99_ms, converged_ms: convergedMs,
    converged_p99_ms: convergedP99Ms,
    rest_reads_per_webhook: (proxy.state.reads - readsBefore) / webhooks,
    db_writes_per_webhook: (writesAfter - writesBefore) / webhooks,
    cpu_s_per_1000: ((after.cpuSeconds - before.cpuSeconds) / webhooks) * 1000,
    db_cpu_s_per_1000: ((databaseAfter - databaseBefore) / webhooks) * 1000,
    peak_rss_mib: after.peakMiB, idle_rss_mib: idle.rssMiB,
    targets_per_s: (proxy.state.reads - readsBefore) / runSeconds,
    forwarded, forward_behind_max: receiver ? behindMax : null, forward_done_ms: forwardDoneMs,
  };
  await proxy.close();
  fs.rmSync(file, { force: true });
  return figures;
}

// ---- all runs, alternating systems --------------------------------------------------------

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const KEYS = ["acks_per_s", "p50_ms", "p99_ms", "converged_ms", "converged_p99_ms", "rest_reads_per_webhook",
  "db_writes_per_webhook", "cpu_s_per_1000", "db_cpu_s_per_1000", "peak_rss_mib", "idle_rss_mib", "targets_per_s"];

// The load generator's own ceiling on this machine: the burst's requests sent to a path of
// lbmirror that answers 405 at once (no verification, no database). If a system's acks/s
// come near it, the generator is the bottleneck.
async function generatorCeiling() {
  const setup = await scenarios.burst();
  const server = await startLbmirror(mariadbUnderTest(), env.baseUrl, `bench${process.pid % 10000}_ceiling_`);
  const file = path.join(work, "ceiling.jsonl");
  fs.writeFileSync(file, setup.events().map(requestLine).join("\n") + "\n");
  const rates = [];
  for (let rep = 0; rep < 3; rep++) {
    const out = await new Promise((resolve, reject) => execFile(loadgen,
      ["--url", server.url.replace(/\/api\/liveblocks-webhook$/, "/healthz"), "--connections", String(CONCURRENCY), file],
      { encoding: "utf8" }, (error, stdout) => (error && !stdout ? reject(error) : resolve(stdout))));
    const load = JSON.parse(out);
    rates.push(load.requests / load.seconds);
  }
  await server.stop();
  return median(rates);
}
const ceiling = await generatorCeiling();
console.error(`load generator ceiling: ${ceiling.toFixed(0)} requests/s (answered 405 at once)`);

const results = [];
const summary = [];
const fmt = (v, d = 1) => (v === null || v === undefined ? "-" : Number(v).toFixed(d));
let index = 0;
for (const databaseName of chosen === "both" ? ["mariadb", "postgres"] : [chosen]) {
  const database = DATABASES[databaseName]();
  const runs = [];
  for (const name of SCENARIOS) {
    const setup = await scenarios[name]();
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? ["baseline", "lbmirror", "lbmirror-feed"] : ["lbmirror-feed", "lbmirror", "baseline"];
      for (const system of order.filter((s) => SYSTEMS.includes(s))) {
        const figures = await run(database, system, name, setup, ++index);
        runs.push({ ...figures, rep });
        console.error(`${database.name} ${name} ${system} rep ${rep}: ${figures.acks_per_s.toFixed(0)} acks/s, p99 ${figures.p99_ms.toFixed(1)} ms, converged ${figures.converged_ms} ms`);
      }
    }
  }
  results.push(...runs);

  const rows = [];
  for (const name of SCENARIOS) {
    const row = { database: database.name, scenario: name };
    for (const system of ["baseline", "lbmirror"]) {
      const mine = runs.filter((r) => r.scenario === name && r.system === system);
      row[system] = Object.fromEntries(KEYS.map((k) => [k, median(mine.map((r) => r[k]))]));
      row[system].failed = mine.reduce((n, r) => n + r.failed, 0);
    }
    row.ratio = Object.fromEntries(KEYS.map((k) => [k, row.baseline[k] ? row.lbmirror[k] / row.baseline[k] : null]));
    rows.push(row);
  }
  summary.push(...rows);
  if (SYSTEMS.includes("lbmirror-feed")) {
    // The change feed's cost: lbmirror with and without it, alternated, medians.
    const feedRows = ["| scenario | lbmirror acks/s | with feed | ratio | lbmirror targets/s | with feed | ratio | changes forwarded | receiver behind at most | last change arrived ms after convergence |", "|---|---|---|---|---|---|---|---|---|---|"];
    for (const name of SCENARIOS) {
      const of = (system, key) => median(runs.filter((r) => r.scenario === name && r.system === system).map((r) => r[key]));
      const [a, af, t, tf] = [of("lbmirror", "acks_per_s"), of("lbmirror-feed", "acks_per_s"), of("lbmirror", "targets_per_s"), of("lbmirror-feed", "targets_per_s")];
      feedRows.push(`| ${name} | ${fmt(a, 0)} | ${fmt(af, 0)} | ${fmt(af / a, 2)} | ${fmt(t, 0)} | ${fmt(tf, 0)} | ${fmt(tf / t, 2)} | ${fmt(of("lbmirror-feed", "forwarded"), 0)} | ${fmt(of("lbmirror-feed", "forward_behind_max"), 0)} | ${fmt(of("lbmirror-feed", "forward_done_ms"), 0)} |`);
    }
    console.log(`${database.name}, the change feed on and off:\n\n${feedRows.join("\n")}\n`);
  }

  const header = `| scenario | system | acks/s | p50 ms | p99 ms | converged ms (all rooms) | converged ms (p99 of rooms) | REST reads/webhook | DB ${database.writesLabel}/webhook | CPU s/1000 | ${database.name} CPU s/1000 | peak RSS MiB |`;
  const out = [`${database.name}:`, "", header, "|---|---|---|---|---|---|---|---|---|---|---|---|"];
  for (const row of rows) {
    for (const system of ["baseline", "lbmirror", "ratio"]) {
      const f = row[system];
      out.push(`| ${row.scenario} | ${system === "ratio" ? "lbmirror/baseline" : system} | ${fmt(f.acks_per_s, system === "ratio" ? 2 : 0)} | ${fmt(f.p50_ms, 2)} | ${fmt(f.p99_ms, 2)} | ${fmt(f.converged_ms, system === "ratio" ? 2 : 0)} | ${fmt(f.converged_p99_ms, system === "ratio" ? 2 : 0)} | ${fmt(f.rest_reads_per_webhook, 3)} | ${fmt(f.db_writes_per_webhook, 2)} | ${fmt(f.cpu_s_per_1000, 3)} | ${fmt(f.db_cpu_s_per_1000, 3)} | ${fmt(f.peak_rss_mib, system === "ratio" ? 2 : 1)} |`);
    }
  }
  console.log(out.join("\n") + "\n");
}
console.log(`Load generator ceiling on this machine: ${ceiling.toFixed(0)} requests/s (${CONCURRENCY} connections, requests answered 405 at once).`);
const json = path.join(root, "bench", "results.json");
fs.writeFileSync(json, JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
  date: new Date().toISOString(), reps: REPS, concurrency: CONCURRENCY, generator_ceiling_per_s: ceiling,
  summary, runs: results }, null, 1));
console.error(`figures saved to ${path.relative(process.cwd(), json)}`);
fs.rmSync(work, { recursive: true, force: true });
