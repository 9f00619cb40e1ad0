// Shared helpers for the end-to-end tests: start `lbmirror serve`, sign and send webhooks,
// talk to the Liveblocks dev server, read the mirror's rows from MariaDB, Postgres or SQLite.
import { spawn, execFile, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import mysql from "mysql2/promise";
import pg from "pg";
import * as Y from "yjs";

export const env = {
  bin: process.env.LBMIRROR_BIN,
  baseUrl: process.env.LIVEBLOCKS_BASE_URL,
  mysqlUrl: process.env.LBMIRROR_TEST_MYSQL_URL,
  mariadbDir: process.env.LBMIRROR_TEST_MARIADB_DIR,
  postgresUrl: process.env.LBMIRROR_TEST_POSTGRES_URL,
  postgresDir: process.env.LBMIRROR_TEST_POSTGRES_DIR,
  scripts: path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../../scripts"),
};
for (const [name, value] of Object.entries({ LBMIRROR_BIN: env.bin, LIVEBLOCKS_BASE_URL: env.baseUrl })) {
  if (!value) throw new Error(`${name} is not set: run the tests through scripts/test.sh or ctest`);
}

export const SECRET = "whsec_" + Buffer.from("lbmirror-integration-secret-0001").toString("base64");
export const OTHER_SECRET = "whsec_" + Buffer.from("some-other-endpoint-secret-00002").toString("base64");
const LIVEBLOCKS_KEY = "sk_localdev";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(what, check, timeoutMs = 15000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

export function uniqueId(prefix) {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

// ---- lbmirror serve -------------------------------------------------------------------

export class Mirror {
  constructor(proc, port, logFile) {
    this.proc = proc;
    this.port = port;
    this.logFile = logFile;
    this.url = `http://127.0.0.1:${port}/api/liveblocks-webhook`;
    this.exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  }
  log() {
    return fs.readFileSync(this.logFile, "utf8");
  }
  async stop(signal = "SIGTERM") {
    this.proc.kill(signal);
    return this.exited;
  }
}

// `wrapper`: a command that runs lbmirror (for example ["prlimit", "--nofile=1024", "--"]).
export async function startMirror({ databaseUrl, baseUrl = env.baseUrl, secret = SECRET, extraArgs = [], extraEnv = {}, wrapper = [] }) {
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `lbmirror-e2e-${port}.log`);
  const out = fs.openSync(logFile, "w");
  // The dev server holds the rooms of every suite: background reconciliation would mirror all
  // of them, so it is off unless a test asks for it; so are the passes of data no webhook
  // announces (their reads would count among a test's).
  const reconcile = extraArgs.some((a) => a === "--reconcile-interval" || a === "--poll") ? [] : ["--reconcile-interval", "0"];
  const passes = ["--inbox-interval", "--groups-interval", "--versions-interval", "--settings-interval",
    "--subscriptions-interval", "--feeds-interval"]
    .filter((option) => !extraArgs.includes(option)).flatMap((option) => [option, "0"]);
  const command = [...wrapper, env.bin, "serve", "--listen", `127.0.0.1:${port}`, ...reconcile, ...passes, ...extraArgs];
  const proc = spawn(command[0], command.slice(1), {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      LIVEBLOCKS_BASE_URL: baseUrl,
      LIVEBLOCKS_SECRET_KEY: LIVEBLOCKS_KEY,
      LIVEBLOCKS_WEBHOOK_SECRET: secret,
      LBMIRROR_LOG_LEVEL: "debug",
      ...extraEnv,
    },
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  const mirror = new Mirror(proc, port, logFile);
  await waitFor("lbmirror to listen", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.status === 200;
  }, 20000);
  return mirror;
}

// ---- webhooks ---------------------------------------------------------------------------

export function signedRequest(event, { id = uniqueId("msg"), secret = SECRET, date = new Date() } = {}) {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  const signature = new Webhook(secret).sign(id, date, body);
  return {
    body,
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(date.getTime() / 1000)),
      "webhook-signature": signature,
    },
  };
}

export async function post(url, { body, headers }) {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, body: await res.text() };
}

export async function sendEvent(mirror, event, options) {
  return post(mirror.url, signedRequest(event, options));
}

export function storageUpdated(roomId) {
  return { type: "storageUpdated", data: { roomId, projectId: "p", updatedAt: new Date().toISOString() } };
}
export function ydocUpdated(roomId) {
  return { type: "ydocUpdated", data: { roomId, projectId: "p", updatedAt: new Date().toISOString() } };
}
export function roomEvent(type, roomId) {
  return { type, data: { roomId, projectId: "p", createdAt: new Date().toISOString(), deletedAt: new Date().toISOString() } };
}

// ---- the Liveblocks dev server ------------------------------------------------------------

async function rest(method, pathname, body, contentType = "application/json") {
  const res = await fetch(env.baseUrl + pathname, {
    method,
    headers: { Authorization: `Bearer ${LIVEBLOCKS_KEY}`, ...(body !== undefined ? { "Content-Type": contentType } : {}) },
    body,
  });
  const text = await res.text();
  return { status: res.status, json: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

export const liveblocks = {
  async createRoom(id, extra = {}) {
    const res = await rest("POST", "/v2/rooms", JSON.stringify({ id, defaultAccesses: ["room:write"], ...extra }));
    if (res.status !== 200) throw new Error(`create room ${id}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  },
  async updateRoom(id, patch) {
    return (await rest("POST", `/v2/rooms/${encodeURIComponent(id)}`, JSON.stringify(patch))).json;
  },
  async deleteRoom(id) {
    return rest("DELETE", `/v2/rooms/${encodeURIComponent(id)}`);
  },
  // Replaces the room's Storage with a LiveObject holding `data` (plain JSON values).
  async setStorage(id, data) {
    await rest("DELETE", `/v2/rooms/${encodeURIComponent(id)}/storage`);
    const res = await rest("POST", `/v2/rooms/${encodeURIComponent(id)}/storage`,
      JSON.stringify({ liveblocksType: "LiveObject", data }));
    if (res.status !== 200) throw new Error(`set storage ${id}: ${res.status} ${JSON.stringify(res.json)}`);
  },
  async putYdoc(id, update) {
    const res = await rest("PUT", `/v2/rooms/${encodeURIComponent(id)}/ydoc`, Buffer.from(update), "application/octet-stream");
    if (res.status !== 200) throw new Error(`put ydoc ${id}: ${res.status} ${JSON.stringify(res.json)}`);
  },
  async room(id) { return rest("GET", `/v2/rooms/${encodeURIComponent(id)}`); },
  async storage(id) { return rest("GET", `/v2/rooms/${encodeURIComponent(id)}/storage?format=json`); },
  async ydoc(id) { return rest("GET", `/v2/rooms/${encodeURIComponent(id)}/ydoc`); },
  async ydocBinary(id) {
    const res = await fetch(`${env.baseUrl}/v2/rooms/${encodeURIComponent(id)}/ydoc-binary`,
      { headers: { Authorization: "Bearer sk_localdev" } });
    if (res.status !== 200) throw new Error(`get ydoc-binary ${id}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  },
};

export { tiptapUpdate, lexicalUpdate, blockNoteUpdate } from "./yjs_editors.mjs";

// ---- a fault-injecting proxy in front of the dev server -------------------------------------

// Modes: "pass"; "500", "429" (Retry-After: 1), "drop" (connection destroyed) for every request;
// "slow" (the answer is fetched at once and sent state.slowMs later) for every request;
// "mixed": each request independently gets a fault with the shares in state.mix (keys "500",
// "429", "drop", "slow"). state.reads counts GETs, state.readPaths lists them.
// hold(predicate) holds the answers of the GETs whose path matches: each is fetched from the
// API at once (the read has happened) and sent when release() is called; held() resolves once
// one is being held.
export async function startFaultProxy(target = env.baseUrl) {
  const state = { mode: "pass", count: 0, faults: 0, reads: 0, readPaths: [], mix: {}, slowMs: 800 };
  let holding = null;
  const pickMode = () => {
    if (state.mode !== "mixed") return state.mode;
    let x = Math.random();
    for (const [mode, share] of Object.entries(state.mix)) {
      if (x < share) return mode;
      x -= share;
    }
    return "pass";
  };
  const server = http.createServer(async (req, res) => {
    state.count++;
    if (req.method === "GET") {
      state.reads++;
      state.readPaths.push(req.url);
    }
    const mode = pickMode();
    if (mode === "500") {
      state.faults++;
      res.writeHead(500, { "content-type": "application/json" });
      return res.end('{"error":"Internal Server Error"}');
    }
    if (mode === "429") {
      state.faults++;
      res.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
      return res.end('{"error":"TOO_MANY_REQUESTS"}');
    }
    if (mode === "drop") {
      state.faults++;
      return req.socket.destroy();
    }
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    try {
      const upstream = await fetch(target + req.url, {
        method: req.method,
        headers: { authorization: req.headers.authorization ?? "" },
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (mode === "slow") {  // the answer is read now and arrives late, as from a slow API
        state.faults++;
        await sleep(state.slowMs);
      }
      if (holding && req.method === "GET" && holding.predicate(req.url)) {
        const hold = holding;
        hold.onHeld(req.url);
        await hold.released;
      }
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
      res.end(body);
    } catch {
      req.socket.destroy();  // the client went away meanwhile, or the upstream did
    }
  });
  const port = await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    hold(predicate) {
      let release, onHeld;
      const released = new Promise((r) => { release = r; });
      const held = new Promise((r) => { onHeld = r; });
      holding = { predicate, released, onHeld };
      return {
        held,
        release() {
          holding = null;
          release();
        },
      };
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

// ---- reading the mirror --------------------------------------------------------------------

export class MysqlMirrorDb {
  constructor(url) {
    this.url = url;
  }
  async query(sql, params = []) {
    const connection = await mysql.createConnection({ uri: this.url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
    try {
      const [rows] = await connection.query(sql, params);
      return rows;
    } finally {
      await connection.end();
    }
  }
}

// Postgres's rows shaped as mysql2 gives MariaDB's (dateStrings, bigNumberStrings), so that
// one assertion serves both: timestamps as UTC "YYYY-MM-DD HH:MM:SS.mmm", 64-bit integers and
// numerics as strings; jsonb comes parsed (parseJsonColumn takes either), bytea as a Buffer.
function utcTimestampText(text) {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(text);
  if (!m) return text;
  const zone = `${m[4]}:${m[5] ?? "00"}`;
  const date = new Date(`${m[1]}T${m[2]}${(m[3] ?? "").slice(0, 4)}${zone}`);
  return date.toISOString().replace("T", " ").replace("Z", "");
}
const postgresTypes = {
  getTypeParser(oid, format) {
    if (oid === 1184) return utcTimestampText;            // timestamptz
    if (oid === 20 || oid === 1700) return (text) => text; // int8, numeric
    return pg.types.getTypeParser(oid, format);
  },
};

export class PostgresMirrorDb {
  constructor(url) {
    this.url = url;
  }
  async query(sql, params = []) {
    // The suites' SQL is MySQL's and SQLite's: "?" parameters, hex() of a blob.
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`).replace(/\bhex\(([^)]+)\)/g, "encode($1, 'hex')");
    const client = new pg.Client({ connectionString: this.url, types: postgresTypes });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  }
}

export class SqliteMirrorDb {
  constructor(file) {
    this.file = file;
  }
  async query(sql, params = []) {
    // sqlite3's CLI has no parameters: the tests only pass ids they made, quoted here.
    let i = 0;
    const text = sql.replace(/\?/g, () => `'${String(params[i++]).replace(/'/g, "''")}'`);
    const out = execFileSync("sqlite3", ["-json", "-cmd", ".timeout 5000", this.file, text], { encoding: "utf8" });
    return out.trim() ? JSON.parse(out) : [];
  }
}

// The databases a suite runs on: a fresh SQLite file (unless `sqlite` is false), and the
// test MariaDB and Postgres servers when they are set up, each on tables of its own prefix.
export function backends(tag, { sqlite = true, servers = true } = {}) {
  const list = [];
  if (sqlite) {
    const file = path.join(os.tmpdir(), `lbmirror-${tag}-${process.pid}.db`);
    list.push({ name: "SQLite", databaseUrl: `sqlite:${file}`, db: new SqliteMirrorDb(file), prefix: "liveblocks_",
      extraArgs: [], cleanup: () => ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true })) });
  }
  if (!servers) return list;
  const prefix = `${tag}${process.pid}_`;
  const server = (name, databaseUrl, db) => ({ name, databaseUrl, db, prefix,
    extraArgs: ["--table-prefix", prefix], cleanup() {} });
  if (env.mysqlUrl) list.push(server("MariaDB", env.mysqlUrl, new MysqlMirrorDb(env.mysqlUrl)));
  else console.log("# LBMIRROR_TEST_MYSQL_URL is not set: MariaDB cases are not run");
  if (env.postgresUrl) list.push(server("Postgres", env.postgresUrl, new PostgresMirrorDb(env.postgresUrl)));
  else console.log("# LBMIRROR_TEST_POSTGRES_URL is not set: Postgres cases are not run");
  return list;
}

export function parseJsonColumn(value) {
  return typeof value === "string" ? JSON.parse(value) : value;
}

export function mariadb(command) {
  return execFileSync(path.join(env.scripts, "mariadb.sh"), [command, env.mariadbDir], { encoding: "utf8" });
}
// The test database servers' scripts (start, stop) without blocking the event loop (traffic
// goes on meanwhile).
function serverScriptAsync(script, dir, command) {
  return new Promise((resolve, reject) => execFile(path.join(env.scripts, script),
    [command, dir], { encoding: "utf8" }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}
export const mariadbAsync = (command) => serverScriptAsync("mariadb.sh", env.mariadbDir, command);
export const postgresAsync = (command) => serverScriptAsync("postgres.sh", env.postgresDir, command);
