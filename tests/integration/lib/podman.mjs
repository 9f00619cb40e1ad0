// Helpers for the suites that run what we ship in containers (deploy_*.test.mjs): podman calls
// with the settings of scripts/podman-env.sh (CONTAINERS_CONF, set by scripts/test.sh) and
// podman secrets that a suite removes after itself.
import { after } from "node:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const sourceRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");
export const projectVersion = () =>
  /project\(lbmirror VERSION ([\d.]+)/.exec(fs.readFileSync(path.join(sourceRoot, "CMakeLists.txt"), "utf8"))[1];

// Runs podman; throws on a non-zero exit unless `check` is false.
export function podman(args, { input, check = true } = {}) {
  const res = spawnSync("podman", args, { encoding: "utf8", input, maxBuffer: 64 << 20 });
  if (check && res.status !== 0) throw new Error(`podman ${args.join(" ")}: exit ${res.status}: ${res.stderr}`);
  return res;
}

// A podman secret holding `value`, removed after the suite; returns its name. (Through a file
// of mode 0600: podman reads "-" only from a pipe, and node gives a child a socket.)
export function podmanSecret(name, value) {
  podman(["secret", "rm", name], { check: false });
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-secret-"));
  const file = path.join(folder, "value");
  fs.writeFileSync(file, value, { mode: 0o600 });
  try {
    podman(["secret", "create", name, file]);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
  after(() => podman(["secret", "rm", name], { check: false }));
  return name;
}
