// The baseline of the benchmark: the route handler of the Liveblocks guide "Sync Liveblocks
// Storage to PlanetScale", as faithful as a plain Node.js server allows. Per request: parse the
// JSON body, verify it with @liveblocks/node's WebhookHandler (over JSON.stringify(body), as the
// guide does), and for storageUpdated read the document with getStorageDocument(roomId, "json")
// and upsert it with one `insert … on duplicate key update` (mysql2 in place of
// @planetscale/database, which speaks HTTP to PlanetScale only). With a postgres:// URL, the
// same handler as the Supabase and Neon versions of the guide write it: `pg` and
// `insert … on conflict (room_id) do update` into a jsonb column.
//   PORT=… DATABASE_URL=mysql://…|postgres://… LIVEBLOCKS_SECRET_KEY=… LIVEBLOCKS_BASE_URL=…
//   LIVEBLOCKS_WEBHOOK_SECRET=… node bench/baseline.mjs
import http from "node:http";
import { createRequire } from "node:module";

// The integration tests' packages (@liveblocks/node, mysql2, pg) serve the benchmark too.
const require = createRequire(new URL("../tests/integration/package.json", import.meta.url));
const { Liveblocks, WebhookHandler } = require("@liveblocks/node");

const liveblocks = new Liveblocks({ secret: process.env.LIVEBLOCKS_SECRET_KEY, baseUrl: process.env.LIVEBLOCKS_BASE_URL });
const webhookHandler = new WebhookHandler(process.env.LIVEBLOCKS_WEBHOOK_SECRET);
const table = process.env.BASELINE_TABLE ?? "liveblocks_documents";
const postgres = /^postgres(ql)?:/.test(process.env.DATABASE_URL);

let db;
let upsert;
if (postgres) {
  const { Pool } = require("pg");
  db = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  await db.query(`create table if not exists ${table} (
    room_id text primary key,
    data jsonb not null,
    updated_at timestamptz not null default now()
  )`);
  upsert = (roomId, data) => db.query(
    `insert into ${table} (room_id, data)
     values ($1, $2)
     on conflict (room_id) do update set data = excluded.data, updated_at = now()`,
    [roomId, JSON.stringify(data)]);
} else {
  const mysql = require("mysql2/promise");
  db = mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 10 });
  await db.execute(`create table if not exists ${table} (
    room_id varchar(255) primary key,
    data json not null,
    updated_at timestamp not null default current_timestamp on update current_timestamp
  )`);
  upsert = (roomId, data) => db.execute(
    `insert into ${table} (room_id, data)
     values (?, ?)
     on duplicate key update data = values(data)`,
    [roomId, JSON.stringify(data)]);
}

async function POST(request) {
  const body = JSON.parse(request.body);
  const headers = request.headers;
  let event;
  try {
    event = webhookHandler.verifyRequest({ headers, rawBody: JSON.stringify(body) });
  } catch (err) {
    console.error(err);
    return { status: 400, body: "Could not verify webhook call" };
  }
  if (event.type === "storageUpdated") {
    const { roomId } = event.data;
    const data = await liveblocks.getStorageDocument(roomId, "json");
    await upsert(roomId, data);
  }
  return { status: 200, body: "" };
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST") {  // readiness probes of the benchmark
    res.writeHead(404);
    return res.end();
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    let answer;
    try {
      answer = await POST({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
    } catch (err) {
      console.error(err);
      answer = { status: 500, body: "" };
    }
    res.writeHead(answer.status);
    res.end(answer.body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`baseline listening on ${process.env.PORT}`));
process.on("SIGTERM", () => server.close(() => db.end().then(() => process.exit(0))));
