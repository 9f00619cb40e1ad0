// Data that changes without a webhook, mirrored by reconciliation passes, on SQLite, MariaDB and
// Postgres: inbox notifications read or deleted in the app (no webhook says so) and those never
// announced, for every user the mirror knows (from its rows and from rooms' usersAccesses),
// through every page of the listing; groups, version history, users' settings, who follows a
// thread, feeds and their messages, each from empty, changed and deleted; all within
// --rest-budget (counted at the Liveblocks test double, which every REST request passes
// through) while webhooks keep being mirrored; a 429 storm that slows the passes and loses
// nothing; a server that answers 501, or dummies (the dev server), leaving the mirror running;
// and a room renamed (no webhook either), which reconciliation turns into the new room with all
// it holds and the old one deleted. These endpoints come from the project's test double (the
// dev server answers 501 or dummies for them), in the shapes and with the outcomes the
// Liveblocks API documents.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  env, startMirror, sendEvent, liveblocks, storageUpdated, ydocUpdated, roomEvent, uniqueId, waitFor, backends, sleep,
  tiptapUpdate, parseJsonColumn,
} from "./lib/harness.mjs";
import { startLiveblocksDouble, textBody } from "./lib/liveblocks_double.mjs";
import { threadEvent } from "./lib/checks.mjs";

const BUDGET = 20;  // --rest-budget, requests per second (bursts of up to one second's worth)

// The most requests the double saw in any one-second window from `from` on.
function busiestSecond(requests, from = 0) {
  const times = requests.filter((r) => r.at >= from).map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

const notification = (id, { readAt = null, notifiedAt = new Date().toISOString() } = {}) =>
  ({ kind: "thread", id, roomId: "room-x", threadId: "th_x", notifiedAt, readAt });

for (const backend of backends("nowh")) {
  describe(`data no webhook announces, on ${backend.name}`, () => {
    const { db, prefix: p } = backend;
    let double;
    let mirror;
    before(async () => {
      backend.cleanup();
      double = await startLiveblocksDouble(env.baseUrl);
      double.state.feeds = true;
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url,
        extraArgs: [...backend.extraArgs, "--inbox-interval", "2s", "--groups-interval", "2s", "--versions-interval", "2s", "--settings-interval", "2s",
          "--subscriptions-interval", "2s", "--feeds-interval", "2s", "--rest-budget", `${BUDGET}/s`] });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      await double.close();
      backend.cleanup();
    });

    const rowsOf = (userId) => db.query(
      `SELECT inbox_notification_id, read_at, deleted_at FROM ${p}notifications WHERE user_id = ? ORDER BY inbox_notification_id`, [userId]);
    const notify = async (userId, n) => {
      double.setNotification(userId, n);
      const at = new Date().toISOString();
      const res = await sendEvent(mirror, { type: "notification", data: { channel: "email", kind: n.kind, projectId: "p",
        roomId: n.roomId, userId, threadId: n.threadId, inboxNotificationId: n.id, createdAt: at, triggeredAt: at } });
      assert.equal(res.status, 200);
    };

    test("a notification read or deleted in the app, and one never announced, are followed within a pass", async () => {
      const user = uniqueId("reader");
      const [read, deleted, kept, silent] = ["in_read", "in_deleted", "in_kept", "in_silent"].map((s) => uniqueId(s));
      for (const id of [read, deleted, kept]) await notify(user, notification(id));
      await waitFor("the announced notifications", async () => (await rowsOf(user)).length === 3);
      assert.ok((await rowsOf(user)).every((r) => r.read_at === null && r.deleted_at === null));

      double.markNotificationRead(user, read);
      double.deleteNotification(user, deleted);
      double.setNotification(user, notification(silent));
      const rows = await waitFor("the pass to follow the inbox", async () => {
        const byId = Object.fromEntries((await rowsOf(user)).map((r) => [r.inbox_notification_id, r]));
        return byId[read]?.read_at && byId[deleted]?.deleted_at && byId[silent] ? byId : null;
      }, 20000);
      assert.equal(rows[kept].read_at, null, "an unread one stays unread");
      assert.equal(rows[kept].deleted_at, null);
      assert.equal(rows[silent].deleted_at, null);
      assert.equal(rows[read].deleted_at, null);
      const unread = await db.query(`SELECT COUNT(*) AS n FROM ${p}notifications
        WHERE user_id = ? AND read_at IS NULL AND deleted_at IS NULL`, [user]);
      assert.equal(Number(unread[0].n), 2, "the report of unread notifications is right");
    });

    test("a user known only from a room's usersAccesses gets every page of a 120-notification inbox", async () => {
      const user = uniqueId("paged");
      const roomId = uniqueId("accesses");
      await liveblocks.createRoom(roomId, { usersAccesses: { [user]: ["room:write"] } });
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
      const base = Date.now();
      const ids = Array.from({ length: 120 }, (_, i) => `in_${String(i).padStart(3, "0")}_${user}`);
      ids.forEach((id, i) => double.setNotification(user, notification(id,
        { notifiedAt: new Date(base - i * 1000).toISOString(), readAt: i % 2 ? new Date(base).toISOString() : null })));
      await waitFor("all 120 notifications", async () => (await rowsOf(user)).length === 120, 30000);
      const rows = await rowsOf(user);
      assert.deepEqual(rows.map((r) => r.inbox_notification_id), [...ids].sort());
      assert.equal(rows.filter((r) => r.read_at !== null).length, 60);
      const pages = double.requests.filter((r) => r.path === `/v2/users/${encodeURIComponent(user)}/inbox-notifications`);
      assert.ok(pages.length >= 3, `three pages of 50 were read (${pages.length} requests)`);
    });

    test("groups and their members: from empty over two pages, a member removed and a group deleted within a pass", async () => {
      const tag = uniqueId("grp");
      const ids = Array.from({ length: 150 }, (_, i) => `${tag}-${String(i).padStart(3, "0")}`);
      ids.forEach((id, i) => double.setGroup(id, [`${tag}-alice`, `${tag}-bob`], i === 7 ? { tenantId: "t-old" } : {}));
      const live = async () => (await db.query(`SELECT group_id, organization_id, scopes, deleted_at FROM ${p}groups
        WHERE group_id LIKE ? ORDER BY group_id`, [`${tag}-%`])).filter((g) => g.deleted_at === null);
      await waitFor("all 150 groups", async () => (await live()).length === 150, 20000);
      const rows = await live();
      assert.equal(rows[7].organization_id, "t-old", "the older contract's tenantId");
      assert.equal(rows[0].organization_id, "default");
      assert.deepEqual(parseJsonColumn(rows[0].scopes), { mention: true });
      const members = await db.query(`SELECT COUNT(*) AS n FROM ${p}group_members WHERE group_id LIKE ?`, [`${tag}-%`]);
      assert.equal(Number(members[0].n), 300);

      double.setGroup(ids[0], [`${tag}-alice`]);  // bob left the first group
      double.deleteGroup(ids[1]);
      await waitFor("the change and the deletion", async () => {
        const [gone] = await db.query(`SELECT deleted_at FROM ${p}groups WHERE group_id = ?`, [ids[1]]);
        const left = await db.query(`SELECT user_id FROM ${p}group_members WHERE group_id = ?`, [ids[0]]);
        return gone.deleted_at !== null && left.length === 1 && left[0].user_id === `${tag}-alice`;
      }, 20000);
      assert.equal((await db.query(`SELECT 1 FROM ${p}group_members WHERE group_id = ?`, [ids[1]])).length, 0);
    });

    test("version history: each version with its Yjs document, read once; a deleted one followed", async () => {
      const roomId = uniqueId("versioned");
      await liveblocks.createRoom(roomId);
      await liveblocks.putYdoc(roomId, tiptapUpdate("Draft", "first words"));
      const first = await double.createVersion(roomId, { authors: ["alice", "bob"] });
      await liveblocks.putYdoc(roomId, tiptapUpdate("Draft", "second words"));
      const second = await double.createVersion(roomId, { legacy: true });
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
      const versions = () => db.query(`SELECT v.version_id, v.authors, v.deleted_at, y.text, y.deleted_at AS content_deleted_at
        FROM ${p}room_versions v LEFT JOIN ${p}room_version_ydocs y ON y.room_id = v.room_id AND y.version_id = v.version_id
        WHERE v.room_id = ? ORDER BY v.created_at`, [roomId]);
      const rows = await waitFor("both versions with their content", async () => {
        const found = await versions();
        return found.length === 2 && found.every((v) => v.text !== null) ? found : null;
      }, 20000);
      assert.deepEqual(rows.map((v) => [v.version_id, parseJsonColumn(v.authors), v.deleted_at]),
        [[first, ["alice", "bob"], null], [second, [], null]], "authors, or none in the older shape");
      assert.match(rows[0].text, /first words/);
      assert.match(rows[1].text, /second words/);
      const [state] = await db.query(`SELECT hex(state) AS state FROM ${p}room_version_ydocs WHERE version_id = ?`, [first]);
      assert.ok(String(state.state).length > 10, "the binary state is kept");

      await sleep(5000);  // two more passes: the history is listed again, the content is not read again
      for (const id of [first, second]) {
        const reads = double.requests.filter((r) => r.path === `/v2/rooms/${encodeURIComponent(roomId)}/versions/${id}/yjs`).length;
        assert.equal(reads, 1, `the Yjs document of ${id} was read once`);
      }
      assert.ok(double.requests.filter((r) => r.path === `/v2/rooms/${encodeURIComponent(roomId)}/versions`).length >= 3);

      double.deleteVersion(roomId, first);
      await waitFor("the deleted version followed", async () => {
        const [v] = (await versions()).filter((x) => x.version_id === first);
        return v.deleted_at !== null && v.content_deleted_at !== null;
      }, 20000);
      assert.equal((await versions()).find((x) => x.version_id === second).deleted_at, null);
    });

    test("users' notification and room subscription settings, in both cursor places, followed within a pass", async () => {
      const [alice, bob] = [uniqueId("settings-a"), uniqueId("settings-b")];
      const roomId = uniqueId("settings-room");
      await liveblocks.createRoom(roomId, { usersAccesses: { [alice]: ["room:write"], [bob]: ["room:write"] } });
      const rooms = Object.fromEntries(Array.from({ length: 60 }, (_, i) =>
        [`${roomId}-${String(i).padStart(2, "0")}`, { threads: "all", textMentions: "mine" }]));
      double.setUserSettings(alice, { channels: { email: { thread: true, textMention: false } }, rooms });
      double.setUserSettings(bob, { channels: {}, rooms: { [roomId]: { threads: "none", textMentions: "none" } }, metaCursor: true });
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
      const subscriptions = (user) => db.query(`SELECT room_id, threads, text_mentions FROM ${p}room_subscription_settings
        WHERE user_id = ? AND deleted_at IS NULL ORDER BY room_id`, [user]);
      // Each user's channels and room subscriptions are two targets, read in either order.
      const channelsOf = async (user) =>
        (await db.query(`SELECT settings FROM ${p}notification_settings WHERE user_id = ?`, [user]))[0];
      await waitFor("both users' settings", async () => (await subscriptions(alice)).length === 60 &&
        (await subscriptions(bob)).length === 1 && (await channelsOf(alice)) !== undefined, 20000);
      const channels = await channelsOf(alice);
      assert.deepEqual(parseJsonColumn(channels.settings), { email: { thread: true, textMention: false } });
      assert.deepEqual({ ...(await subscriptions(bob))[0] }, { room_id: roomId, threads: "none", text_mentions: "none" });

      delete rooms[`${roomId}-00`];
      rooms[`${roomId}-01`] = { threads: "replies_and_mentions", textMentions: "none" };
      double.setUserSettings(alice, { channels: { email: { thread: false, textMention: false } }, rooms });
      double.deleteUserSettings(bob);
      await waitFor("the changes followed", async () => {
        const a = await subscriptions(alice);
        const [c] = await db.query(`SELECT settings, deleted_at FROM ${p}notification_settings WHERE user_id = ?`, [bob]);
        return a.length === 59 && a[0].threads === "replies_and_mentions" && c?.deleted_at !== null &&
          (await subscriptions(bob)).length === 0;
      }, 20000);
    });

    test("thread subscriptions: read after each of the thread's webhooks and by the pass; an unsubscribe and a deleted thread followed", async () => {
      const roomId = uniqueId("followed");
      await liveblocks.createRoom(roomId);
      const { threadId } = double.createThread(roomId, { userId: "alice", body: textBody("follow me") });
      double.subscribe(roomId, threadId, "alice");
      double.subscribe(roomId, threadId, "bob");
      assert.equal((await sendEvent(mirror, threadEvent("threadCreated", roomId, threadId, { createdBy: "alice" }))).status, 200);
      const followers = () => db.query(`SELECT user_id, kind, room_id, deleted_at FROM ${p}thread_subscriptions
        WHERE thread_id = ? ORDER BY user_id`, [threadId]);
      const live = async () => (await followers()).filter((f) => f.deleted_at === null).map((f) => f.user_id);
      await waitFor("both followers", async () => (await live()).length === 2, 20000);
      assert.deepEqual((await followers()).map((f) => [f.user_id, f.kind, f.room_id]),
        [["alice", "thread", roomId], ["bob", "thread", roomId]]);
      // No webhook says bob unsubscribed and carol subscribed: the pass finds out.
      double.unsubscribe(roomId, threadId, "bob");
      double.subscribe(roomId, threadId, "carol");
      await waitFor("the changes followed by the pass", async () => (await live()).join() === "alice,carol", 20000);
      double.deleteThread(roomId, threadId);
      assert.equal((await sendEvent(mirror, threadEvent("threadDeleted", roomId, threadId))).status, 200);
      await waitFor("a deleted thread's followers gone", async () => (await live()).length === 0, 20000);
    });

    test("feeds and their messages, in both contracts, times in ms: an edit, a deletion and a deleted feed followed within a pass", async () => {
      const [roomId, other] = [uniqueId("feeds"), uniqueId("feeds-sdk")];
      for (const id of [roomId, other]) await liveblocks.createRoom(id);
      double.setFeed(roomId, "chat", { type: "chat", name: "General" });
      for (let i = 0; i < 25; i++) double.setFeedMessage(roomId, "chat", `m${String(i).padStart(2, "0")}`, { content: `hello ${i}` });
      double.setFeed(roomId, "log", { type: "log" });
      double.setFeedMessage(roomId, "log", "l1", { content: "started" });
      double.setFeed(other, "news", { tags: ["a", "b"] }, { sdkShape: true });
      double.setFeedMessage(other, "news", "n1", { content: "one" });
      for (const id of [roomId, other]) assert.equal((await sendEvent(mirror, roomEvent("roomCreated", id))).status, 200);
      const messages = (room) => db.query(`SELECT feed_id, message_id, data, created_at_ms, updated_at_ms FROM ${p}feed_messages
        WHERE room_id = ? AND deleted_at IS NULL ORDER BY feed_id, message_id`, [room]);
      await waitFor("every feed's messages, over two pages", async () =>
        (await messages(roomId)).length === 26 && (await messages(other)).length === 1, 20000);
      const [chat] = await db.query(`SELECT metadata, created_at_ms, updated_at_ms FROM ${p}feeds WHERE room_id = ? AND feed_id = 'chat'`, [roomId]);
      assert.deepEqual(parseJsonColumn(chat.metadata), { type: "chat", name: "General" });
      assert.ok(Math.abs(Number(chat.created_at_ms) - Date.now()) < 60000, `a time in ms: ${chat.created_at_ms}`);
      const [news] = await db.query(`SELECT metadata FROM ${p}feeds WHERE room_id = ?`, [other]);
      assert.deepEqual(parseJsonColumn(news.metadata), { tags: ["a", "b"] });
      assert.deepEqual(parseJsonColumn((await messages(roomId))[0].data), { content: "hello 0" });

      double.setFeedMessage(roomId, "chat", "m00", { content: "edited" });
      double.deleteFeedMessage(roomId, "chat", "m01");
      double.deleteFeed(roomId, "log");
      const logFeed = async () => (await db.query(`SELECT deleted_at FROM ${p}feeds WHERE room_id = ? AND feed_id = 'log'`, [roomId]))[0];
      await waitFor("the edit and the deletions of a message and a feed followed", async () => {
        const rows = await messages(roomId);
        return rows.length === 24 && JSON.stringify(parseJsonColumn(rows[0].data)) === JSON.stringify({ content: "edited" }) &&
          (await logFeed()).deleted_at !== null;
      }, 20000);
      assert.deepEqual((await messages(roomId)).map((m) => m.message_id).slice(0, 3), ["m00", "m02", "m03"]);
    });

    // Before the budget test, whose 200 users make a whole cycle of the passes last ~30 s.
    test("a 429 storm slows the passes and loses nothing", async () => {
      const user = uniqueId("storm");
      const n = uniqueId("in_storm");
      await notify(user, notification(n));
      await waitFor("the notification", async () => (await rowsOf(user)).length === 1);
      double.state.inbox429 = 1;  // Retry-After: 1 s
      const from = Date.now();
      double.markNotificationRead(user, n);
      await sleep(4000);
      const during = double.requests.filter((r) => r.at >= from && r.path.endsWith("/inbox-notifications")).length;
      double.state.inbox429 = null;
      // One background worker, held back a second after each 429: a handful, not a flood.
      assert.ok(during <= 8, `inbox reads during the storm: ${during}`);
      const [row] = await waitFor("the read notification after the storm", async () => {
        const rows = await rowsOf(user);
        return rows[0]?.read_at ? rows : null;
      }, 30000);
      assert.equal(row.deleted_at, null);
      assert.equal(mirror.proc.exitCode, null, "serve is still running");
    });

    test("the budget is never exceeded while webhooks keep being mirrored", async () => {
      // 200 users to read every 2 s is 100 requests a second: five times the budget.
      const roomId = uniqueId("crowd");
      const users = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [uniqueId(`u${i}`), ["room:write"]]));
      await liveblocks.createRoom(roomId, { usersAccesses: users });
      const from = Date.now();
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
      const inboxReadsSince = (at) => double.requests.filter((r) => r.at >= at && r.path.endsWith("/inbox-notifications")).length;
      await waitFor("the passes to be busy", async () => inboxReadsSince(from) >= 30, 15000);
      const rooms = Array.from({ length: 10 }, () => uniqueId("busy"));
      for (const id of rooms) {
        await liveblocks.createRoom(id);
        await liveblocks.setStorage(id, { id });
      }
      const sent = Date.now();
      for (const id of rooms) assert.equal((await sendEvent(mirror, storageUpdated(id))).status, 200);
      await waitFor("every webhook's document", async () =>
        (await db.query(`SELECT COUNT(*) AS n FROM ${p}documents WHERE room_id IN (${rooms.map(() => "?").join(", ")})`, rooms))[0].n == rooms.length,
      15000);
      const converged = Date.now() - sent;
      await sleep(3000);
      const busiest = busiestSecond(double.requests, from);
      assert.ok(busiest <= 2 * BUDGET, `at most ${BUDGET} a second plus a burst of ${BUDGET}: ${busiest}`);
      const seconds = (Date.now() - from) / 1000;
      const all = double.requests.filter((r) => r.at >= from).length;
      assert.ok(all <= BUDGET * seconds + BUDGET, `${all} requests in ${seconds} s`);
      const inboxReads = inboxReadsSince(sent);
      assert.ok(inboxReads >= 30, `the passes went on (${inboxReads} inbox reads since the webhooks)`);
      const metrics = await (await fetch(`http://127.0.0.1:${mirror.port}/metrics`)).text();
      assert.match(metrics, new RegExp(`^lbmirror_rest_budget_per_second ${BUDGET}$`, "m"));
      assert.match(metrics, /^lbmirror_rest_budget_granted_total\{priority="background"\} [1-9]/m);
      assert.match(metrics, /^lbmirror_rest_budget_granted_total\{priority="foreground"\} [1-9]/m);
      assert.match(metrics, /^lbmirror_rest_budget_wait_seconds_total\{priority="background"\} [0-9.]*[1-9]/m,
        "the passes waited for the budget");
      assert.match(metrics, /^lbmirror_pass_targets_marked\{pass="inbox"\} [1-9]/m);
      assert.match(metrics, /^lbmirror_pass_last_start_timestamp_seconds\{pass="inbox"\} [1-9]/m);
      console.log(`# busiest second: ${busiest} requests, ${all} in ${seconds} s (budget ${BUDGET}/s); webhooks mirrored in ${converged} ms`);
    });
  });
}

for (const backend of backends("rename")) {
  describe(`a room renamed, on ${backend.name}`, () => {
    const { db, prefix: p } = backend;
    const roomPrefix = uniqueId("renamed") + "-";
    let double;
    let mirror;
    before(async () => {
      backend.cleanup();
      double = await startLiveblocksDouble(env.baseUrl);
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url,
        extraArgs: [...backend.extraArgs, "--reconcile-interval", "1s", "--room-prefix", roomPrefix, "--inbox-interval", "0"] });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      await double.close();
      backend.cleanup();
    });

    test("reconciliation ends with the new id fully mirrored and the old one deleted", async () => {
      const [oldId, newId] = [`${roomPrefix}old`, `${roomPrefix}new`];
      const liveObject = (data) => ({ liveblocksType: "LiveObject", data });
      await liveblocks.createRoom(oldId, { metadata: { title: "plans" } });
      await liveblocks.setStorage(oldId, { title: "plans", flow: liveObject({
        nodes: { liveblocksType: "LiveMap", data: { a: liveObject({ id: "a", position: { x: 1, y: 2 }, data: { label: "A" } }) } },
        edges: { liveblocksType: "LiveMap", data: {} } }) });
      await liveblocks.putYdoc(oldId, tiptapUpdate("Plans", "renamed text"));
      const { threadId, commentId } = double.createThread(oldId, { userId: "alice", body: textBody("still here") });
      for (const event of [roomEvent("roomCreated", oldId), storageUpdated(oldId), ydocUpdated(oldId), threadEvent("threadCreated", oldId, threadId)]) {
        assert.equal((await sendEvent(mirror, event)).status, 200);
      }
      const live = async (table, roomId) => (await db.query(
        `SELECT deleted_at FROM ${p}${table} WHERE room_id = ?`, [roomId]))[0]?.deleted_at === null;
      await waitFor("the room mirrored", async () => (await live("documents", oldId)) && (await live("ydocs", oldId)) &&
        (await live("threads", oldId)) && (await db.query(`SELECT 1 FROM ${p}flow_nodes WHERE room_id = ?`, [oldId])).length === 1);
      const [before] = await db.query(`SELECT data FROM ${p}documents WHERE room_id = ?`, [oldId]);

      const renamed = await fetch(`${double.url}/v2/rooms/${encodeURIComponent(oldId)}/update-room-id`, {
        method: "POST", headers: { authorization: "Bearer sk_localdev", "content-type": "application/json" },
        body: JSON.stringify({ newRoomId: newId }) });
      assert.equal(renamed.status, 200);
      assert.equal((await renamed.json()).id, newId);

      await waitFor("the new id mirrored and the old one deleted", async () => {
        // A difference throws, so that a timeout says what was left.
        const state = {};
        for (const table of ["rooms", "documents", "ydocs", "threads"]) {
          state[table] = [await live(table, newId), await live(table, oldId)];
        }
        const wrong = Object.entries(state).filter(([, [fresh, old]]) => !fresh || old);
        if (wrong.length) throw new Error(`live [new, old]: ${JSON.stringify(Object.fromEntries(wrong))}`);
        return true;
      }, 20000);
      const [room] = await db.query(`SELECT metadata FROM ${p}rooms WHERE room_id = ?`, [newId]);
      assert.deepEqual(parseJsonColumn(room.metadata), { title: "plans" });
      const [document] = await db.query(`SELECT data FROM ${p}documents WHERE room_id = ?`, [newId]);
      assert.deepEqual(parseJsonColumn(document.data), parseJsonColumn(before.data), "the same Storage");
      const [ydoc] = await db.query(`SELECT text FROM ${p}ydocs WHERE room_id = ?`, [newId]);
      assert.match(ydoc.text, /renamed text/);
      const [thread] = await db.query(`SELECT room_id, deleted_at FROM ${p}threads WHERE thread_id = ?`, [threadId]);
      assert.deepEqual({ ...thread }, { room_id: newId, deleted_at: null }, "the thread moved with its room");
      const [comment] = await db.query(`SELECT room_id, body_text, deleted_at FROM ${p}comments WHERE comment_id = ?`, [commentId]);
      assert.deepEqual({ ...comment }, { room_id: newId, body_text: "still here", deleted_at: null });
      const nodes = await db.query(`SELECT room_id, node_id FROM ${p}flow_nodes WHERE room_id IN (?, ?) ORDER BY room_id`, [newId, oldId]);
      assert.deepEqual(nodes.map((n) => [n.room_id, n.node_id]), [[newId, "a"]], "the diagram is the new room's only");
    });
  });
}

for (const backend of backends("resume")) {
  describe(`a pass interrupted by a restart, on ${backend.name}`, () => {
    const { db, prefix: p } = backend;
    let double;
    before(async () => {
      backend.cleanup();
      double = await startLiveblocksDouble(env.baseUrl);
    });
    after(async () => {
      await double.close();
      backend.cleanup();
    });

    test("resumes after the last user it marked, and then waits for its interval", async () => {
      const base = uniqueId("resume");
      const users = ["a", "b", "c", "d"].map((x) => `${base}-${x}`);
      const roomId = uniqueId("resume-room");
      await liveblocks.createRoom(roomId, { usersAccesses: Object.fromEntries(users.map((u) => [u, ["room:write"]])) });
      const args = [...backend.extraArgs, "--inbox-interval", "24h"];
      let mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url, extraArgs: args });
      assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
      await waitFor("the room", async () => (await db.query(`SELECT room_id FROM ${p}rooms WHERE room_id = ?`, [roomId])).length === 1);
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      // What a pass stopped after marking its second user leaves behind.
      const value = JSON.stringify({ marked: 2, after: users[1], started_ms: Date.now() - 1000, finished_ms: null });
      await db.query(`DELETE FROM ${p}checkpoints WHERE name = 'pass:inbox'`);
      await db.query(`INSERT INTO ${p}checkpoints (name, value, updated_at) VALUES ('pass:inbox', ?, ?)`, [value, Date.now()]);
      const from = Date.now();
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url, extraArgs: args });
      try {
        const readsOf = (user) => double.requests.filter((r) => r.at >= from && r.path === `/v2/users/${user}/inbox-notifications`).length;
        await waitFor("the users after the last one marked read", async () => readsOf(users[2]) === 1 && readsOf(users[3]) === 1, 15000);
        assert.match(mirror.log(), new RegExp(`pass inbox: resuming after "inbox:${users[1]}" \\(2 targets marked so far\\)`));
        await sleep(1500);
        assert.deepEqual(users.map(readsOf), [0, 0, 1, 1], "the first two not again, the last two once");
        const [checkpoint] = await db.query(`SELECT value FROM ${p}checkpoints WHERE name = 'pass:inbox'`);
        const progress = parseJsonColumn(checkpoint.value);
        assert.equal(progress.marked, 4);
        assert.ok(progress.finished_ms > 0, "finished");
      } finally {
        assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      }
    });
  });
}

for (const backend of backends("hot")) {
  describe(`a room's version history and feeds read soon after its edits, on ${backend.name}`, () => {
    const { db, prefix: p } = backend;
    let double;
    let mirror;
    before(async () => {
      backend.cleanup();
      double = await startLiveblocksDouble(env.baseUrl);
      double.state.feeds = true;
      // The daily passes run once at start, before the room exists; then only the edit's reads.
      mirror = await startMirror({ databaseUrl: backend.databaseUrl, baseUrl: double.url,
        extraArgs: [...backend.extraArgs, "--versions-interval", "24h", "--feeds-interval", "24h", "--after-edit-delay", "2s"] });
    });
    after(async () => {
      assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
      await double.close();
      backend.cleanup();
    });

    test("a Storage edit has the room's versions and feeds read after --after-edit-delay, once for a burst", async () => {
      const roomId = uniqueId("hot");
      await liveblocks.createRoom(roomId);
      await liveblocks.putYdoc(roomId, tiptapUpdate("Draft", "hot words"));
      const version = await double.createVersion(roomId, { authors: ["alice"] });
      double.setFeed(roomId, "chat", { type: "chat" });
      double.setFeedMessage(roomId, "chat", "m1", { content: "hi" });
      await liveblocks.setStorage(roomId, { edited: 1 });
      const sent = Date.now();
      for (let i = 0; i < 3; i++) assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
      await waitFor("the version and the feed's message", async () =>
        (await db.query(`SELECT version_id FROM ${p}room_versions WHERE room_id = ?`, [roomId])).length === 1 &&
        (await db.query(`SELECT message_id FROM ${p}feed_messages WHERE room_id = ?`, [roomId])).length === 1, 15000);
      assert.equal((await db.query(`SELECT version_id FROM ${p}room_versions WHERE room_id = ?`, [roomId]))[0].version_id, version);
      const listings = double.requests.filter((r) => r.path === `/v2/rooms/${encodeURIComponent(roomId)}/versions`);
      assert.equal(listings.length, 1, "one read for the burst of webhooks");
      assert.ok(listings[0].at - sent >= 1900, `read ${listings[0].at - sent} ms after the edit, not before the delay`);
    });
  });
}

describe("a server without the inbox and groups listings (the dev server answers 501) and with dummy feeds", () => {
  const [backend] = backends("nowh501", { servers: false });
  let mirror;
  before(async () => {
    backend.cleanup();
    mirror = await startMirror({ databaseUrl: backend.databaseUrl,
      extraArgs: ["--inbox-interval", "1s", "--groups-interval", "1s", "--feeds-interval", "1s"] });
  });
  after(async () => {
    assert.equal((await mirror.stop()).code, 0, mirror.log().slice(-3000));
    backend.cleanup();
  });

  test("says so once, completes the target and goes on mirroring", async () => {
    const user = uniqueId("unsupported");
    const roomId = uniqueId("r501");
    await liveblocks.createRoom(roomId, { usersAccesses: { [user]: ["room:write"] } });
    await liveblocks.setStorage(roomId, { ok: true });
    assert.equal((await sendEvent(mirror, roomEvent("roomCreated", roomId))).status, 200);
    await waitFor("the 501 noticed", async () => /answers 501 \(not implemented\) to inbox:/.test(mirror.log()), 20000);
    const [target] = await backend.db.query(
      "SELECT dirty_seq, done_seq, last_error FROM liveblocks_targets WHERE kind = 'inbox' AND scope_id = ?", [user]);
    assert.equal(target.dirty_seq, target.done_seq, "completed, not failing");
    assert.equal(target.last_error, null);
    await waitFor("the groups' 501 noticed", async () => /answers 501 \(not implemented\) to groups:project/.test(mirror.log()));
    await sleep(2500);
    for (const kind of ["inbox", "groups"]) {
      assert.equal(mirror.log().match(new RegExp(`answers 501 \\(not implemented\\) to ${kind}:`, "g")).length, 1,
        `said once for ${kind}`);
    }
    // The dev server's feeds answer 200 with fixed data it calls a dummy: not offered, no rows.
    await waitFor("the feeds' dummy noticed", async () => /answers with a dummy response to feeds:/.test(mirror.log()));
    await sleep(2500);
    assert.equal(mirror.log().match(/answers with a dummy response to feeds:/g).length, 1, "said once for feeds");
    assert.equal((await backend.db.query("SELECT COUNT(*) AS n FROM liveblocks_feeds"))[0].n, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${mirror.port}/metrics`)).text();
    assert.match(metrics, /^lbmirror_pass_unsupported\{pass="feeds"\} 1$/m);
    assert.match(metrics, /^lbmirror_pass_unsupported\{pass="inbox"\} 1$/m);
    assert.match(metrics, /^lbmirror_pass_unsupported\{pass="groups"\} 1$/m);
    assert.equal((await sendEvent(mirror, storageUpdated(roomId))).status, 200);
    await waitFor("the document still mirrored", async () =>
      (await backend.db.query("SELECT data FROM liveblocks_documents WHERE room_id = ?", [roomId])).length === 1);
  });
});
