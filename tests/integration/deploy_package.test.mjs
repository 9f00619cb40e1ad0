// The Debian package as a user installs it: `apt-get install ./lbmirror_*.deb` into a clean
// Debian 12 container (LBMIRROR_TEST_DEBIAN_IMAGE, the slim base scripts/image.sh makes) pulls
// in its runtime libraries from Debian; then `lbmirror --version` runs and `lbmirror migrate`
// creates an SQLite mirror that `lbmirror status` reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { env } from "./lib/harness.mjs";
import { podman, projectVersion } from "./lib/podman.mjs";

const base = process.env.LBMIRROR_TEST_DEBIAN_IMAGE ?? "localhost/lbmirror-base/debian:bookworm-slim";

test("apt-get install ./lbmirror_*.deb into a clean Debian 12 container, then --version, migrate and status", () => {
  const folder = path.dirname(env.bin);
  const deb = fs.readdirSync(folder).find((f) => /^lbmirror_.*\.deb$/.test(f));
  assert.ok(deb, "no lbmirror_*.deb in the build folder: run cpack -G DEB there first (scripts/test.sh does)");
  podman(["image", "exists", base]);
  const script = [
    "set -e",
    "apt-get update -qq",
    `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /pkg/${deb} > /tmp/install.log`,
    "lbmirror --version",
    "cd /tmp && lbmirror migrate --database-url sqlite:/tmp/mirror.db",
    "lbmirror status --database-url sqlite:/tmp/mirror.db > /dev/null",
    "echo tables: $(ls /tmp/mirror.db)",
    "echo env: $(stat -c '%a %U' /etc/default/lbmirror)",
    "echo unit: $(ls /usr/lib/systemd/system/lbmirror.service)",
    "echo package: $(dpkg-query -W -f='${Status}' lbmirror)",
  ].join("\n");
  const run = podman(["run", "--rm", "--network=host", "-v", `${path.join(folder, deb)}:/pkg/${deb}:ro`, base, "sh", "-c", script],
    { check: false });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const version = projectVersion();
  assert.match(run.stdout, new RegExp(`^lbmirror ${version.replace(/\./g, "\\.")} \\(commit [0-9a-f]{12}(-dirty)?\\)$`, "m"));
  assert.match(run.stdout, /^tables: \/tmp\/mirror\.db$/m);
  assert.match(run.stdout, /^env: 600 root$/m);
  assert.match(run.stdout, /^unit: \/usr\/lib\/systemd\/system\/lbmirror\.service$/m);
  assert.match(run.stdout, /^package: install ok installed$/m);
});
