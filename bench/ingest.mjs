// A first ingest measurement (the full benchmark against the guide's handler is separate work):
// R rooms x U storageUpdated webhooks, pre-signed, sent at concurrency C to a fresh
// `lbmirror serve`; prints acknowledged webhooks/s, ack latency p50/p99, REST reads per
// webhook, and the time from the last ack until every room equals the REST API.
// Needs the environment of the integration tests (LBMIRROR_BIN, LIVEBLOCKS_BASE_URL and,
// for MariaDB, LBMIRROR_TEST_MYSQL_URL), as scripts/test.sh sets it.
//   node bench/ingest.mjs [--rooms 50] [--updates 20] [--concurrency 16] [--backend sqlite|mysql]
import { isDeepStrictEqual } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  env, startMirror, signedRequest, liveblocks, storageUpdated, uniqueId, waitFor,
  startFaultProxy, MysqlMirrorDb, SqliteMirrorDb, parseJsonColumn,
} from "../tests/integration/harness.mjs";

const args = Object.fromEntries(process.argv.slice(2).join(" ").split("--").filter(Boolean)
  .map((pair) => pair.trim().split(/\s+/)));
const rooms = Number(args.rooms ?? 50);
const updates = Number(args.updates ?? 20);
const concurrency = Number(args.concurrency ?? 16);
const backend = args.backend ?? (env.mysqlUrl ? "mysql" : "sqlite");

const file = path.join(os.tmpdir(), `lbmirror-bench-${process.pid}.db`);
const prefix = `bench${process.pid}_`;
const databaseUrl = backend === "mysql" ? env.mysqlUrl : `sqlite:${file}`;
const db = backend === "mysql" ? new MysqlMirrorDb(env.mysqlUrl) : new SqliteMirrorDb(file);
const table = backend === "mysql" ? `${prefix}documents` : "liveblocks_documents";

const proxy = await startFaultProxy();  // pass-through; counts REST reads
const mirror = await startMirror({ databaseUrl, baseUrl: proxy.url, extraArgs: ["--table-prefix", backend === "mysql" ? prefix : "liveblocks_", "--log-level", "warn"], extraEnv: { LBMIRROR_LOG_LEVEL: "warn" } });
const ids = [];
for (let r = 0; r < rooms; r++) {
  const id = uniqueId(`bench${r}`);
  ids.push(id);
  await liveblocks.createRoom(id);
  await liveblocks.setStorage(id, { room: r, items: Array.from({ length: 20 }, (_, i) => ({ i, text: "x".repeat(20) })) });
}
const requests = [];
for (let u = 0; u < updates; u++) for (const id of ids) requests.push(signedRequest(storageUpdated(id)));
const readsBefore = proxy.state.count;

const latencies = [];
let next = 0;
let failures = 0;
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < requests.length) {
    const request = requests[next++];
    const t0 = performance.now();
    const res = await fetch(mirror.url, { method: "POST", body: request.body, headers: request.headers });
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res.status !== 200) failures++;
  }
}));
const lastAck = performance.now();
const truth = new Map();
for (const id of ids) truth.set(id, (await liveblocks.storage(id)).json);
await waitFor("the mirror to equal the REST API", async () => {
  const rows = await db.query(`SELECT room_id, data FROM ${table}`);
  const got = new Map(rows.map((row) => [row.room_id, parseJsonColumn(row.data)]));
  return ids.every((id) => isDeepStrictEqual(got.get(id), truth.get(id)));
}, 60000, 20);
const converged = performance.now();
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2);
const seconds = (lastAck - started) / 1000;
console.log(JSON.stringify({
  backend, rooms, updates, concurrency, webhooks: requests.length, failures,
  acked_per_second: Math.round(requests.length / seconds),
  ack_latency_ms: { p50: Number(pct(0.5)), p99: Number(pct(0.99)) },
  rest_reads_per_webhook: Number(((proxy.state.count - readsBefore) / requests.length).toFixed(3)),
  converged_ms_after_last_ack: Math.round(converged - lastAck),
}, null, 1));
await mirror.stop();
await proxy.close();
["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
