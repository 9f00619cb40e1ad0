// TLS to MySQL/MariaDB as PlanetScale needs it: a private MariaDB server that only accepts
// encrypted connections, with a certificate from a test CA for 127.0.0.1. lbmirror must verify
// the chain against sslca, check the host name with verify_identity (127.0.0.2 is not in the
// certificate), and say clearly why a connection is refused.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { env, freePort, startMirror, sendEvent, storageUpdated, liveblocks, uniqueId, waitFor } from "./harness.mjs";

const PASSWORD = "lbmirror-test-pw";

function openssl(args, cwd) {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

function lbmirror(args) {
  const run = spawnSync(env.bin, args, { encoding: "utf8", env: { PATH: process.env.PATH } });
  return { code: run.status, output: run.stdout + run.stderr };
}

describe("TLS to the database", { skip: !env.mariadbDir && "needs scripts/mariadb.sh (scripts/test.sh)" }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-tls-"));
  const dbDir = path.join(dir, "db");
  let port;
  const url = (host, query) => `mysql://lbmirror:${PASSWORD}@${host}:${port}/lbmirror?${query}`;
  const ca = path.join(dir, "ca.pem");

  before(async () => {
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
      "-days", "2", "-subj", "/CN=lbmirror test CA"], dir);
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr",
      "-subj", "/CN=lbmirror test database"], dir);
    fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
      "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"], dir);
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
