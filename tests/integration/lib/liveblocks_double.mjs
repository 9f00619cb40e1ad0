// A test double for the Liveblocks REST endpoints the official dev server does not implement
// (threads, comments, reactions and inbox notifications read with the secret key; it answers
// 501 for those) or implements only in part (GET /v2/rooms ignores limit and startingAfter).
// It serves threads from memory in the JSON shapes Liveblocks documents for its thread and
// inbox notification endpoints (a user's inbox listed 1-50 a page with startingAfter and a
// top-level nextCursor, newest first), paginates the dev server's room list as the room
// listing is documented, and forwards every other request to the real dev server, so lbmirror
// sees one Liveblocks API. It also lists the project's groups (GET /v2/groups, 1-100 a page,
// startingAfter) and the version history of rooms given one (GET /v2/rooms/{roomId}/versions,
// 1-100 a page, cursor; GET …/versions/{id}/yjs) and users' settings
// (GET /v2/users/{userId}/notification-settings and …/room-subscription-settings, 1-50 a
// page), who follows each of its threads (GET …/threads/{threadId}/subscriptions, one page)
// and, once `state.feeds` is set, rooms' feeds and their messages (GET /v2/rooms/{roomId}/feeds
// and …/feeds/{feedId}/messages, 1-100 a page, cursor and a top-level nextCursor, or all in one
// {data} for a room set with `sdkShape`; times in ms); until then those go to the dev server,
// which answers them with its dummies. `state.inbox429` answers inbox listings 429 with
// Retry-After while set; `requests` records when each request came (for rate checks). A room rename
// (POST /v2/rooms/{roomId}/update-room-id {"newRoomId"}, which the dev server answers 501) is
// played through the dev server as Liveblocks describes its outcome: the old id is gone and
// the new one has the same accesses, metadata, Storage, Yjs document and threads.
import http from "node:http";
import crypto from "node:crypto";

const SECRET_KEY = "sk_localdev";
const now = () => new Date().toISOString();
const newId = (prefix) => `${prefix}_${crypto.randomBytes(8).toString("hex")}`;

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

export function textBody(...paragraphs) {
  return { version: 1, content: paragraphs.map((text) => ({ type: "paragraph", children: [{ text }] })) };
}

export async function startLiveblocksDouble(devServerUrl) {
  const threads = new Map();        // `${roomId}\0${threadId}` -> Thread
  const notifications = new Map();  // `${userId}\0${id}` -> InboxNotification
  const groups = new Map();         // id -> Group
  const versions = new Map();       // roomId -> [{id, createdAt, authors, yjs}], newest first
  const userSettings = new Map();   // userId -> {channels, rooms: {roomId: {threads, textMentions}}, metaCursor}
  const followers = new Map();      // `${roomId}\0${threadId}` -> Map(userId -> createdAt)
  const feeds = new Map();          // roomId -> {sdkShape, feeds: Map(feedId -> {feed, messages: Map(id -> message)})}
  const key = (a, b) => `${a}\u0000${b}`;
  const state = { roomPages: 0, roomPageDelayMs: 0, inbox429: null, feeds: false };
  // One page of `items` at the request's cursor and limit (1-100, default 20).
  const cursorPage = (url, items) => {
    const limit = Number(url.searchParams.get("limit") ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return null;
    const start = url.searchParams.get("cursor") ? Number(Buffer.from(url.searchParams.get("cursor"), "base64").toString()) : 0;
    const next = start + limit < items.length ? Buffer.from(String(start + limit)).toString("base64") : null;
    return { nextCursor: next, data: items.slice(start, start + limit) };
  };
  const requests = [];  // {at, method, path}

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://double");
    const auth = req.headers.authorization;
    requests.push({ at: Date.now(), method: req.method, path: url.pathname });
    const inboxList = req.method === "GET" && url.pathname.match(/^\/v2\/users\/([^/]+)\/inbox-notifications$/);
    if (inboxList) {
      if (!auth) return send(res, 401, { error: "MISSING_SECRET_KEY", message: "Missing secret key" });
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      if (state.inbox429) {
        res.writeHead(429, { "content-type": "application/json", "retry-after": String(state.inbox429) });
        return res.end(JSON.stringify({ error: "TOO_MANY_REQUESTS", message: "Too many requests" }));
      }
      const limit = Number(url.searchParams.get("limit") ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
        return send(res, 422, { error: "INVALID_LIMIT", message: "limit must be between 1 and 50" });
      }
      const userId = decodeURIComponent(inboxList[1]);
      const all = [...notifications.entries()].filter(([k]) => k.startsWith(key(userId, "")))
        .map(([, n]) => n).sort((a, b) => b.notifiedAt.localeCompare(a.notifiedAt) || a.id.localeCompare(b.id));
      const after = url.searchParams.get("startingAfter");
      const start = after ? Number(Buffer.from(after, "base64url").toString()) : 0;
      const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString("base64url") : null;
      return send(res, 200, { nextCursor: next, data: all.slice(start, start + limit) });
    }
    const thread = url.pathname.match(/^\/v2\/rooms\/([^/]+)\/threads\/([^/]+)$/);
    const inbox = url.pathname.match(/^\/v2\/users\/([^/]+)\/inbox-notifications\/([^/]+)$/);
    if (req.method === "GET" && (thread || inbox)) {
      if (!auth) return send(res, 401, { error: "MISSING_SECRET_KEY", message: "Missing secret key" });
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      if (thread) {
        const found = threads.get(key(decodeURIComponent(thread[1]), decodeURIComponent(thread[2])));
        return found ? send(res, 200, found)
                     : send(res, 404, { error: "RESOURCE_NOT_FOUND", message: "Thread not found" });
      }
      const found = notifications.get(key(decodeURIComponent(inbox[1]), decodeURIComponent(inbox[2])));
      return found ? send(res, 200, found)
                   : send(res, 404, { error: "RESOURCE_NOT_FOUND", message: "Inbox notification not found" });
    }
    if (req.method === "GET" && url.pathname === "/v2/groups") {
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      const limit = Number(url.searchParams.get("limit") ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        return send(res, 422, { error: "INVALID_LIMIT", message: "limit must be between 1 and 100" });
      }
      const all = [...groups.values()].sort((a, b) => a.id.localeCompare(b.id));
      const after = url.searchParams.get("startingAfter");
      const start = after ? Number(Buffer.from(after, "base64url").toString()) : 0;
      const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString("base64url") : null;
      return send(res, 200, { data: all.slice(start, start + limit), nextCursor: next });
    }
    const versionList = req.method === "GET" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/versions$/);
    const versionYjs = req.method === "GET" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/versions\/([^/]+)\/yjs$/);
    if (versionList || versionYjs) {
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      const roomId = decodeURIComponent((versionList ?? versionYjs)[1]);
      const exists = (await fetch(`${devServerUrl}/v2/rooms/${encodeURIComponent(roomId)}`, { headers: { authorization: auth } })).status === 200;
      if (!exists) return send(res, 404, { error: "ROOM_NOT_FOUND", message: `Room with id "${roomId}" not found.` });
      const room = versions.get(roomId) ?? [];
      if (versionYjs) {
        const version = room.find((v) => v.id === decodeURIComponent(versionYjs[2]));
        if (!version) return send(res, 404, { error: "VERSION_NOT_FOUND", message: "Version not found" });
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end(version.yjs);
      }
      const limit = Number(url.searchParams.get("limit") ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        return send(res, 422, { error: "INVALID_LIMIT", message: "limit must be between 1 and 100" });
      }
      const start = url.searchParams.get("cursor") ? Number(Buffer.from(url.searchParams.get("cursor"), "base64").toString()) : 0;
      const next = start + limit < room.length ? Buffer.from(String(start + limit)).toString("base64") : null;
      // Newest first; the older contract's items carry "type" and "kind" as well.
      const items = room.slice(start, start + limit).map(({ yjs, legacy, ...v }) => legacy ? { type: "historyVersion", kind: "yjs", ...v } : v);
      return send(res, 200, { data: items, nextCursor: next });
    }
    const notificationSettings = req.method === "GET" && url.pathname.match(/^\/v2\/users\/([^/]+)\/notification-settings$/);
    const roomSettings = req.method === "GET" && url.pathname.match(/^\/v2\/users\/([^/]+)\/room-subscription-settings$/);
    if (notificationSettings || roomSettings) {
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      const userId = decodeURIComponent((notificationSettings ?? roomSettings)[1]);
      const settings = userSettings.get(userId);
      if (!settings) return send(res, 404, { error: "USER_NOT_FOUND", message: "User not found" });
      if (notificationSettings) return send(res, 200, settings.channels);
      const limit = Number(url.searchParams.get("limit") ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
        return send(res, 422, { error: "INVALID_LIMIT", message: "limit must be between 1 and 50" });
      }
      const rooms = Object.entries(settings.rooms).sort(([a], [b]) => a.localeCompare(b))
        .map(([roomId, s]) => ({ ...s, roomId }));
      const start = url.searchParams.get("startingAfter") ? Number(Buffer.from(url.searchParams.get("startingAfter"), "base64url").toString()) : 0;
      const next = start + limit < rooms.length ? Buffer.from(String(start + limit)).toString("base64url") : null;
      // Both documented places of the cursor: the top level, or under "meta" (the older shape).
      const page = rooms.slice(start, start + limit);
      return send(res, 200, settings.metaCursor ? { data: page, meta: { nextCursor: next } } : { nextCursor: next, data: page });
    }
    const subscriptions = req.method === "GET" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/threads\/([^/]+)\/subscriptions$/);
    if (subscriptions) {
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      const [roomId, threadId] = [decodeURIComponent(subscriptions[1]), decodeURIComponent(subscriptions[2])];
      if (!threads.has(key(roomId, threadId))) return send(res, 404, { error: "THREAD_NOT_FOUND", message: "Thread not found" });
      const data = [...(followers.get(key(roomId, threadId)) ?? new Map())]
        .map(([userId, createdAt]) => ({ kind: "thread", subjectId: threadId, createdAt, userId }));
      return send(res, 200, { data });
    }
    const feedList = req.method === "GET" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/feeds$/);
    const messageList = req.method === "GET" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/feeds\/([^/]+)\/messages$/);
    if (state.feeds && (feedList || messageList)) {
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      const roomId = decodeURIComponent((feedList ?? messageList)[1]);
      const exists = (await fetch(`${devServerUrl}/v2/rooms/${encodeURIComponent(roomId)}`, { headers: { authorization: auth } })).status === 200;
      if (!exists) return send(res, 404, { error: "ROOM_NOT_FOUND", message: `Room with id "${roomId}" not found.` });
      const room = feeds.get(roomId) ?? { sdkShape: false, feeds: new Map() };
      let items;
      if (feedList) {
        items = [...room.feeds.values()].map(({ feed }) => feed);
      } else {
        const feed = room.feeds.get(decodeURIComponent(messageList[2]));
        if (!feed) return send(res, 404, { error: "FEED_NOT_FOUND", message: "Feed not found" });
        items = [...feed.messages.values()];
      }
      if (room.sdkShape) return send(res, 200, { data: items });
      const page = cursorPage(url, items);
      return page ? send(res, 200, page) : send(res, 422, { error: "INVALID_LIMIT", message: "limit must be between 1 and 100" });
    }
    const rename = req.method === "POST" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/update-room-id$/);
    if (rename) {
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const { newRoomId } = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      if (typeof newRoomId !== "string" || !newRoomId) return send(res, 422, { error: "INVALID_ROOM_ID", message: "newRoomId is required" });
      const renamed = await renameRoom(decodeURIComponent(rename[1]), newRoomId, auth);
      return renamed ? send(res, 200, renamed) : send(res, 404, { error: "ROOM_NOT_FOUND", message: "Room not found" });
    }
    const roomList = req.method === "GET" && url.pathname === "/v2/rooms";
    const threadList = req.method === "GET" && url.pathname.match(/^\/v2\/rooms\/([^/]+)\/threads$/);
    if (roomList || threadList) {
      if (!auth) return send(res, 401, { error: "MISSING_SECRET_KEY", message: "Missing secret key" });
      if (auth !== `Bearer ${SECRET_KEY}`) return send(res, 403, { error: "INVALID_SECRET_KEY", message: "Invalid secret key" });
    }
    if (threadList) {
      const roomId = decodeURIComponent(threadList[1]);
      return send(res, 200, { data: [...threads.values()].filter((t) => t.roomId === roomId) });
    }
    if (roomList) {
      // The dev server ignores limit and startingAfter; paginate its full list as the API
      // documents (limit 1-100, default 20; nextCursor null on the last page).
      state.roomPages++;
      if (state.roomPageDelayMs) await new Promise((r) => setTimeout(r, state.roomPageDelayMs));
      const all = (await (await fetch(`${devServerUrl}/v2/rooms`, { headers: { authorization: auth } })).json()).data;
      const limit = Math.min(100, Math.max(1, Number(url.searchParams.get("limit") ?? 20)));
      const after = url.searchParams.get("startingAfter");
      const start = after ? Number(Buffer.from(after, "base64url").toString()) : 0;
      const page = all.slice(start, start + limit);
      const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString("base64url") : null;
      return send(res, 200, { nextCursor: next, data: page });
    }
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const upstream = await fetch(devServerUrl + req.url, {
      method: req.method,
      headers: Object.fromEntries(Object.entries({ authorization: auth, "content-type": req.headers["content-type"] })
        .filter(([, v]) => v !== undefined)),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    // X-LB-Warn too: the dev server says with it which answers are dummies.
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json",
      ...(upstream.headers.get("x-lb-warn") ? { "x-lb-warn": upstream.headers.get("x-lb-warn") } : {}) });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  async function renameRoom(oldId, newId, auth) {
    const dev = (method, path, body, type = "application/json") => fetch(devServerUrl + path,
      { method, body, headers: { authorization: auth, ...(body ? { "content-type": type } : {}) } });
    const from = `/v2/rooms/${encodeURIComponent(oldId)}`;
    const to = `/v2/rooms/${encodeURIComponent(newId)}`;
    const old = await dev("GET", from);
    if (old.status !== 200) return null;
    const room = await old.json();
    const created = await dev("POST", "/v2/rooms", JSON.stringify({ id: newId, defaultAccesses: room.defaultAccesses,
      usersAccesses: room.usersAccesses, groupsAccesses: room.groupsAccesses, metadata: room.metadata }));
    if (created.status !== 200) throw new Error(`rename: create ${newId}: ${created.status}`);
    const storage = await dev("GET", `${from}/storage`);
    if (storage.status === 200) await dev("POST", `${to}/storage`, await storage.text());
    const ydoc = await dev("GET", `${from}/ydoc-binary`);
    const state = Buffer.from(await ydoc.arrayBuffer());
    if (ydoc.status === 200 && state.length > 2) await dev("PUT", `${to}/ydoc`, state, "application/octet-stream");
    await dev("DELETE", from);
    for (const [k, t] of [...threads.entries()].filter(([, t]) => t.roomId === oldId)) {
      threads.delete(k);
      t.roomId = newId;
      for (const c of t.comments) c.roomId = newId;
      threads.set(key(newId, t.id), t);
    }
    return (await dev("GET", to)).json();
  }

  const port = await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));

  const get = (roomId, threadId) => {
    const t = threads.get(key(roomId, threadId));
    if (!t) throw new Error(`no thread ${threadId}`);
    return t;
  };
  const comment = (t, commentId) => {
    const c = t.comments.find((x) => x.id === commentId);
    if (!c) throw new Error(`no comment ${commentId}`);
    return c;
  };
  const touch = (t) => { t.updatedAt = now(); };

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
    thread: (roomId, threadId) => structuredClone(get(roomId, threadId)),
    createThread(roomId, { userId, body, metadata = {}, attachments = [] }) {
      const id = newId("th");
      const at = now();
      const first = { type: "comment", id: newId("cm"), threadId: id, roomId, userId, createdAt: at,
        reactions: [], attachments: structuredClone(attachments), metadata: {}, body };
      threads.set(key(roomId, id), { type: "thread", id, roomId, createdAt: at, updatedAt: at, metadata,
        resolved: false, visibility: "public", comments: [first] });
      return { threadId: id, commentId: first.id };
    },
    addComment(roomId, threadId, { userId, body, metadata = {} }) {
      const t = get(roomId, threadId);
      const c = { type: "comment", id: newId("cm"), threadId, roomId, userId, createdAt: now(),
        reactions: [], attachments: [], metadata, body };
      t.comments.push(c);
      touch(t);
      return c.id;
    },
    editComment(roomId, threadId, commentId, body, attachments) {
      const t = get(roomId, threadId);
      Object.assign(comment(t, commentId), { body, editedAt: now() },
        attachments ? { attachments: structuredClone(attachments) } : {});
      touch(t);
    },
    // A deleted comment stays listed with deletedAt and without body; deleting the last live
    // comment deletes the thread.
    deleteComment(roomId, threadId, commentId) {
      const t = get(roomId, threadId);
      const c = comment(t, commentId);
      delete c.body;
      c.deletedAt = now();
      c.reactions = [];
      c.attachments = [];
      touch(t);
      if (t.comments.every((x) => x.deletedAt)) threads.delete(key(roomId, threadId));
    },
    addReaction(roomId, threadId, commentId, emoji, userId) {
      const t = get(roomId, threadId);
      const c = comment(t, commentId);
      let group = c.reactions.find((r) => r.emoji === emoji);
      if (!group) c.reactions.push((group = { emoji, createdAt: now(), users: [] }));
      if (!group.users.some((u) => u.id === userId)) group.users.push({ id: userId });
      touch(t);
    },
    removeReaction(roomId, threadId, commentId, emoji, userId) {
      const t = get(roomId, threadId);
      const c = comment(t, commentId);
      const group = c.reactions.find((r) => r.emoji === emoji);
      if (group) group.users = group.users.filter((u) => u.id !== userId);
      c.reactions = c.reactions.filter((r) => r.users.length > 0);
      touch(t);
    },
    setThreadMetadata(roomId, threadId, metadata) {
      const t = get(roomId, threadId);
      t.metadata = { ...t.metadata, ...metadata };
      touch(t);
    },
    setCommentMetadata(roomId, threadId, commentId, metadata) {
      const t = get(roomId, threadId);
      const c = comment(t, commentId);
      c.metadata = { ...c.metadata, ...metadata };
      touch(t);
    },
    setResolved(roomId, threadId, resolved) {
      const t = get(roomId, threadId);
      t.resolved = resolved;
      touch(t);
    },
    deleteThread(roomId, threadId) {
      threads.delete(key(roomId, threadId));
    },
    setNotification(userId, notification) {
      notifications.set(key(userId, notification.id), structuredClone(notification));
    },
    deleteNotification(userId, id) {
      notifications.delete(key(userId, id));
    },
    // A group as GET /v2/groups lists it; `tenantId` instead of `organizationId` gives the older
    // contract's shape.
    setGroup(id, memberIds, { tenantId } = {}) {
      const at = now();
      const previous = groups.get(id);
      groups.set(id, { type: "group", id, ...(tenantId ? { tenantId } : { organizationId: "default" }),
        createdAt: previous?.createdAt ?? at, updatedAt: at, scopes: { mention: true },
        members: memberIds.map((m) => previous?.members.find((x) => x.id === m) ?? { id: m, addedAt: at }) });
    },
    deleteGroup(id) {
      groups.delete(id);
    },
    // A user's notification settings (channels) and room subscription settings (by room);
    // `metaCursor` pages the latter with the cursor under "meta".
    setUserSettings(userId, { channels = {}, rooms = {}, metaCursor = false } = {}) {
      userSettings.set(userId, structuredClone({ channels, rooms, metaCursor }));
    },
    deleteUserSettings(userId) {
      userSettings.delete(userId);
    },
    // A version of a room: a snapshot of its Yjs document as the dev server holds it now
    // (as POST /v2/rooms/{roomId}/versions makes one); `legacy` lists it in the older shape.
    async createVersion(roomId, { authors = [], legacy = false } = {}) {
      const res = await fetch(`${devServerUrl}/v2/rooms/${encodeURIComponent(roomId)}/ydoc-binary`,
        { headers: { authorization: `Bearer ${SECRET_KEY}` } });
      if (res.status !== 200) throw new Error(`version of ${roomId}: ydoc-binary answered ${res.status}`);
      const version = { id: newId("vh"), createdAt: now(), authors: authors.map((id) => ({ id })),
        yjs: Buffer.from(await res.arrayBuffer()), legacy };
      if (legacy && !authors.length) delete version.authors;
      versions.set(roomId, [version, ...(versions.get(roomId) ?? [])]);
      return version.id;
    },
    deleteVersion(roomId, id) {
      versions.set(roomId, (versions.get(roomId) ?? []).filter((v) => v.id !== id));
    },
    subscribe(roomId, threadId, userId) {
      if (!followers.has(key(roomId, threadId))) followers.set(key(roomId, threadId), new Map());
      followers.get(key(roomId, threadId)).set(userId, now());
    },
    unsubscribe(roomId, threadId, userId) {
      followers.get(key(roomId, threadId))?.delete(userId);
    },
    // A feed (created, or its metadata changed) as the feeds endpoints give it: times in ms.
    // `sdkShape` lists the room's feeds and messages as {data} alone, with no cursor.
    setFeed(roomId, feedId, metadata = {}, { sdkShape } = {}) {
      if (!feeds.has(roomId)) feeds.set(roomId, { sdkShape: false, feeds: new Map() });
      const room = feeds.get(roomId);
      if (sdkShape !== undefined) room.sdkShape = sdkShape;
      const at = Date.now();
      const previous = room.feeds.get(feedId);
      room.feeds.set(feedId, { feed: { feedId, metadata, createdAt: previous?.feed.createdAt ?? at, updatedAt: at },
        messages: previous?.messages ?? new Map() });
    },
    deleteFeed(roomId, feedId) {
      feeds.get(roomId)?.feeds.delete(feedId);
    },
    // A message posted or edited (`id` given again), or deleted.
    setFeedMessage(roomId, feedId, id, data) {
      const feed = feeds.get(roomId).feeds.get(feedId);
      const at = Date.now();
      feed.messages.set(id, { id, data, createdAt: feed.messages.get(id)?.createdAt ?? at, updatedAt: at });
    },
    deleteFeedMessage(roomId, feedId, id) {
      feeds.get(roomId).feeds.get(feedId).messages.delete(id);
    },
    markNotificationRead(userId, id) {
      const n = notifications.get(key(userId, id));
      if (!n) throw new Error(`no notification ${id}`);
      n.readAt = now();
    },
  };
}
