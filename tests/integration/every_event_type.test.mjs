// Every one of the 18 webhook event types, on SQLite, MariaDB and Postgres: send the signed webhook,
// then check that the rows equal what the REST API answers now. Threads, comments and inbox
// notifications come from the project's test double (the dev server lacks them); everything
// else from the official dev server.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import * as Y from "yjs";
import {
  env, startMirror, sendEvent, liveblocks, tiptapUpdate, lexicalUpdate, blockNoteUpdate, storageUpdated, ydocUpdated,
  roomEvent, uniqueId, waitFor, parseJsonColumn, backends,
} from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { referenceViews } from "./lib/yjs_reference.mjs";
import { threadEvent, threadDifference } from "./lib/checks.mjs";

const UNICODE = "héllo 👋🏽 日本語 עברית مرحبا";

for (const backend of backends("ev")) {
  describe(`every event type on ${backend.name}`, () => {
    const { db, prefix: p } = backend;
    let double;
    let mirror;
    before(async () => {
      backend.cleanup();
      double = await startLiveblocksDouble(env.baseUrl);
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url,
        extraArgs: ["--table-prefix", p, "--flow-keys", "flow,diagram"] });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      await double.close();
      backend.cleanup();
    });

    async function send(event) {
      const res = await sendEvent(mirror, event);
      assert.equal(res.status, 200, res.body);
    }

    async function expectThreadMirrored(roomId, threadId) {
      // A mismatch throws, so that a timeout reports the last difference seen.
      await waitFor(`thread ${threadId} to equal the API`, async () => {
        const difference = await threadDifference(db, p, double, roomId, threadId);
        if (difference) throw new Error(difference);
        return true;
      });
    }

    test("thread and comment events: created, commented, edited, reacted, metadata, resolved, deleted", async () => {
      const roomId = uniqueId("threads-" + UNICODE.slice(0, 5));
      await liveblocks.createRoom(roomId);
      const { threadId, commentId } = double.createThread(roomId, { userId: "alice",
        body: { version: 1, content: [{ type: "paragraph", children: [{ text: "Hello " }, { type: "mention", kind: "user", id: "bob" }, { text: ` ${UNICODE}` }] }] },
        metadata: { status: "open", priority: 2 } });
      await send(threadEvent("threadCreated", roomId, threadId, { createdBy: "alice" }));
      await expectThreadMirrored(roomId, threadId);

      const second = double.addComment(roomId, threadId, { userId: "bob", body: textBody("second", "", "lines") });
      await send(threadEvent("commentCreated", roomId, threadId, { commentId: second, createdBy: "bob" }));
      await expectThreadMirrored(roomId, threadId);

      double.editComment(roomId, threadId, second, textBody("second, edited 🎉"));
      await send(threadEvent("commentEdited", roomId, threadId, { commentId: second }));
      await expectThreadMirrored(roomId, threadId);

      double.addReaction(roomId, threadId, commentId, "👍", "bob");
      double.addReaction(roomId, threadId, commentId, "👍", "carol");
      await send(threadEvent("commentReactionAdded", roomId, threadId, { commentId, emoji: "👍", addedBy: "carol" }));
      await expectThreadMirrored(roomId, threadId);
      double.removeReaction(roomId, threadId, commentId, "👍", "bob");
      await send(threadEvent("commentReactionRemoved", roomId, threadId, { commentId, emoji: "👍", removedBy: "bob" }));
      await expectThreadMirrored(roomId, threadId);

      double.setCommentMetadata(roomId, threadId, commentId, { pinned: true });
      await send(threadEvent("commentMetadataUpdated", roomId, threadId, { commentId, updatedBy: "alice" }));
      await expectThreadMirrored(roomId, threadId);
      double.setThreadMetadata(roomId, threadId, { status: "in review", label: UNICODE });
      await send(threadEvent("threadMetadataUpdated", roomId, threadId, { updatedBy: "alice" }));
      await expectThreadMirrored(roomId, threadId);

      double.setResolved(roomId, threadId, true);
      await send(threadEvent("threadMarkedAsResolved", roomId, threadId, { updatedBy: "alice" }));
      await expectThreadMirrored(roomId, threadId);
      double.setResolved(roomId, threadId, false);
      await send(threadEvent("threadMarkedAsUnresolved", roomId, threadId, { updatedBy: "alice" }));
      await expectThreadMirrored(roomId, threadId);

      double.deleteComment(roomId, threadId, second);
      await send(threadEvent("commentDeleted", roomId, threadId, { commentId: second }));
      await expectThreadMirrored(roomId, threadId);
      const row = (await db.query(`SELECT body, deleted_at FROM ${p}comments WHERE comment_id = ?`, [second]))[0];
      assert.equal(row.body, null);
      assert.notEqual(row.deleted_at, null);

      double.deleteThread(roomId, threadId);
      await send(threadEvent("threadDeleted", roomId, threadId));
      await expectThreadMirrored(roomId, threadId);
    });

    test("comment attachments: their metadata from the comments, never a download URL", async () => {
      const roomId = uniqueId("attach");
      const attachment = (id, name, size, mimeType) => ({ type: "attachment", id, name, size, mimeType });
      const [plan, sketch] = [attachment(uniqueId("at"), `plan ${UNICODE}.pdf`, 12345, "application/pdf"),
        attachment(uniqueId("at"), "sketch.png", 678, "image/png")];
      const { threadId, commentId } = double.createThread(roomId, { userId: "alice", body: textBody("see attached"),
        attachments: [plan, sketch] });
      await send(threadEvent("threadCreated", roomId, threadId));
      const rows = () => db.query(`SELECT attachment_id, comment_id, thread_id, room_id, name, size, mime_type, deleted_at
        FROM ${p}comment_attachments WHERE thread_id = ? ORDER BY name`, [threadId]);
      const mirrored = await waitFor("both attachments", async () => ((await rows()).length === 2 ? rows() : null));
      assert.deepEqual(mirrored.map((r) => [r.attachment_id, r.comment_id, r.room_id, r.name, Number(r.size), r.mime_type, r.deleted_at]),
        [[plan.id, commentId, roomId, plan.name, 12345, "application/pdf", null],
         [sketch.id, commentId, roomId, "sketch.png", 678, "image/png", null]]);
      double.editComment(roomId, threadId, commentId, textBody("only the plan now"), [plan]);
      await send(threadEvent("commentEdited", roomId, threadId, { commentId }));
      await waitFor("the removed attachment deleted", async () =>
        (await rows()).find((r) => r.attachment_id === sketch.id)?.deleted_at !== null);
      assert.equal((await rows()).find((r) => r.attachment_id === plan.id).deleted_at, null);
      double.deleteThread(roomId, threadId);
      await send(threadEvent("threadDeleted", roomId, threadId));
      await waitFor("the thread's attachments deleted", async () => (await rows()).every((r) => r.deleted_at !== null));
    });

    test("deleting the last comment deletes the thread", async () => {
      const roomId = uniqueId("lastcomment");
      const { threadId, commentId } = double.createThread(roomId, { userId: "alice", body: textBody("only one") });
      await send(threadEvent("threadCreated", roomId, threadId));
      await expectThreadMirrored(roomId, threadId);
      double.deleteComment(roomId, threadId, commentId);
      await send(threadEvent("commentDeleted", roomId, threadId, { commentId }));
      await expectThreadMirrored(roomId, threadId);
    });

    test("notification events of the three kinds", async () => {
      const roomId = uniqueId("notify");
      const at = new Date().toISOString();
      const kinds = [
        { kind: "thread", id: uniqueId("in"), roomId, threadId: "th_x", notifiedAt: at, readAt: null },
        { kind: "textMention", id: uniqueId("in"), roomId, notifiedAt: at, readAt: at, createdBy: "alice", mentionId: "mn_1", mention: { kind: "user", id: "bob" } },
        { kind: "$fileUploaded", id: uniqueId("in"), subjectId: "file-1", notifiedAt: at, readAt: null,
          activities: [{ id: "act_1", createdAt: at, data: { file: `${UNICODE}.pdf` } }] },
      ];
      for (const n of kinds) {
        double.setNotification("bob", n);
        await send({ type: "notification", data: { channel: "email", kind: n.kind, projectId: "p", roomId: n.roomId ?? null,
          userId: "bob", threadId: n.threadId, subjectId: n.subjectId, mentionId: n.mentionId,
          inboxNotificationId: n.id, createdAt: at, triggeredAt: at } });
      }
      for (const n of kinds) {
        const row = await waitFor(`notification ${n.kind}`, async () =>
          (await db.query(`SELECT * FROM ${p}notifications WHERE inbox_notification_id = ?`, [n.id]))[0]);
        assert.deepEqual(parseJsonColumn(row.data), n);
        assert.equal(row.kind, n.kind);
        assert.equal(row.user_id, "bob");
        assert.equal(row.room_id, n.roomId ?? null);
        assert.equal(row.thread_id, n.threadId ?? null);
        assert.equal(row.subject_id, n.subjectId ?? null);
        assert.equal(row.read_at === null, n.readAt === null);
      }
    });

    test("presence: userEntered and userLeft update active users and sessions", async () => {
      // ASCII only: the dev server refuses (4001) tokens whose room id or user info is not ASCII.
      const roomId = uniqueId("presence");
      await liveblocks.createRoom(roomId);
      const token = (await (await fetch(env.baseUrl + "/v2/authorize-user", { method: "POST",
        headers: { Authorization: "Bearer sk_localdev", "Content-Type": "application/json" },
        body: JSON.stringify({ userId: "alice", userInfo: { name: "Alice", color: "#f00" }, permissions: { [roomId]: ["room:write"] } }) })).json()).token;
      const open = async (query) => {
        const ws = new WebSocket(`${env.baseUrl.replace("http", "ws")}/v7?roomId=${encodeURIComponent(roomId)}&${query}`);
        await new Promise((resolve, reject) => { ws.on("open", resolve); ws.on("error", reject); });
        return ws;
      };
      const alice = await open(`tok=${token}`);
      const anonymous = await open("pubkey=pk_localdev");
      const active = async () => (await (await fetch(`${env.baseUrl}/v2/rooms/${encodeURIComponent(roomId)}/active_users`,
        { headers: { Authorization: "Bearer sk_localdev" } })).json()).data;
      const users = await waitFor("two active users", async () => { const u = await active(); return u.length === 2 && u; });
      const enteredAt = new Date(Date.now() - 5000).toISOString();
      for (const u of users) {
        await send({ type: "userEntered", data: { projectId: "p", roomId, connectionId: u.connectionId,
          userId: u.id ?? null, userInfo: u.info ?? null, enteredAt, numActiveUsers: users.length } });
      }
      const mirrored = async () => (await db.query(`SELECT connection_id, user_id, user_info FROM ${p}active_users WHERE room_id = ? ORDER BY connection_id`, [roomId]))
        .map((r) => ({ connectionId: Number(r.connection_id), id: r.user_id ?? undefined, info: r.user_info === null ? undefined : parseJsonColumn(r.user_info) }));
      const truth = (list) => list.map((u) => ({ connectionId: u.connectionId, id: u.id, info: u.info })).sort((a, b) => a.connectionId - b.connectionId);
      await waitFor("active users equal the API", async () => isDeepStrictEqual(await mirrored(), truth(await active())));
      await waitFor("the room's count", async () =>
        Number((await db.query(`SELECT active_users FROM ${p}rooms WHERE room_id = ?`, [roomId]))[0]?.active_users) === 2);

      // The anonymous user leaves; its userLeft is delivered twice (two deliveries, two ids).
      const anon = users.find((u) => !u.id);
      anonymous.close();
      await waitFor("one active user", async () => (await active()).length === 1);
      const leftAt = new Date().toISOString();
      const left = { type: "userLeft", data: { projectId: "p", roomId, connectionId: anon.connectionId, userId: null, userInfo: null, leftAt, numActiveUsers: 1 } };
      await send(left);
      await send(left);
      await waitFor("active users equal the API after a leave", async () => isDeepStrictEqual(await mirrored(), truth(await active())));

      // A userLeft that arrives before its userEntered (connection 9000 never existed here).
      await send({ type: "userLeft", data: { projectId: "p", roomId, connectionId: 9000, userId: "zoe", userInfo: null, leftAt, numActiveUsers: 1 } });
      await send({ type: "userEntered", data: { projectId: "p", roomId, connectionId: 9000, userId: "zoe", userInfo: null, enteredAt, numActiveUsers: 2 } });
      const sessions = await db.query(`SELECT connection_id, user_id, entered_at, left_at, entered_known FROM ${p}room_sessions WHERE room_id = ? ORDER BY connection_id`, [roomId]);
      const sql = (iso) => iso.replace("T", " ").replace("Z", "");
      assert.deepEqual(sessions.map((s) => [Number(s.connection_id), s.user_id, s.entered_at, s.left_at, Number(s.entered_known)]),
        users.map((u) => [u.connectionId, u.id ?? null, sql(enteredAt), u.id ? null : sql(leftAt), 1])
          .concat([[9000, "zoe", sql(enteredAt), sql(leftAt), 1]]).sort((a, b) => a[0] - b[0]));
      alice.close();
    });

    test("storageUpdated projects React Flow diagrams and removes nodes that are gone", async () => {
      const roomId = uniqueId("flow");
      await liveblocks.createRoom(roomId);
      const liveObject = (data) => ({ liveblocksType: "LiveObject", data });
      const node = (id, x, label) => liveObject({ id, type: "default", position: { x, y: x / 2 }, data: { label } });
      const setFlow = (nodes, edges) => liveblocks.setStorage(roomId, {
        title: UNICODE,
        flow: liveObject({
          nodes: { liveblocksType: "LiveMap", data: Object.fromEntries(nodes.map((n) => [n.data.id, n])) },
          edges: { liveblocksType: "LiveMap", data: Object.fromEntries(edges.map((e) => [e.id, liveObject(e)])) },
        }),
      });
      const check = async () => {
        const truth = (await liveblocks.storage(roomId)).json.flow;
        await waitFor("flow rows equal the API", async () => {
          const nodes = await db.query(`SELECT node_id, type, position_x, position_y, data, node FROM ${p}flow_nodes WHERE room_id = ? AND storage_key = 'flow' ORDER BY node_id`, [roomId]);
          const edges = await db.query(`SELECT edge_id, source, target, edge FROM ${p}flow_edges WHERE room_id = ? AND storage_key = 'flow' ORDER BY edge_id`, [roomId]);
          const wantNodes = Object.values(truth.nodes).sort((a, b) => a.id.localeCompare(b.id));
          const wantEdges = Object.values(truth.edges).sort((a, b) => a.id.localeCompare(b.id));
          return isDeepStrictEqual(nodes.map((n) => [n.node_id, n.type, Number(n.position_x), Number(n.position_y), parseJsonColumn(n.data), parseJsonColumn(n.node)]),
            wantNodes.map((n) => [n.id, n.type, n.position.x, n.position.y, n.data, n])) &&
            isDeepStrictEqual(edges.map((e) => [e.edge_id, e.source, e.target, parseJsonColumn(e.edge)]),
              wantEdges.map((e) => [e.id, e.source, e.target, e]));
        });
      };
      await setFlow([node("n1", 10, "Start"), node("n2", 20, UNICODE), node("n3", 30, "End")],
        [{ id: "e1", source: "n1", target: "n2" }, { id: "e2", source: "n2", target: "n3" }]);
      await send(storageUpdated(roomId));
      await check();
      await setFlow([node("n1", 15, "Start"), node("n3", 30, "End")], [{ id: "e3", source: "n1", target: "n3" }]);
      await send(storageUpdated(roomId));
      await check();
      const doc = (await db.query(`SELECT data FROM ${p}documents WHERE room_id = ?`, [roomId]))[0];
      assert.deepEqual(parseJsonColumn(doc.data), (await liveblocks.storage(roomId)).json);
    });

    test("ydocUpdated: Tiptap, BlockNote and Lexical documents are mirrored exactly and searchable", async () => {
      const editors = [
        { name: "tiptap", update: tiptapUpdate(`Quarterly ${UNICODE}`, "Zephyrine launch checklist"),
          text: `Quarterly ${UNICODE}\nZephyrine launch checklist` },
        { name: "blocknote", update: blockNoteUpdate([{ type: "heading", text: "Roadmap" },
          { text: "Ship the mirror", children: [{ text: "Write the decoder" }, { text: "Measure it" }] }]),
          text: "Roadmap\nShip the mirror\nWrite the decoder\nMeasure it" },
        { name: "lexical", update: lexicalUpdate(["Obsidian quarterly notes", UNICODE]),
          text: `Obsidian quarterly notes\n${UNICODE}` },
      ];
      for (const editor of editors) {
        editor.roomId = uniqueId(`${editor.name}-` + UNICODE.slice(11, 14));
        await liveblocks.createRoom(editor.roomId);
        await liveblocks.putYdoc(editor.roomId, editor.update);
        await send(ydocUpdated(editor.roomId));
      }
      for (const editor of editors) {
        const row = await waitFor(`the ${editor.name} ydoc row`, async () =>
          (await db.query(`SELECT data, text FROM ${p}ydocs WHERE room_id = ?`, [editor.roomId]))[0]);
        // The truth is the binary state, read by npm yjs (the JSON view of GET /ydoc is lossy).
        const binary = await liveblocks.ydocBinary(editor.roomId);
        const want = referenceViews(binary);
        assert.deepEqual(parseJsonColumn(row.data), want.json, editor.name);
        assert.equal(row.text, want.text, editor.name);
        assert.equal(row.text, editor.text, editor.name);
        // The binary state is mirrored byte for byte.
        const exported = execFileSync(env.bin, ["ydoc", "export", editor.roomId, "--database-url", backend.databaseUrl,
          "--table-prefix", p], { env: { PATH: process.env.PATH } });
        assert.ok(binary.length > 2);
        assert.ok(exported.equals(binary), `${editor.name}: exported ${exported.length} bytes, the API has ${binary.length}`);
      }
      const [tiptap, blocknote, lexical] = editors;
      // Lexical keeps its block and text-node layout in the JSON.
      assert.deepEqual(parseJsonColumn((await db.query(`SELECT data FROM ${p}ydocs WHERE room_id = ?`, [lexical.roomId]))[0].data).root[0],
        { attributes: { __dir: "ltr", __format: 0, __indent: 0, __type: "paragraph" },
          delta: [{ insert: { __detail: 0, __format: 1, __mode: 0, __style: "", __type: "text" } }, { insert: "Obsidian quarterly notes" }] });

      const search = (q) => execFileSync(env.bin, ["search", q, "--database-url", backend.databaseUrl, "--table-prefix", p],
        { encoding: "utf8", env: { PATH: process.env.PATH } });
      const out = search("Zephyrine");
      assert.match(out, new RegExp(`document room ${tiptap.roomId}`));
      assert.match(out, /Zephyrine launch checklist/);
      assert.match(search("Obsidian"), new RegExp(`document room ${lexical.roomId}`));
      assert.match(search("decoder"), new RegExp(`document room ${blocknote.roomId}`));
      assert.match(search("日本語"), new RegExp(tiptap.roomId));
      assert.match(search("日本語"), new RegExp(lexical.roomId));
      assert.match(search("nothing-like-this"), /no matches/);
      // A query of stop words or symbols only (PostgreSQL sends a notice): standard error holds
      // log lines in lbmirror's format only, and no raw server notice.
      for (const [q, found] of [["🎉", false], ["the", true]]) {
        const run = spawnSync(env.bin, ["search", q, "--database-url", backend.databaseUrl, "--table-prefix", p],
          { encoding: "utf8", env: { PATH: process.env.PATH } });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, found ? /Ship the mirror/ : /no matches/);
        assert.doesNotMatch(run.stderr, /NOTICE/);
        for (const line of run.stderr.split("\n").filter(Boolean)) {
          assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info|warn|error) /, `search ${q}: not a log line`);
        }
      }
      assert.throws(() => execFileSync(env.bin, ["search", "x", "--database-url", backend.databaseUrl,
        "--table-prefix", "notmigrated_"], { stdio: "pipe" }), /no current lbmirror tables/);

      // The exported state restores the same document in yjs.
      const restored = new Y.Doc();
      Y.applyUpdate(restored, execFileSync(env.bin, ["ydoc", "export", tiptap.roomId, "--database-url", backend.databaseUrl,
        "--table-prefix", p], { env: { PATH: process.env.PATH } }));
      const original = new Y.Doc();
      Y.applyUpdate(original, tiptap.update);
      assert.equal(restored.getXmlFragment("default").toString(), original.getXmlFragment("default").toString());
      assert.throws(() => execFileSync(env.bin, ["ydoc", "export", "no-such-room", "--database-url", backend.databaseUrl,
        "--table-prefix", p], { stdio: "pipe" }), /no Yjs document is mirrored/);
    });

    test("roomCreated and roomDeleted mirror the room and then mark everything of it deleted", async () => {
      const roomId = uniqueId("room-" + UNICODE.slice(15));
      await liveblocks.createRoom(roomId, { metadata: { name: UNICODE } });
      await liveblocks.setStorage(roomId, { a: 1 });
      const { threadId } = double.createThread(roomId, { userId: "alice", body: textBody("bye") });
      for (const event of [roomEvent("roomCreated", roomId), storageUpdated(roomId), threadEvent("threadCreated", roomId, threadId)]) await send(event);
      const room = await waitFor("the room row", async () => (await db.query(`SELECT * FROM ${p}rooms WHERE room_id = ?`, [roomId]))[0]);
      assert.deepEqual(parseJsonColumn(room.metadata), { name: UNICODE });
      await expectThreadMirrored(roomId, threadId);
      await liveblocks.deleteRoom(roomId);
      double.deleteThread(roomId, threadId);
      await send(roomEvent("roomDeleted", roomId));
      await waitFor("everything deleted", async () => {
        const [r] = await db.query(`SELECT deleted_at FROM ${p}rooms WHERE room_id = ?`, [roomId]);
        const [t] = await db.query(`SELECT deleted_at FROM ${p}threads WHERE thread_id = ?`, [threadId]);
        const [d] = await db.query(`SELECT deleted_at FROM ${p}documents WHERE room_id = ?`, [roomId]);
        return r.deleted_at && t.deleted_at && d.deleted_at;
      });
    });
  });
}
