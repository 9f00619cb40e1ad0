// The deployment files as their tools read them: Prometheus's alert rules (promtool check and
// test), the Grafana dashboard's queries against what /metrics of a real serve exposes, the
// systemd unit (systemd-analyze verify and security), the Kubernetes manifests (rendered by
// kustomize, each object validated against the Kubernetes API schema) and the Compose file
// (docker-compose config), and the Debian package's control data.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { env, startMirror, sendEvent, storageUpdated, uniqueId, liveblocks, waitFor } from "./lib/harness.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const deploy = path.join(root, "deploy");
const run = (command, args, options = {}) => spawnSync(command, args, { encoding: "utf8", ...options });

describe("Prometheus alert rules", () => {
  test("promtool check rules and promtool test rules pass", () => {
    const check = run("promtool", ["check", "rules", "alerts.yaml"], { cwd: path.join(deploy, "prometheus") });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 7 rules found/);
    const tested = run("promtool", ["test", "rules", "alerts.test.yaml"], { cwd: path.join(deploy, "prometheus") });
    assert.equal(tested.status, 0, tested.stdout + tested.stderr);
    assert.match(tested.stdout, /SUCCESS/);
  });

  test("every alert the issue names exists: lag, failed targets, webhook 5xx, database unavailable, no webhook", () => {
    const rules = parseYaml(fs.readFileSync(path.join(deploy, "prometheus/alerts.yaml"), "utf8")).groups.flatMap((g) => g.rules);
    const names = rules.map((r) => r.alert);
    for (const name of ["LbmirrorLagging", "LbmirrorFailedTargets", "LbmirrorWebhook5xx", "LbmirrorDatabaseUnavailable", "LbmirrorNoWebhooks"]) {
      assert.ok(names.includes(name), `${name} missing`);
    }
    // Each alert's own test is in alerts.test.yaml.
    const tests = fs.readFileSync(path.join(deploy, "prometheus/alerts.test.yaml"), "utf8");
    for (const name of names) assert.match(tests, new RegExp(`alertname: ${name}\\b`), `${name} has no rule test`);
  });
});

// The metric names a /metrics page declares (# TYPE lines), with a histogram's series.
function exposedNames(page) {
  const names = new Set();
  for (const [, name, type] of page.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
  }
  return names;
}
// The metric names a PromQL expression reads (identifiers followed by { or [ or standing alone).
function queriedNames(expr) {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\$\w+/g, "");
  const functions = new Set(["sum", "rate", "increase", "max", "min", "count", "by", "without", "histogram_quantile",
    "time", "on", "and", "or", "unless", "le", "instance", "type", "outcome", "version", "commit", "avg"]);
  return [...withoutStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1])
    .filter((name) => !functions.has(name) && !/^\d/.test(name) && !name.startsWith("$") && name.includes("_"));
}

describe("Grafana dashboard", () => {
  let mirror;
  after(async () => { await mirror?.stop(); });

  test("every query names only metrics that /metrics of a running serve exposes", async () => {
    const file = path.join(os.tmpdir(), `lbmirror-dashboard-${process.pid}.db`);
    after(() => ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true })));
    mirror = await startMirror({ databaseUrl: `sqlite:${file}`, extraArgs: ["--reconcile-interval", "1h"] });
    const roomId = uniqueId("dashboard");
    await liveblocks.createRoom(roomId);
    await liveblocks.setStorage(roomId, { a: 1 });
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await waitFor("the target to be mirrored", async () =>
      /lbmirror_targets_mirrored_total [1-9]/.test(await (await fetch(`http://127.0.0.1:${mirror.port}/metrics`)).text()));
    const page = await (await fetch(`http://127.0.0.1:${mirror.port}/metrics`)).text();
    const exposed = exposedNames(page);
    assert.ok(exposed.has("lbmirror_webhook_ack_seconds_bucket"));
    assert.match(page, /^lbmirror_build_info\{version="\d+\.\d+\.\d+",commit="[0-9a-f]{12}(-dirty)?"\} 1$/m);

    const dashboard = JSON.parse(fs.readFileSync(path.join(deploy, "grafana/lbmirror.json"), "utf8"));
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    exprs.push(dashboard.templating.list.find((v) => v.name === "instance").definition);
    assert.ok(exprs.length >= 20, `${exprs.length} queries`);
    const used = new Set();
    for (const expr of exprs) {
      for (const name of queriedNames(expr)) {
        used.add(name);
        assert.ok(exposed.has(name), `the dashboard queries ${name}, which /metrics does not expose (in: ${expr})`);
      }
    }
    // The alert rules read the same metrics (up is Prometheus's own).
    const rules = parseYaml(fs.readFileSync(path.join(deploy, "prometheus/alerts.yaml"), "utf8")).groups.flatMap((g) => g.rules);
    for (const rule of rules) {
      for (const name of queriedNames(rule.expr)) {
        if (name !== "up") assert.ok(exposed.has(name), `alert ${rule.alert} reads ${name}, which /metrics does not expose`);
      }
    }
    // And every lbmirror metric appears on the dashboard.
    for (const name of exposed) {
      if (!name.startsWith("lbmirror_") || /_(sum|count)$/.test(name)) continue;
      if (/_bucket$/.test(name) || exposed.has(name + "_bucket")) continue;
      assert.ok(used.has(name), `${name} is on no panel`);
    }
  });

  test("the checker finds a metric that does not exist", () => {
    assert.deepEqual(queriedNames('sum(rate(lbmirror_nope_total{instance=~"$instance"}[5m]))'), ["lbmirror_nope_total"]);
  });
});

describe("systemd unit", () => {
  test("systemd-analyze verify passes and security rates it OK or better", () => {
    // A root holding the unit, the binary and the environment file where the package puts them.
    const sysroot = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-unit-"));
    after(() => fs.rmSync(sysroot, { recursive: true, force: true }));
    const units = path.join(sysroot, "usr/lib/systemd/system");
    fs.mkdirSync(units, { recursive: true });
    fs.mkdirSync(path.join(sysroot, "usr/bin"), { recursive: true });
    fs.mkdirSync(path.join(sysroot, "etc/default"), { recursive: true });
    fs.copyFileSync(env.bin, path.join(sysroot, "usr/bin/lbmirror"));
    fs.copyFileSync(path.join(deploy, "systemd/lbmirror.env"), path.join(sysroot, "etc/default/lbmirror"));
    fs.copyFileSync(path.join(deploy, "systemd/lbmirror.service"), path.join(units, "lbmirror.service"));
    for (const f of fs.readdirSync("/lib/systemd/system").filter((f) => /\.(target|slice|socket)$/.test(f))) {
      fs.cpSync(path.join("/lib/systemd/system", f), path.join(units, f), { dereference: false, verbatimSymlinks: true });
    }
    const verify = run("systemd-analyze", ["verify", `--root=${sysroot}`, path.join(units, "lbmirror.service")]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), "", "systemd-analyze verify printed warnings");

    const security = run("systemd-analyze", ["security", "--offline=true", `--root=${sysroot}`, "--no-pager", "lbmirror.service"]);
    const score = /Overall exposure level for lbmirror\.service: ([\d.]+) (\w+)/.exec(security.stdout);
    assert.ok(score, security.stdout + security.stderr);
    console.log(`# systemd-analyze security: ${score[1]} ${score[2]}`);
    assert.ok(Number(score[1]) <= 2.0 && ["SAFE", "OK"].includes(score[2]), `exposure ${score[1]} ${score[2]}`);
  });

  test("the unit keeps its sandbox", () => {
    const unit = fs.readFileSync(path.join(deploy, "systemd/lbmirror.service"), "utf8");
    for (const line of ["DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=lbmirror", "NoNewPrivileges=yes",
      "EnvironmentFile=/etc/default/lbmirror", "Restart=on-failure"]) {
      assert.ok(unit.split("\n").includes(line), `${line} missing`);
    }
  });
});

describe("Kubernetes manifests", () => {
  const objects = () => {
    const rendered = run("kubectl", ["kustomize", path.join(deploy, "kubernetes")]);
    assert.equal(rendered.status, 0, rendered.stderr);
    const files = [rendered.stdout, fs.readFileSync(path.join(deploy, "kubernetes/secret.example.yaml"), "utf8")];
    return files.flatMap((text) => parseAllDocuments(text).map((d) => d.toJS())).filter(Boolean);
  };

  test("kustomize renders them and every object is valid against the Kubernetes API schema", async () => {
    const list = objects();
    const kinds = list.map((o) => o.kind).sort();
    assert.deepEqual(kinds, ["Deployment", "Job", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Service", "Service"]);
    for (const object of list) {
      const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
      const module = await import(`kubernetes-models/${group ? group + "/" : ""}${version}/${object.kind}`);
      assert.doesNotThrow(() => new module[object.kind](object).validate(), `${object.kind} ${object.metadata.name}`);
    }
  });

  test("the Deployment is hardened and probed as the docs say", () => {
    const deployment = objects().find((o) => o.kind === "Deployment");
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    assert.equal(container.readinessProbe.httpGet.path, "/readyz");
    assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    assert.equal(container.envFrom[0].secretRef.name, "lbmirror");
    const admin = objects().find((o) => o.kind === "Service" && o.metadata.name === "lbmirror-admin");
    assert.equal(admin.spec.type, "ClusterIP");
  });

  test("the example Secret holds placeholders only", () => {
    const secret = objects().find((o) => o.kind === "Secret");
    for (const [key, value] of Object.entries(secret.stringData)) {
      assert.match(value, /REPLACE_ME|USER:PASSWORD@HOST/, `${key} looks like a real value`);
    }
  });
});

describe("Compose file", () => {
  test("docker-compose reads it: both profiles, migrate before serve, healthchecks", () => {
    const config = run("docker-compose", ["--project-directory", path.join(deploy), "-f", path.join(deploy, "compose.yaml"),
      "--env-file", path.join(deploy, ".env.example"), "--profile", "postgres", "--profile", "mysql", "config"]);
    assert.equal(config.status, 0, config.stderr);
    const services = parseYaml(config.stdout).services;
    assert.deepEqual(Object.keys(services).sort(), ["lbmirror", "lbmirror-mysql", "mariadb", "migrate", "migrate-mysql", "postgres"]);
    assert.deepEqual(services.lbmirror.depends_on, { postgres: { condition: "service_healthy" }, migrate: { condition: "service_completed_successfully" } });
    assert.deepEqual(services.migrate.command, ["migrate"]);
    assert.equal(services.lbmirror.read_only, true);
    for (const name of ["postgres", "mariadb", "lbmirror", "lbmirror-mysql"]) assert.ok(services[name].healthcheck, `${name} has no healthcheck`);
  });
});

describe("Debian package", () => {
  test("the .deb declares its runtime libraries, the unit and a conffile", () => {
    const deb = fs.readdirSync(path.dirname(env.bin)).find((f) => /^lbmirror_.*\.deb$/.test(f));
    assert.ok(deb, "no lbmirror_*.deb in the build folder: run cpack -G DEB there first (scripts/test.sh does)");
    const file = path.join(path.dirname(env.bin), deb);
    const info = execFileSync("dpkg-deb", ["-f", file, "Depends"], { encoding: "utf8" });
    for (const lib of ["libpq5", "libmariadb3", "libsqlite3-0", "libcurl4", "libboost-json1.81.0", "ca-certificates"]) {
      assert.match(info, new RegExp(`\\b${lib.replace(/\./g, "\\.")}\\b`), `Depends lacks ${lib}`);
    }
    const contents = execFileSync("dpkg-deb", ["-c", file], { encoding: "utf8" });
    assert.match(contents, /\.\/usr\/bin\/lbmirror$/m);
    assert.match(contents, /\.\/usr\/lib\/systemd\/system\/lbmirror\.service$/m);
    assert.match(contents, /^-rw------- root\/root .* \.\/etc\/default\/lbmirror$/m);
    const conffiles = execFileSync("sh", ["-c", `dpkg-deb --ctrl-tarfile '${file}' | tar -xO ./conffiles`], { encoding: "utf8" });
    assert.equal(conffiles.trim(), "/etc/default/lbmirror");
  });
});
