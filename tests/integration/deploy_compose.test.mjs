// deploy/compose.yaml as a user runs it, with Debian's docker-compose against podman's API
// (podman system service): the postgres profile brings up Postgres, the one-shot migrate, and
// lbmirror once migrate completed; a signed webhook sent to the published port is mirrored.
// Where no registry is reachable the images are local: lbmirror's (LBMIRROR_TEST_IMAGE) and a
// stand-in for the postgres image built from Debian's PostgreSQL 15 (compose/). podman runs
// scheduled healthchecks through systemd timers, which this host lacks, so the test runs each
// container's healthcheck every second while compose waits, as the timer would. A test
// override only pins the network's subnet: the dev server on this host's loopback is reached
// through a port forwarded from the network's gateway.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { env, SECRET, freePort, waitFor, uniqueId, liveblocks, signedRequest, post, storageUpdated, sleep } from "./lib/harness.mjs";
import { podman, sourceRoot } from "./lib/podman.mjs";

const image = process.env.LBMIRROR_TEST_IMAGE;
const base = process.env.LBMIRROR_TEST_DEBIAN_IMAGE ?? "localhost/lbmirror-base/debian:bookworm-slim";
const postgresImage = "localhost/lbmirror-test/postgres:15";
const subnet = "10.89.231";  // pinned by the override below

test("docker-compose up (postgres profile): Postgres, migrate, then lbmirror mirrors a signed webhook", async () => {
  assert.ok(image, "LBMIRROR_TEST_IMAGE is not set: build the image with scripts/image.sh and name it there");
  const build = podman(["build", "--pull=never", "--network=host", "--format", "docker", "--build-arg", `BASE=${base}`,
    "-f", "Containerfile.postgres", "-t", postgresImage, path.join(sourceRoot, "tests/integration/compose")], { check: false });
  assert.equal(build.status, 0, build.stderr);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-compose-"));
  const socket = path.join(work, "podman.sock");
  const service = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], { stdio: "ignore" });
  const project = `lbmirrortest${process.pid}`;
  const port = await freePort();
  const forwarded = await freePort();
  fs.writeFileSync(path.join(work, ".env"), [
    "COMPOSE_PROFILES=postgres",
    `LBMIRROR_IMAGE=${image}`,
    `POSTGRES_IMAGE=${postgresImage}`,
    "LIVEBLOCKS_SECRET_KEY=sk_localdev",
    `LIVEBLOCKS_WEBHOOK_SECRET=${SECRET}`,
    `LIVEBLOCKS_BASE_URL=http://${subnet}.1:${forwarded}`,
    "DATABASE_PASSWORD=compose-test-pw",
    `LBMIRROR_PORT=${port}`,
    // The dev server holds every suite's rooms: reconciliation at start looks at this test's only.
    "LBMIRROR_ROOM_PREFIX=compose-",
  ].join("\n") + "\n");
  fs.writeFileSync(path.join(work, "override.yaml"),
    `version: "3.8"\nnetworks:\n  default:\n    ipam:\n      config:\n        - subnet: ${subnet}.0/24\n`);
  // Only what compose needs: the suite's own variables (LIVEBLOCKS_BASE_URL, say) would win over
  // the .env file's.
  const composeEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? "/root", CONTAINERS_CONF: process.env.CONTAINERS_CONF,
    DOCKER_HOST: `unix://${socket}`, COMPOSE_PROJECT_NAME: project };
  const compose = (args) => spawnSync("docker-compose", ["--project-directory", path.join(sourceRoot, "deploy"),
    "--env-file", path.join(work, ".env"), "-f", path.join(sourceRoot, "deploy/compose.yaml"), "-f", path.join(work, "override.yaml"), ...args],
  { encoding: "utf8", env: composeEnv });
  after(async () => {
    compose(["down", "--volumes", "--timeout", "30"]);
    service.kill();
    fs.rmSync(work, { recursive: true, force: true });
  });
  await waitFor("podman's API socket", async () => fs.existsSync(socket), 10000);

  // The healthchecks podman would run on a timer, and the forwarder once the network is up.
  let done = false;
  let forwarder;
  const helper = (async () => {
    while (!done) {
      const ids = podman(["ps", "-q", "--filter", `label=com.docker.compose.project=${project}`], { check: false }).stdout.split("\n").filter(Boolean);
      for (const id of ids) podman(["healthcheck", "run", id], { check: false });
      if (!forwarder) {
        const server = net.createServer((s) => {
          const upstream = net.connect(Number(new URL(env.baseUrl).port), "127.0.0.1");
          s.pipe(upstream).pipe(s);
          s.on("error", () => upstream.destroy());
          upstream.on("error", () => s.destroy());
        });
        server.on("error", () => {});  // the gateway's address is not there yet
        server.listen(forwarded, `${subnet}.1`, () => { forwarder = server; });
      }
      await sleep(1000);
    }
  })();
  after(() => { done = true; forwarder?.close(); });

  const up = await new Promise((resolve) => {
    const child = spawn("docker-compose", ["--project-directory", path.join(sourceRoot, "deploy"), "--env-file", path.join(work, ".env"),
      "-f", path.join(sourceRoot, "deploy/compose.yaml"), "-f", path.join(work, "override.yaml"), "up", "-d", "--no-build"],
    { env: composeEnv });
    let output = "";
    child.stdout.on("data", (d) => { output += d; });
    child.stderr.on("data", (d) => { output += d; });
    child.on("exit", (code) => resolve({ code, output }));
  });
  const logs = (service) => { const out = compose(["logs", "--no-color", service]); return out.stdout + out.stderr; };
  assert.equal(up.code, 0, `${up.output}\nmigrate: ${logs("migrate")}\nlbmirror: ${logs("lbmirror")}`);
  const migrate = compose(["ps", "-a", "migrate"]).stdout;
  assert.match(migrate, /Exit 0/, migrate);

  const url = `http://127.0.0.1:${port}`;
  await waitFor("lbmirror's /readyz through the published port", async () => (await fetch(`${url}/readyz`)).status === 200, 60000);
  await waitFor("the forwarder to the dev server", async () => forwarder !== undefined, 20000);
  const roomId = uniqueId("compose");
  await liveblocks.createRoom(roomId);
  await liveblocks.setStorage(roomId, { via: "compose" });
  const res = await post(`${url}/api/liveblocks-webhook`, signedRequest(storageUpdated(roomId)));
  assert.equal(res.status, 200, res.body);
  let last;
  await waitFor("the document row in the compose Postgres", async () => {
    last = compose(["exec", "-T", "postgres", "psql", "-U", "lbmirror", "-d", "lbmirror", "-At", "-c",
      `SELECT data->>'via' FROM liveblocks_documents WHERE room_id = '${roomId}'`]);
    return last.stdout.trim() === "compose";
  }, 30000, 500).catch((error) => {
    throw new Error(`${error.message}\npsql: ${last?.stdout}${last?.stderr}\nlbmirror: ${logs("lbmirror")}`);
  });
  done = true;
  await helper;
});
