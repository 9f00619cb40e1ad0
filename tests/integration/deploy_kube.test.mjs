// The Kubernetes manifests under `podman kube play`: deploy/kubernetes/deployment.yaml, with
// the test image, a podman secret in place of the Secret "lbmirror" and a table prefix of its
// own, brings up its three replicas; after the migrate Job's command (kube play of podman 4.3
// runs no Job, so its container runs with podman run), every replica becomes ready and
// mirrors a signed webhook into the test Postgres server. The pods are on podman's bridge
// network: the test forwards a port of the bridge's gateway to the loopback Postgres and dev
// server, and reaches each replica at its pod's address. kube play runs no probes and
// enforces no resources: the test asks each replica's /readyz and /healthz itself, and the
// manifests' schema is checked in deploy_files.test.mjs.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import {
  env, SECRET, waitFor, uniqueId, liveblocks, signedRequest, post, storageUpdated, PostgresMirrorDb, parseJsonColumn,
} from "./lib/harness.mjs";
import { podman, podmanSecret, sourceRoot } from "./lib/podman.mjs";

const image = process.env.LBMIRROR_TEST_IMAGE;
const base = process.env.LBMIRROR_TEST_DEBIAN_IMAGE ?? "localhost/lbmirror-base/debian:bookworm-slim";

// Accepts connections on host:0 and pipes each to target (a loopback service).
async function forward(host, target) {
  const server = net.createServer((socket) => {
    const upstream = net.connect(target.port, target.host);
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  await new Promise((resolve, reject) => server.listen(0, host, resolve).on("error", reject));
  after(() => server.close());
  return server.address().port;
}

test("podman kube play of the Deployment: three replicas become ready and mirror webhooks into Postgres", async () => {
  assert.ok(image, "LBMIRROR_TEST_IMAGE is not set: build the image with scripts/image.sh and name it there");
  assert.ok(env.postgresUrl, "the test Postgres server is needed (scripts/test.sh starts it)");
  // The default bridge exists once a container used it; its gateway is this host's address there.
  podman(["run", "--rm", base, "true"]);
  const network = JSON.parse(podman(["network", "inspect", "podman"]).stdout)[0];
  const gateway = network.subnets[0].gateway;
  const pg = new URL(env.postgresUrl);
  const lb = new URL(env.baseUrl);
  const pgPort = await forward(gateway, { host: pg.hostname, port: Number(pg.port) });
  const lbPort = await forward(gateway, { host: lb.hostname, port: Number(lb.port) });
  const inPod = new URL(env.postgresUrl);
  inPod.hostname = gateway;
  inPod.port = String(pgPort);
  inPod.search = "?sslmode=disable";
  const prefix = `kube${process.pid}_`;
  const name = `lbmirror-kube-${process.pid}`;
  const b64 = (text) => Buffer.from(text).toString("base64");
  // podman 4.3 resolves secretRef to a podman secret holding the Secret's data as JSON.
  const secret = podmanSecret(name, JSON.stringify({
    DATABASE_URL: b64(inPod.href), LIVEBLOCKS_SECRET_KEY: b64("sk_localdev"), LIVEBLOCKS_WEBHOOK_SECRET: b64(SECRET),
  }));

  // The migrate Job's container, as the Job would run it, before the rollout.
  const job = parseYaml(fs.readFileSync(path.join(sourceRoot, "deploy/kubernetes/migrate-job.yaml"), "utf8"));
  const migrateContainer = job.spec.template.spec.containers[0];
  const dbSecret = podmanSecret(`${name}-db`, env.postgresUrl + "?sslmode=disable");
  const migrate = podman(["run", "--rm", "--network=host", "--read-only", "--user", String(job.spec.template.spec.securityContext.runAsUser),
    "--secret", `${dbSecret},type=env,target=DATABASE_URL`, "-e", `LBMIRROR_TABLE_PREFIX=${prefix}`,
    image, ...migrateContainer.args], { check: false });
  assert.equal(migrate.status, 0, migrate.stderr);

  const deployment = parseYaml(fs.readFileSync(path.join(sourceRoot, "deploy/kubernetes/deployment.yaml"), "utf8"));
  deployment.metadata.name = name;
  const container = deployment.spec.template.spec.containers[0];
  container.image = image;
  container.envFrom[0].secretRef.name = secret;
  // podman 4.3 publishes each containerPort on the host (Kubernetes does not), so three replicas
  // would take one host port three times: the ports go, and the probes name theirs by number.
  const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  delete container.ports;
  for (const probe of [container.livenessProbe, container.readinessProbe]) probe.httpGet.port = ports[probe.httpGet.port];
  container.env.push({ name: "LBMIRROR_TABLE_PREFIX", value: prefix },
    { name: "LIVEBLOCKS_BASE_URL", value: `http://${gateway}:${lbPort}` },
    { name: "LBMIRROR_RECONCILE_INTERVAL", value: "0" });
  const file = path.join(os.tmpdir(), `${name}.yaml`);
  fs.writeFileSync(file, stringifyYaml(deployment));
  after(() => { podman(["kube", "down", file], { check: false }); fs.rmSync(file, { force: true }); });
  const play = podman(["kube", "play", "--network", "podman", file], { check: false });
  assert.equal(play.status, 0, play.stdout + play.stderr);

  const pods = JSON.parse(podman(["pod", "ps", "--format", "json", "--filter", `name=${name}`]).stdout);
  assert.equal(pods.length, 3, `${pods.length} pods for replicas: 3`);
  const addresses = pods.map((pod) => {
    const parsed = JSON.parse(podman(["pod", "inspect", pod.Name]).stdout);  // an object, or a list in newer podman
    const infra = (Array.isArray(parsed) ? parsed[0] : parsed).InfraContainerID;
    return Object.values(JSON.parse(podman(["inspect", infra]).stdout)[0].NetworkSettings.Networks)[0].IPAddress;
  });
  for (const address of addresses) {
    await waitFor(`the replica at ${address} to be ready`, async () =>
      (await fetch(`http://${address}:8080/readyz`)).status === 200 && (await fetch(`http://${address}:8080/healthz`)).status === 200, 30000);
  }
  // Each replica runs as 65532 with a read-only root, every capability dropped.
  const containers = JSON.parse(podman(["ps", "--format", "json", "--filter", `pod=${pods[0].Id}`]).stdout).filter((c) => !c.IsInfra);
  const [inspect] = JSON.parse(podman(["inspect", containers[0].Id]).stdout);
  assert.equal(inspect.Config.User, "65532:65532");
  assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
  assert.deepEqual(inspect.EffectiveCaps ?? [], []);

  // A webhook to each replica: all of them mirror the room's Storage.
  const db = new PostgresMirrorDb(env.postgresUrl);
  for (const [i, address] of addresses.entries()) {
    const roomId = uniqueId(`kube${i}`);
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { replica: i });
    const res = await post(`http://${address}:8080/api/liveblocks-webhook`, signedRequest(storageUpdated(roomId)));
    assert.equal(res.status, 200, res.body);
    await waitFor(`room ${roomId}'s document`, async () => {
      const rows = await db.query(`SELECT data FROM ${prefix}documents WHERE room_id = ?`, [roomId]);
      return rows.length === 1 && parseJsonColumn(rows[0].data).replica === i;
    }, 20000);
  }
});
