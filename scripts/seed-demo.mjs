#!/usr/bin/env node
// Puts a small example project into a Liveblocks dev server, so that a mirror started against
// it has something to show: room "welcome" with Storage (a React Flow diagram included) and a
// Tiptap document. Safe to run again.
//   node scripts/seed-demo.mjs [BASE_URL]      (default http://127.0.0.1:1154)
import { tiptapUpdate } from "../tests/integration/lib/yjs_editors.mjs";

const base = process.argv[2] ?? "http://127.0.0.1:1154";
const headers = { Authorization: "Bearer sk_localdev" };
async function call(method, path, body, type = "application/json") {
  const res = await fetch(base + path, { method, body, headers: { ...headers, "Content-Type": type } });
  if (!res.ok && res.status !== 409) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}
await call("POST", "/v2/rooms", JSON.stringify({ id: "welcome", defaultAccesses: ["room:write"],
  metadata: { title: "Welcome to lbmirror" } }));
await call("DELETE", "/v2/rooms/welcome/storage");
await call("POST", "/v2/rooms/welcome/storage", JSON.stringify({ liveblocksType: "LiveObject", data: {
  title: "Launch plan",
  flow: { nodes: [{ id: "n1", type: "input", position: { x: 0, y: 0 }, data: { label: "Idea" } },
                  { id: "n2", position: { x: 0, y: 120 }, data: { label: "Ship it" } }],
          edges: [{ id: "e1", source: "n1", target: "n2" }] },
} }));
await call("PUT", "/v2/rooms/welcome/ydoc",
  Buffer.from(tiptapUpdate("Welcome", "This text was written in a Tiptap editor")), "application/octet-stream");
console.log(`seeded room "welcome" in ${base}`);
