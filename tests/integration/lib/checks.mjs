// What the mirror holds compared with what the API answers now, for the end-to-end suites:
// threads (with their comments and reactions), and whole rooms (room row, Storage, Yjs).
import { isDeepStrictEqual } from "node:util";
import { stringifyCommentBody } from "@liveblocks/node";
import { liveblocks, parseJsonColumn } from "./harness.mjs";
import { referenceViews } from "./yjs_reference.mjs";

export const threadEvent = (type, roomId, threadId, extra = {}) =>
  ({ type, data: { projectId: "p", roomId, threadId, ...extra, updatedAt: new Date().toISOString() } });

// The thread, its comments and reactions as the mirror holds them.
export async function mirroredThread(db, p, threadId) {
  const thread = (await db.query(`SELECT * FROM ${p}threads WHERE thread_id = ?`, [threadId]))[0];
  const comments = await db.query(`SELECT * FROM ${p}comments WHERE thread_id = ? ORDER BY created_at, comment_id`, [threadId]);
  const reactions = await db.query(`SELECT comment_id, emoji, user_id FROM ${p}comment_reactions WHERE thread_id = ?`, [threadId]);
  return {
    deleted: !thread || thread.deleted_at !== null,
    resolved: thread ? Number(thread.resolved) === 1 : null,
    metadata: thread ? parseJsonColumn(thread.metadata) : null,
    room: thread?.room_id,
    comments: comments.map((c) => ({ id: c.comment_id, userId: c.user_id, deleted: c.deleted_at !== null,
      body: c.body === null ? null : parseJsonColumn(c.body), text: c.body_text,
      metadata: parseJsonColumn(c.metadata), edited: c.edited_at !== null })),
    reactions: reactions.map((r) => `${r.comment_id} ${r.emoji} ${r.user_id}`).sort(),
  };
}

// The same picture from the Liveblocks test double (the API for threads); null when gone.
export async function expectedThread(double, roomId, threadId) {
  let t;
  try {
    t = double.thread(roomId, threadId);
  } catch {
    return null;
  }
  const comments = [];
  for (const c of [...t.comments].sort((a, b) => (a.createdAt + a.id).localeCompare(b.createdAt + b.id))) {
    comments.push({ id: c.id, userId: c.userId, deleted: Boolean(c.deletedAt), body: c.body ?? null,
      text: c.body ? await stringifyCommentBody(c.body, { format: "plain" }) : "",
      metadata: c.metadata, edited: Boolean(c.editedAt) });
  }
  return { deleted: false, resolved: t.resolved, metadata: t.metadata, room: roomId, comments,
    reactions: t.comments.flatMap((c) => c.reactions.flatMap((r) => r.users.map((u) => `${c.id} ${r.emoji} ${u.id}`))).sort() };
}

// Null when the mirrored thread equals the API's, else a description of the difference.
export async function threadDifference(db, p, double, roomId, threadId) {
  const expected = await expectedThread(double, roomId, threadId);
  const got = await mirroredThread(db, p, threadId);
  const equal = expected === null
    ? got.deleted && got.comments.every((c) => c.deleted) && got.reactions.length === 0
    : isDeepStrictEqual(got, expected);
  return equal ? null : `thread ${threadId}: ${JSON.stringify({ got, expected }).slice(0, 1500)}`;
}

// The differences between a mirrored room (room row unless room is false, Storage, Yjs
// document and the given threads) and the API now; empty when they are equal.
export async function roomDifferences(db, p, roomId, { double, threadIds = [], room: withRoom = true } = {}) {
  const out = [];
  if (withRoom) {
    const room = (await db.query(`SELECT metadata, deleted_at FROM ${p}rooms WHERE room_id = ?`, [roomId]))[0];
    const roomTruth = await liveblocks.room(roomId);
    if (!room || room.deleted_at !== null) out.push(`room ${roomId}: not mirrored`);
    else if (!isDeepStrictEqual(parseJsonColumn(room.metadata), roomTruth.json.metadata)) out.push(`room ${roomId}: metadata differs`);
  }

  const storage = (await liveblocks.storage(roomId)).json;
  const doc = (await db.query(`SELECT data FROM ${p}documents WHERE room_id = ? AND deleted_at IS NULL`, [roomId]))[0];
  if (!doc || !isDeepStrictEqual(parseJsonColumn(doc.data), storage)) {
    out.push(`storage ${roomId}: ${JSON.stringify({ got: doc?.data ?? null, want: storage }).slice(0, 400)}`);
  }

  const binary = await liveblocks.ydocBinary(roomId);
  if (binary.length > 2) {
    // hex(): the same in MySQL and SQLite, and readable through the sqlite3 CLI.
    const ydoc = (await db.query(`SELECT data, hex(state) AS state FROM ${p}ydocs WHERE room_id = ? AND deleted_at IS NULL`, [roomId]))[0];
    if (!ydoc) out.push(`ydoc ${roomId}: not mirrored`);
    else if (String(ydoc.state ?? "").toLowerCase() !== binary.toString("hex")) out.push(`ydoc ${roomId}: binary state differs`);
    else if (!isDeepStrictEqual(parseJsonColumn(ydoc.data), referenceViews(binary).json)) out.push(`ydoc ${roomId}: JSON differs`);
  }
  for (const threadId of threadIds) {
    const difference = await threadDifference(db, p, double, roomId, threadId);
    if (difference) out.push(difference);
  }
  return out;
}
