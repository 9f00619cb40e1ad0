// Writes the fuzzers' seed corpora, one folder each under DIR: for the Yjs decoder, random
// multi-client documents, one document per editor layout and maps nested past the depth
// limit (made by npm yjs); for the webhook, projection and DATABASE_URL fuzzers, the shapes
// Liveblocks sends and answers, plus very deep and very wide JSON; for the JSON Patch fuzzer,
// pairs of Storage documents (an edit, a diagram's node moved, arrays grown and shrunk, deep
// and wide ones).
//   node tests/fuzz/make_corpus.mjs DIR [COUNT]
import fs from "node:fs";
import path from "node:path";
import { randomUpdate } from "../integration/lib/yjs_random.mjs";
import { tiptapUpdate, lexicalUpdate, blockNoteUpdate, nestedMapsUpdate } from "../integration/lib/yjs_editors.mjs";

const [dir, count = "64"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: make_corpus.mjs DIR [COUNT]");
  process.exit(2);
}
const here = path.dirname(new URL(import.meta.url).pathname);
const write = (fuzzer, name, bytes) => {
  fs.mkdirSync(path.join(dir, fuzzer), { recursive: true });
  fs.writeFileSync(path.join(dir, fuzzer, name), bytes);
};

// Very deep and very wide JSON values.
const deepArrays = (depth) => "[".repeat(depth) + "]".repeat(depth);
const deepObjects = (depth) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
const wideObject = (keys) => JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])));
const wideArray = (n) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: `n${i}`, x: i })));

// Yjs decoder.
for (let seed = 1; seed <= Number(count); ++seed) write("yjs", `random-${seed}.bin`, randomUpdate(seed));
write("yjs", "tiptap.bin", tiptapUpdate("Title", "Hello bold world"));
write("yjs", "lexical.bin", lexicalUpdate(["One", "Two"]));
write("yjs", "blocknote.bin", blockNoteUpdate([{ text: "Parent", children: [{ text: "Child" }] }]));
write("yjs", "empty.bin", Buffer.from([0, 0]));
for (const depth of [100, 2100]) write("yjs", `nested-${depth}.bin`, nestedMapsUpdate(depth));

// Webhooks: "id\ntimestamp\nsignature\nbody".
const request = (body) => `msg_2bVrnTNJ7QoRq4PU2mWqGfVkAbc\n1767225600\nv1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=\n${body}`;
const events = JSON.parse(fs.readFileSync(path.join(here, "../testdata/events.json"), "utf8"));
events.forEach((c, i) => write("webhook", `event-${i}.txt`, request(c.body)));
write("webhook", "deep.txt", request(`{"type":"storageUpdated","data":{"roomId":"r","x":${deepArrays(3000)}}}`));
write("webhook", "wide.txt", request(`{"type":"storageUpdated","data":${wideObject(5000).replace("{", '{"roomId":"r",')}}`));
write("webhook", "headers.txt", "\n\nv1,a v1,b v2,c v1,\n{}");

// REST answers: kind byte (room, storage, ydoc, presence, thread, notification, inbox, groups,
// versions, version_ydoc, notification_settings, room_subscription_settings, thread_subs, feeds,
// feed_messages), status byte (0 is 200; its high bit: a dummy answer), body.
const answer = (kind, body, status = 0) => Buffer.concat([Buffer.from([kind, status]), Buffer.from(body)]);
const room = { type: "room", id: "room-1", organizationId: "org", createdAt: "2026-01-01T00:00:00.000Z",
  lastConnectionAt: "2026-01-02T00:00:00.000Z", metadata: { color: "blue", tags: ["a", "b"] },
  defaultAccesses: ["room:write"], usersAccesses: { alice: ["room:write"] }, groupsAccesses: {} };
const body = { version: 1, content: [{ type: "paragraph", children: [{ text: "Hello " },
  { text: "bold", bold: true }, { type: "mention", id: "alice" }, { type: "link", url: "https://x.y", text: "x" }] }] };
const comment = { type: "comment", id: "cm_1", threadId: "th_1", roomId: "room-1", userId: "alice",
  createdAt: "2026-01-01T00:00:00.000Z", editedAt: "2026-01-01T00:01:00.000Z", metadata: { p: 1 },
  reactions: [{ emoji: "👍", createdAt: "2026-01-01T00:00:00.000Z", users: [{ id: "bob" }] }],
  attachments: [], body };
const thread = { type: "thread", id: "th_1", roomId: "room-1", createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:02:00.000Z", metadata: { pinned: true }, resolved: false, visibility: "public",
  comments: [comment, { ...comment, id: "cm_2", body: undefined, deletedAt: "2026-01-01T00:03:00.000Z" }] };
const notification = { kind: "thread", id: "in_1", roomId: "room-1", threadId: "th_1",
  notifiedAt: "2026-01-01T00:00:00.000Z", readAt: null };
const storage = { title: "t", flow: { nodes: { n1: { id: "n1", type: "default", position: { x: 1, y: 2 }, data: { label: "A" } } },
  edges: [{ id: "e1", source: "n1", target: "n2", data: {} }] }, diagram: { nodes: [], edges: {} } };
write("projection", "room.bin", answer(0, JSON.stringify(room)));
write("projection", "storage.bin", answer(1, JSON.stringify(storage)));
write("projection", "storage-deep.bin", answer(1, `{"flow":{"nodes":{"n":{"id":"n","data":${deepObjects(2500)}}}}}`));
write("projection", "storage-deep-arrays.bin", answer(1, `{"a":${deepArrays(1900)}}`));
write("projection", "storage-wide.bin", answer(1, `{"flow":{"nodes":${wideArray(3000)},"edges":[]}}`));
write("projection", "ydoc.bin", answer(2, tiptapUpdate("Title", "Hello")));
write("projection", "presence.bin", answer(3, JSON.stringify({ data: [{ type: "user", connectionId: 7, id: "alice", info: { name: "A" } }] })));
write("projection", "thread.bin", answer(4, JSON.stringify(thread)));
write("projection", "thread-deep-body.bin", answer(4, JSON.stringify(thread).replace('"version":1', `"deep":${deepArrays(2500)},"version":1`)));
write("projection", "notification.bin", answer(5, JSON.stringify(notification)));
write("projection", "inbox.bin", answer(6, JSON.stringify({ data: [notification, { ...notification, id: "in_2", readAt: null }] })));
write("projection", "groups.bin", answer(7, JSON.stringify({ data: [{ type: "group", id: "eng", organizationId: "default",
  createdAt: "2026-01-01T10:00:00.000Z", updatedAt: "2026-01-01T10:00:00.000Z", scopes: { mention: true },
  members: [{ id: "alice", addedAt: "2026-01-01T10:00:00.000Z" }] }], nextCursor: null })));
write("projection", "versions.bin", answer(8, JSON.stringify({ data: [{ id: "vh_1", createdAt: "2024-10-15T10:30:00.000Z",
  authors: [{ id: "user-123" }] }, { type: "historyVersion", id: "vh_0", kind: "yjs" }], nextCursor: null })));
write("projection", "version-ydoc.bin", answer(9, tiptapUpdate("Version", "text of a version")));
write("projection", "notification-settings.bin", answer(10, JSON.stringify({ email: { thread: true, textMention: false,
  $custom: true }, webPush: { thread: false } })));
write("projection", "room-subscription-settings.bin", answer(11, JSON.stringify({ data: [{ threads: "all",
  textMentions: "mine", roomId: "room-1" }], meta: { nextCursor: null } })));
write("projection", "thread-subscriptions.bin", answer(12, JSON.stringify({ data: [{ kind: "thread",
  subjectId: "th_1", createdAt: "2022-07-13T14:32:50.697Z", userId: "alice" }] })));
write("projection", "feeds.bin", answer(13, JSON.stringify({ nextCursor: null, data: [{ feedId: "feed-1",
  metadata: { type: "chat", tags: ["a"] }, createdAt: 1660000988137, updatedAt: 1660000988137 }] })));
write("projection", "feeds-dummy.bin", answer(13, JSON.stringify({ feeds: [{ feedId: "123",
  metadata: { title: "Test Feed" }, timestamp: 1795917921574 }], nextCursor: null }), 0x80));
write("projection", "feed-messages.bin", answer(14, JSON.stringify({ data: [{ id: "msg_1",
  data: { type: "text", content: "Hello" }, createdAt: 1660000988137, updatedAt: 1.660000988137e12 }] })));
write("projection", "inbox-two-pages.bin", answer(6, JSON.stringify({ nextCursor: "c1", data: [notification] }) + "\x1e" +
  JSON.stringify({ data: [{ ...notification, id: "in_2" }], meta: { nextCursor: null } })));
write("projection", "error.bin", answer(0, '{"error":"ROOM_NOT_FOUND","message":"Room not found"}', 4));

// DATABASE_URL.
for (const [i, url] of [
  "sqlite:lbmirror.db", "sqlite::memory:", "sqlite:///tmp/x.db",
  "mysql://user:p%40ss%3Aword@db.example.com:3307/app?sslmode=verify_identity&sslca=/etc/ca.pem",
  "mariadb://u:pw@127.0.0.1/db?socket=/run/mysqld.sock&tls=true",
  'mysql://u:pw@host/db?ssl={"rejectUnauthorized":true}&sslaccept=strict',
  "mysql://[::1]:3306/db", "mysql://u@h/", "postgres://u:p@h/db",
].entries()) write("database_url", `url-${i}.txt`, url);

// Two versions of a Storage document, split at a 0x1e byte.
const pair = (before, after) => `${before}\x1e${after}`;
const moved = JSON.parse(JSON.stringify(storage));
moved.flow.nodes.n1.position = { x: 40, y: 2 };
moved.flow.edges.push({ id: "e2", source: "n2", target: "n1", data: { "a/b": "~" } });
write("json_patch", "node-moved.txt", pair(JSON.stringify(storage), JSON.stringify(moved)));
write("json_patch", "first-read.txt", pair("", JSON.stringify(storage)));
write("json_patch", "unchanged.txt", pair(JSON.stringify(storage), JSON.stringify(storage)));
write("json_patch", "array-shrunk.txt", pair("[1,[2,3],{\"a\":[4,5,6]},7]", "[1,[3],{\"a\":[]}]"));
write("json_patch", "kinds-change.txt", pair('{"a":1,"b":"x","c":null,"d":[],"e":{}}', '{"a":1.5,"b":["x"],"c":{},"d":{},"f":true}'));
write("json_patch", "deep.txt", pair(deepObjects(1990), deepObjects(1995)));
write("json_patch", "deep-arrays.txt", pair(deepArrays(1999), deepArrays(2000)));
write("json_patch", "wide.txt", pair(wideObject(3000), wideObject(2990)));
write("json_patch", "wide-array.txt", pair(wideArray(2000), wideArray(2100)));
