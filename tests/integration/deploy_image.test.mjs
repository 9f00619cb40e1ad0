// The container image as deployed (LBMIRROR_TEST_IMAGE, built by scripts/image.sh): `migrate`
// as a one-shot container, then `serve` with a read-only root as its non-root user, secrets
// given as podman secrets; on the host network, against the test Postgres and MariaDB servers
// and the Liveblocks dev server. Signed webhooks become rows, /readyz and the image's
// HEALTHCHECK pass, `podman stop` (SIGTERM through tini) ends it with exit 0 within the grace
// period and every acknowledged webhook stored, and no secret shows in podman's history,
// inspect or logs.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  env, SECRET, freePort, waitFor, uniqueId, liveblocks, signedRequest, post, storageUpdated,
  MysqlMirrorDb, PostgresMirrorDb, parseJsonColumn,
} from "./lib/harness.mjs";
import { podman, podmanSecret, projectVersion } from "./lib/podman.mjs";

const image = process.env.LBMIRROR_TEST_IMAGE;
const LIVEBLOCKS_KEY = "sk_localdev";

describe("container image", () => {
  before(() => {
    assert.ok(image, "LBMIRROR_TEST_IMAGE is not set: build the image with scripts/image.sh and name it there");
    podman(["image", "exists", image]);
  });

  test("the image: non-root user, labels, healthcheck, ports, volume, and no secret in its layers", () => {
    const [inspect] = JSON.parse(podman(["image", "inspect", image]).stdout);
    const config = inspect.Config;
    assert.equal(config.User, "65532:65532");
    assert.deepEqual(config.Entrypoint, ["/usr/bin/tini", "--", "/usr/bin/lbmirror"]);
    assert.deepEqual(config.Cmd, ["serve"]);
    assert.ok(config.ExposedPorts["8080/tcp"] && config.ExposedPorts["9090/tcp"]);
    assert.ok(config.Volumes["/var/lib/lbmirror"]);
    assert.equal(config.WorkingDir, "/var/lib/lbmirror");  // where the SQLite default lbmirror.db goes
    const healthcheck = inspect.Healthcheck ?? config.Healthcheck;
    assert.deepEqual(healthcheck.Test, ["CMD", "/usr/bin/lbmirror", "healthcheck"]);
    const version = projectVersion();
    const labels = inspect.Labels;
    assert.equal(labels["org.opencontainers.image.version"], version);
    assert.match(labels["org.opencontainers.image.revision"], /^[0-9a-f]{40}$/);
    assert.ok(labels["org.opencontainers.image.source"]);
    assert.ok(labels["org.opencontainers.image.licenses"]);
    const versionLine = podman(["run", "--rm", image, "--version"]).stdout;
    assert.equal(versionLine.trim(), `lbmirror ${version} (commit ${labels["org.opencontainers.image.revision"].slice(0, 12)})`);
    // Nothing secret in any layer's command or the image's configuration.
    const history = podman(["history", "--no-trunc", "--format", "{{.CreatedBy}}", image]).stdout;
    for (const text of [history, JSON.stringify(inspect)]) {
      assert.doesNotMatch(text, /whsec_|sk_(live|prod|dev|test|localdev)|LIVEBLOCKS_SECRET_KEY=|LIVEBLOCKS_WEBHOOK_SECRET=|ADMIN_TOKEN=|:\/\/[^:/\s]+:[^@\s]+@/);
    }
  });

  const servers = [];
  if (env.postgresUrl) servers.push({ name: "Postgres", url: env.postgresUrl + "?sslmode=disable", db: new PostgresMirrorDb(env.postgresUrl) });
  if (env.mysqlUrl) servers.push({ name: "MariaDB", url: env.mysqlUrl, db: new MysqlMirrorDb(env.mysqlUrl) });
  assert.ok(servers.length === 2, "the test Postgres and MariaDB servers are needed (scripts/test.sh starts them)");

  for (const server of servers) {
    test(`${server.name}: migrate as a one-shot container, then serve read-only and non-root mirrors signed webhooks and stops cleanly`, async () => {
      const prefix = `img${process.pid}${server.name.slice(0, 2).toLowerCase()}_`;
      const name = `lbmirror-test-${process.pid}-${server.name.toLowerCase()}`;
      const databaseSecret = podmanSecret(`${name}-db`, server.url);
      const keySecret = podmanSecret(`${name}-key`, LIVEBLOCKS_KEY);
      const webhookSecret = podmanSecret(`${name}-whsec`, SECRET);
      // Secrets as files named by NAME_FILE: podman shows an environment variable's value in
      // inspect, a mounted secret's never. On a read-only root a secret file is mounted where a
      // tmpfs is (/tmp), since podman cannot make its mount point in /run/secrets.
      const file = (secret) => `/tmp/secrets/${secret}`;
      const common = ["--network=host", "--read-only",
        "--secret", `${databaseSecret},target=${file(databaseSecret)}`, "-e", `DATABASE_URL_FILE=${file(databaseSecret)}`,
        "-e", `LBMIRROR_TABLE_PREFIX=${prefix}`];

      const migrate = podman(["run", "--rm", ...common, image, "migrate"], { check: false });
      assert.equal(migrate.status, 0, migrate.stderr);
      assert.ok((await server.db.query(`SELECT COUNT(*) AS n FROM ${prefix}documents`)).length === 1, "migrate created the tables");

      const port = await freePort();
      podman(["rm", "-f", "-v", name], { check: false });
      after(() => podman(["rm", "-f", "-v", name], { check: false }));
      podman(["run", "-d", "--name", name, ...common,
        "--secret", `${keySecret},target=${file(keySecret)}`, "-e", `LIVEBLOCKS_SECRET_KEY_FILE=${file(keySecret)}`,
        "--secret", `${webhookSecret},target=${file(webhookSecret)}`, "-e", `LIVEBLOCKS_WEBHOOK_SECRET_FILE=${file(webhookSecret)}`,
        "-e", `LIVEBLOCKS_BASE_URL=${env.baseUrl}`, "-e", `LBMIRROR_LISTEN=127.0.0.1:${port}`,
        "-e", "LBMIRROR_NO_MIGRATE=true", "-e", "LBMIRROR_RECONCILE_INTERVAL=0", "-e", "LBMIRROR_LOG_LEVEL=debug",
        image]);
      const base = `http://127.0.0.1:${port}`;
      await waitFor("/readyz to answer 200", async () => (await fetch(`${base}/readyz`)).status === 200, 20000);
      assert.equal(podman(["healthcheck", "run", name], { check: false }).status, 0, "podman healthcheck run");

      // Who runs: tini as PID 1, lbmirror under it, neither as root; the root is read-only.
      const pid = podman(["inspect", "--format", "{{.State.Pid}}", name]).stdout.trim();
      const uid = (p) => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))[1]);
      assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"), /tini/);
      const child = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
      assert.match(fs.readFileSync(`/proc/${child}/cmdline`, "utf8"), /lbmirror\0serve/);
      assert.equal(uid(pid), 65532);
      assert.equal(uid(child), 65532);
      assert.notEqual(podman(["exec", name, "touch", "/usr/bin/written"], { check: false }).status, 0, "the root is writable");
      assert.equal(podman(["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name]).stdout.trim(), "true");

      // A signed webhook becomes the room's document row.
      const roomId = uniqueId("image");
      await liveblocks.createRoom(roomId);
      await liveblocks.setStorage(roomId, { shipped: "in a container" });
      const url = `${base}/api/liveblocks-webhook`;
      assert.equal((await post(url, signedRequest(storageUpdated(roomId)))).status, 200);
      await waitFor("the document row", async () => {
        const rows = await server.db.query(`SELECT data FROM ${prefix}documents WHERE room_id = ?`, [roomId]);
        return rows.length === 1 && parseJsonColumn(rows[0].data).shipped === "in a container";
      }, 20000);

      // Webhooks in flight while it stops: each one answered 200 is stored.
      const ids = Array.from({ length: 40 }, (_, i) => `msg_${name}_${i}`);
      const acknowledged = [];
      const sending = (async () => {
        for (const id of ids) {
          try {
            const res = await post(url, signedRequest(storageUpdated(roomId), { id }));
            if (res.status === 200) acknowledged.push(id);
          } catch {
            // refused once it stopped listening: not acknowledged
          }
        }
      })();
      while (acknowledged.length < 5) await new Promise((r) => setTimeout(r, 5));
      const started = Date.now();
      const stop = podman(["stop", "--time", "30", name], { check: false });
      const seconds = (Date.now() - started) / 1000;
      await sending;
      assert.equal(stop.status, 0, stop.stderr);
      const state = JSON.parse(podman(["inspect", "--format", "{{json .State}}", name]).stdout);
      assert.equal(state.ExitCode, 0, `exit code ${state.ExitCode}`);
      assert.ok(seconds < 30, `stopping took ${seconds} s, past the grace period`);
      console.log(`# ${server.name}: stopped in ${seconds.toFixed(1)} s; ${acknowledged.length} of ${ids.length} webhooks acknowledged while stopping`);
      const stored = new Set((await server.db.query(`SELECT webhook_id FROM ${prefix}events WHERE room_id = ?`, [roomId])).map((r) => r.webhook_id));
      for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged webhook ${id} is not stored`);
      const logs = podman(["logs", name]);
      assert.match(logs.stdout + logs.stderr, /stopping workers/);

      // The secrets are in no inspect output nor the logs.
      const inspect = podman(["inspect", name]).stdout;
      const password = new URL(server.url).password;
      for (const [what, text] of [["inspect", inspect], ["logs", logs.stdout + logs.stderr]]) {
        for (const secret of [SECRET, LIVEBLOCKS_KEY, password]) assert.ok(!text.includes(secret), `a secret appears in podman ${what}`);
      }
    });
  }

  test("SQLite by default: serve on a read-only root keeps its database on the volume", async () => {
    const name = `lbmirror-test-${process.pid}-sqlite`;
    const volume = `${name}-data`;
    const port = await freePort();
    podman(["rm", "-f", "-v", name], { check: false });
    after(() => { podman(["rm", "-f", "-v", name], { check: false }); podman(["volume", "rm", "-f", volume], { check: false }); });
    podman(["run", "-d", "--name", name, "--network=host", "--read-only", "-v", `${volume}:/var/lib/lbmirror`,
      "-e", `LBMIRROR_LISTEN=127.0.0.1:${port}`, "-e", `LIVEBLOCKS_BASE_URL=${env.baseUrl}`,
      "-e", `LIVEBLOCKS_SECRET_KEY=${LIVEBLOCKS_KEY}`, "-e", "LBMIRROR_RECONCILE_INTERVAL=0", image]);
    await waitFor("/readyz to answer 200", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 20000);
    const status = podman(["exec", name, "lbmirror", "status"], { check: false });
    assert.equal(status.status, 0, status.stderr);
    const files = podman(["exec", name, "ls", "/var/lib/lbmirror"]).stdout;
    assert.match(files, /^lbmirror\.db$/m);
    podman(["stop", "--time", "30", name]);
    assert.equal(podman(["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.trim(), "0");
  });
});
