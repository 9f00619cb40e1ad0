// lbmirror accepts exactly what the official SDK's WebhookHandler accepts, for requests
// signed by an independent implementation (npm standardwebhooks).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { WebhookHandler } from "@liveblocks/node";
import { startMirror, signedRequest, post, SECRET, OTHER_SECRET, uniqueId } from "./lib/harness.mjs";

function sdkAccepts(request) {
  try {
    new WebhookHandler(SECRET).verifyRequest({ headers: request.headers, rawBody: request.body });
    return true;
  } catch {
    return false;
  }
}

describe("signature compatibility with @liveblocks/node", () => {
  const file = path.join(os.tmpdir(), `lbmirror-compat-${process.pid}.db`);
  let mirror;
  before(async () => {
    mirror = await startMirror({ databaseUrl: `sqlite:${file}`, secret: `${OTHER_SECRET}, ${SECRET}` });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0);
    ["", "-wal", "-shm"].forEach((s) => fs.rmSync(file + s, { force: true }));
  });

  const roomId = "café-🎉-" + uniqueId("compat");
  const event = { type: "commentReactionAdded", data: { projectId: "p", roomId, threadId: "th_1", commentId: "cm_1", emoji: "👍", addedAt: new Date().toISOString(), addedBy: "José" } };
  const cases = {
    "a valid request": (r) => r,
    "a tampered body": (r) => ({ ...r, body: r.body.replace("👍", "👎") }),
    "a body with a trailing newline": (r) => ({ ...r, body: r.body + "\n" }),
    "a v2 label": (r) => ({ ...r, headers: { ...r.headers, "webhook-signature": r.headers["webhook-signature"].replace("v1,", "v2,") } }),
    "a signature without label": (r) => ({ ...r, headers: { ...r.headers, "webhook-signature": r.headers["webhook-signature"].replace("v1,", "") } }),
    "two signatures, the second valid": (r) => ({ ...r, headers: { ...r.headers, "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + r.headers["webhook-signature"] } }),
    "a timestamp 10 minutes old": (r) => signedRequest(r.body, { date: new Date(Date.now() - 600_000) }),
    "a timestamp 10 minutes ahead": (r) => signedRequest(r.body, { date: new Date(Date.now() + 600_000) }),
    "capitalised header names": (r) => ({ ...r, headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.replace(/(^|-)w/g, (m) => m.toUpperCase()), v])) }),
  };
  for (const [name, mutate] of Object.entries(cases)) {
    test(`${name}: lbmirror and the SDK agree`, async () => {
      const request = mutate(signedRequest(event, { id: uniqueId("msg") }));
      const sdk = sdkAccepts({ ...request, headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])) });
      const res = await post(mirror.url, request);
      assert.equal(res.status === 200, sdk, `SDK ${sdk ? "accepts" : "rejects"}, lbmirror answered ${res.status} ${res.body}`);
    });
  }

  test("the valid case is accepted by both (the comparison is not vacuous)", async () => {
    const request = signedRequest(event);
    assert.equal(sdkAccepts(request), true);
    assert.equal((await post(mirror.url, request)).status, 200);
  });
});
