// TLS to the database as PlanetScale, Supabase and Neon need it: a private MariaDB server, then
// a private PostgreSQL server, that only accept encrypted connections, with a certificate from
// a test CA for 127.0.0.1. lbmirror must verify the chain against the CA file (sslca,
// sslrootcert), check the host name with verify_identity / verify-full (127.0.0.2 is not in the
// certificate), and say clearly why a connection is refused, never showing the password.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { env, freePort, startMirror, sendEvent, storageUpdated, liveblocks, uniqueId, waitFor } from "./lib/harness.mjs";

const PASSWORD = "lbmirror-test-pw";

function openssl(args, cwd) {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

function lbmirror(args) {
  const run = spawnSync(env.bin, args, { encoding: "utf8", env: { PATH: process.env.PATH } });
  return { code: run.status, output: run.stdout + run.stderr };
}

// A test CA in `dir` (ca.pem) and a server certificate for 127.0.0.1 signed by it.
function makeCertificates(dir) {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
    "-days", "2", "-subj", "/CN=lbmirror test CA"], dir);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr",
    "-subj", "/CN=lbmirror test database"], dir);
  fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
    "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"], dir);
}

describe("TLS to MariaDB", { skip: !env.mariadbDir && "needs scripts/mariadb.sh (scripts/test.sh)" }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-tls-"));
  const dbDir = path.join(dir, "db");
  let port;
  const url = (host, query) => `mysql://lbmirror:${PASSWORD}@${host}:${port}/lbmirror?${query}`;
  const ca = path.join(dir, "ca.pem");

  before(async () => {
    makeCertificates(dir);
    fs.mkdirSync(dbDir);
    fs.writeFileSync(path.join(dbDir, "server-args"), [`--ssl-ca=${ca}`, `--ssl-cert=${path.join(dir, "server.pem")}`,
      `--ssl-key=${path.join(dir, "server-key.pem")}`, "--require-secure-transport=ON",
      "--bind-address=127.0.0.1,127.0.0.2"].join(" ") + "\n");
    port = await freePort();
    execFileSync(path.join(env.scripts, "mariadb.sh"), ["start", dbDir, String(port)], { stdio: "pipe" });
    execFileSync("mariadb", ["--no-defaults", `--socket=${path.join(dbDir, "mysqld.sock")}`, "-uroot", "-e",
      `CREATE USER IF NOT EXISTS 'lbmirror'@'127.0.0.2' IDENTIFIED BY '${PASSWORD}';` +
      " GRANT ALL ON *.* TO 'lbmirror'@'127.0.0.2';"]);
  });
  after(() => {
    execFileSync(path.join(env.scripts, "mariadb.sh"), ["stop", dbDir], { stdio: "pipe" });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("verify_identity with the CA file: migrate, receive a webhook and mirror it over TLS", async () => {
    const databaseUrl = url("127.0.0.1", `sslmode=verify_identity&sslca=${encodeURIComponent(ca)}`);
    const migrated = lbmirror(["migrate", "--database-url", databaseUrl]);
    assert.equal(migrated.code, 0, migrated.output);
    assert.ok(!migrated.output.includes(PASSWORD), "the password is never printed");
    const mirror = await startMirror({ databaseUrl, extraArgs: ["--no-migrate"] });
    try {
      const roomId = uniqueId("tls");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { over: "tls" });
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      // The test reads through the server's socket as root.
      const sql = (query) => execFileSync("mariadb", ["--no-defaults", `--socket=${path.join(dbDir, "mysqld.sock")}`,
        "-uroot", "-N", "-B", "lbmirror", "-e", query], { encoding: "utf8" }).trim();
      await waitFor("the document", async () =>
        sql(`SELECT data FROM liveblocks_documents WHERE room_id = '${roomId}'`) === '{"over":"tls"}');
      // Every session of lbmirror's user is encrypted (the server also refuses any other).
      const sessions = sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'lbmirror'");
      assert.ok(Number(sessions) > 0);
      const ready = await fetch(`http://127.0.0.1:${mirror.port}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      assert.equal((await mirror.stop()).code, 0);
    }
  });

  test("verify_ca accepts a certificate without the host's name; verify_identity refuses it", () => {
    const ok = lbmirror(["migrate", "--database-url", url("127.0.0.2", `sslmode=verify_ca&sslca=${encodeURIComponent(ca)}`)]);
    assert.equal(ok.code, 0, ok.output);
    const refused = lbmirror(["migrate", "--database-url", url("127.0.0.2", `sslmode=verify_identity&sslca=${encodeURIComponent(ca)}`)]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /TLS\/SSL error: Validation of SSL server certificate failed/);
    assert.ok(!refused.output.includes(PASSWORD));
  });

  test("clear refusals: unknown CA, unreadable CA file, plaintext", () => {
    const unknownCa = lbmirror(["migrate", "--database-url", url("127.0.0.1", "sslmode=verify_identity")]);
    assert.notEqual(unknownCa.code, 0);
    assert.match(unknownCa.output, /TLS\/SSL error: self-signed certificate in certificate chain/);
    const missing = lbmirror(["migrate", "--database-url", url("127.0.0.1", "sslmode=verify_identity&sslca=/no/such/ca.pem")]);
    assert.equal(missing.code, 2);
    assert.match(missing.output, /cannot read the CA file sslca=\/no\/such\/ca\.pem/);
    const plaintext = lbmirror(["migrate", "--database-url", url("127.0.0.1", "sslmode=disabled")]);
    assert.notEqual(plaintext.code, 0, "the server accepts encrypted sessions only");
    for (const run of [unknownCa, missing, plaintext]) assert.ok(!run.output.includes(PASSWORD));
  });
});

describe("TLS to Postgres", { skip: !env.postgresDir && "needs scripts/postgres.sh (scripts/test.sh)" }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-pgtls-"));
  const dbDir = path.join(dir, "db");
  let port;
  const url = (host, query) => `postgres://lbmirror:${PASSWORD}@${host}:${port}/lbmirror?${query}`;
  const ca = path.join(dir, "ca.pem");
  const asRoot = process.getuid() === 0;
  // As the server's superuser, through its socket (which pg_hba.conf leaves to it).
  const psql = (query) => execFileSync("psql", ["-X", "-q", "-tA", "-h", dbDir, "-p", String(port), "-U", "postgres",
    "-d", "lbmirror", "-c", query], { encoding: "utf8" }).trim();

  before(async () => {
    makeCertificates(dir);
    fs.chmodSync(dir, 0o755);  // the server runs as the postgres user
    fs.mkdirSync(dbDir);
    // The server reads its key only if nobody else may.
    const key = path.join(dbDir, "server-key.pem");
    fs.copyFileSync(path.join(dir, "server-key.pem"), key);
    fs.chmodSync(key, 0o600);
    if (asRoot) execFileSync("chown", ["postgres", key]);
    fs.writeFileSync(path.join(dbDir, "server-args"), ["-c ssl=on", `-c ssl_cert_file=${path.join(dir, "server.pem")}`,
      `-c ssl_key_file=${key}`, "-c listen_addresses=127.0.0.1,127.0.0.2"].join(" ") + "\n");
    port = await freePort();
    execFileSync(path.join(env.scripts, "postgres.sh"), ["start", dbDir, String(port)], { stdio: "pipe" });
    // Encrypted sessions with a password only, from both addresses; the socket for the test.
    fs.writeFileSync(path.join(dbDir, "data", "pg_hba.conf"), ["local all postgres trust",
      "hostssl all all 127.0.0.1/32 scram-sha-256", "hostssl all all 127.0.0.2/32 scram-sha-256", ""].join("\n"));
    psql("SELECT pg_reload_conf()");
  });
  after(() => {
    execFileSync(path.join(env.scripts, "postgres.sh"), ["stop", dbDir], { stdio: "pipe" });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("verify-full with sslrootcert: migrate, receive a webhook and mirror it over TLS", async () => {
    const databaseUrl = url("127.0.0.1", `sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`);
    const migrated = lbmirror(["migrate", "--database-url", databaseUrl]);
    assert.equal(migrated.code, 0, migrated.output);
    assert.ok(!migrated.output.includes(PASSWORD), "the password is never printed");
    const mirror = await startMirror({ databaseUrl, extraArgs: ["--no-migrate"] });
    try {
      const roomId = uniqueId("pgtls");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { over: "tls" });
      assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      await waitFor("the document", async () =>
        psql(`SELECT data->>'over' FROM liveblocks_documents WHERE room_id = '${roomId}'`) === "tls");
      // Every session of lbmirror's user is encrypted (the server also refuses any other).
      const sessions = psql("SELECT count(*) || ' ' || bool_and(s.ssl) FROM pg_stat_activity a" +
        " JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'lbmirror'");
      assert.match(sessions, /^[1-9]\d* true$/);
      assert.equal((await fetch(`http://127.0.0.1:${mirror.port}/readyz`)).status, 200);
      assert.ok(!mirror.log().includes(PASSWORD));
    } finally {
      assert.equal((await mirror.stop()).code, 0);
    }
  });

  test("verify-ca accepts a certificate without the host's name; verify-full refuses it", () => {
    const ok = lbmirror(["migrate", "--database-url", url("127.0.0.2", `sslmode=verify-ca&sslrootcert=${encodeURIComponent(ca)}`)]);
    assert.equal(ok.code, 0, ok.output);
    const refused = lbmirror(["migrate", "--database-url", url("127.0.0.2", `sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`)]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /does not match host name "127\.0\.0\.2"/);
    assert.ok(!refused.output.includes(PASSWORD));
  });

  test("a Supabase URL as copied is encrypted, unverified, with a warning; with its CA, verify-full", () => {
    // hostaddr sends the session to this server; libpq checks the certificate against the host.
    const supabase = (query) => `postgres://lbmirror:${PASSWORD}@db.abcdefgh.supabase.co:${port}/lbmirror?hostaddr=127.0.0.1${query}`;
    const copied = lbmirror(["migrate", "--database-url", supabase("")]);
    assert.equal(copied.code, 0, copied.output);
    assert.match(copied.output, /sslmode=require/);
    assert.match(copied.output, /warning TLS to db\.abcdefgh\.supabase\.co is encrypted but its certificate is not verified/);
    const withCa = lbmirror(["migrate", "--database-url", supabase(`&sslrootcert=${encodeURIComponent(ca)}`)]);
    assert.notEqual(withCa.code, 0, "the test certificate does not name the Supabase host");
    assert.match(withCa.output, /does not match host name "db\.abcdefgh\.supabase\.co"/);
    assert.doesNotMatch(withCa.output, /warning TLS/);
    for (const run of [copied, withCa]) assert.ok(!run.output.includes(PASSWORD), run.output);
  });

  test("clear refusals: unknown CA, unreadable CA file, plaintext, a wrong password", () => {
    // Without sslrootcert, verify-full checks the system's CAs, which do not know the test CA.
    const unknownCa = lbmirror(["migrate", "--database-url", url("127.0.0.1", "sslmode=verify-full")]);
    assert.notEqual(unknownCa.code, 0);
    assert.match(unknownCa.output, /certificate verify failed/);
    const missing = lbmirror(["migrate", "--database-url", url("127.0.0.1", "sslmode=verify-full&sslrootcert=/no/such/ca.pem")]);
    assert.equal(missing.code, 2);
    assert.match(missing.output, /cannot read the CA file sslrootcert=\/no\/such\/ca\.pem/);
    const plaintext = lbmirror(["migrate", "--database-url", url("127.0.0.1", "sslmode=disable")]);
    assert.notEqual(plaintext.code, 0, "the server accepts encrypted sessions only");
    assert.match(plaintext.output, /no encryption/);
    const wrong = lbmirror(["migrate", "--database-url",
      `postgres://lbmirror:not-the-password@127.0.0.1:${port}/lbmirror?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.output, /password authentication failed/);
    for (const run of [unknownCa, missing, plaintext, wrong]) {
      assert.ok(!run.output.includes(PASSWORD) && !run.output.includes("not-the-password"), run.output);
    }
  });
});
