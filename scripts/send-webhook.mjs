#!/usr/bin/env node
// Sends one signed Liveblocks-style webhook to a running lbmirror, for trying it out locally.
//   node scripts/send-webhook.mjs TYPE ROOM_ID [URL]
// TYPE is storageUpdated, ydocUpdated, roomCreated or roomDeleted. The signing secret is read
// from LIVEBLOCKS_WEBHOOK_SECRET, the one the mirror runs with.
import crypto from "node:crypto";

const [type, roomId, url = "http://127.0.0.1:8080/api/liveblocks-webhook"] = process.argv.slice(2);
if (!type || !roomId) {
  console.error("usage: node scripts/send-webhook.mjs TYPE ROOM_ID [URL]");
  process.exit(2);
}
const secret = (process.env.LIVEBLOCKS_WEBHOOK_SECRET ?? "").split(/[\s,]+/).find((s) => s.startsWith("whsec_"));
if (!secret) {
  console.error("no whsec_ secret: set LIVEBLOCKS_WEBHOOK_SECRET (the mirror's own)");
  process.exit(2);
}
const now = new Date().toISOString();
const body = JSON.stringify({ type, data: { projectId: "local", roomId, updatedAt: now, createdAt: now, deletedAt: now } });
const id = "msg_" + crypto.randomBytes(12).toString("hex");
const timestamp = String(Math.floor(Date.now() / 1000));
const key = Buffer.from(secret.slice("whsec_".length), "base64");
const signature = crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
const res = await fetch(url, {
  method: "POST",
  body,
  headers: { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` },
});
console.log(res.status, await res.text());
process.exit(res.ok ? 0 : 1);
