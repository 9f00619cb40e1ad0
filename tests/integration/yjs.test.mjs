// lbmirror's Yjs decoder against the npm `yjs` package: random documents edited by several
// clients concurrently and merged, fixed editor fixtures, and malformed input. The JSON view
// and the text must equal the reference computed by yjs from the same bytes.
//   LBMIRROR_YJS_SEEDS=2000 node --test tests/integration/yjs.test.mjs   (default 300)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as Y from "yjs";
import { env } from "./harness.mjs";
import { referenceViews } from "./yjs_reference.mjs";

const SEEDS = Number(process.env.LBMIRROR_YJS_SEEDS ?? 300);
const FIRST_SEED = Number(process.env.LBMIRROR_YJS_FIRST_SEED ?? 1);

function rng(seed) {  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["alpha", "beta", "γάμμα", "日本語", "שלום", "🎉", "a😀b", "x", "", "line\nbreak", "quote\"s", "<tag>&"];

function generate(seed) {
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const int = (n) => Math.floor(r() * n);
  const primitive = () => pick([int(1000) - 500, r() * 10, true, false, null, pick(WORDS), { k: pick(WORDS), n: [1, 2] }, [int(5), "s"]]);
  const clients = Array.from({ length: 1 + int(3) }, (_, i) => {
    const d = new Y.Doc();
    d.clientID = 1000 + i * 7919 + seed;  // stable, distinct per client
    return d;
  });
  const sync = () => {
    for (const a of clients) for (const b of clients) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  };
  const randomText = (text) => {
    const len = text.length;
    const op = r();
    if (op < 0.5 || len === 0) text.insert(int(len + 1), pick(WORDS.filter(Boolean)), r() < 0.3 ? { bold: true } : r() < 0.1 ? { link: { href: "https://x.y/" + int(9) } } : undefined);
    else if (op < 0.7) text.delete(int(len), Math.min(1 + int(3), len - int(len) || 1));
    else if (op < 0.9) text.format(int(len), 1 + int(4), pick([{ bold: true }, { italic: true }, { bold: null }, { color: "#" + int(999) }]));
    else text.insertEmbed(int(len + 1), { image: "i" + int(9) });
  };
  const randomArray = (array, depth) => {
    const len = array.length;
    const op = r();
    if (op < 0.6 || len === 0) {
      const kind = r();
      let content;
      if (depth < 2 && kind < 0.15) { content = new Y.Map(); content.set("k", pick(WORDS)); }
      else if (depth < 2 && kind < 0.25) { content = new Y.Array(); content.insert(0, [int(9)]); }
      else if (depth < 2 && kind < 0.3) { content = new Y.Text("t" + int(9)); }
      else if (kind < 0.35) content = new Uint8Array([int(256), int(256)]);
      else content = primitive();
      array.insert(int(len + 1), [content]);
    } else if (op < 0.85) array.delete(int(len), 1);
    else {
      const target = array.get(int(len));
      if (target instanceof Y.Map) target.set("m" + int(3), primitive());
      else if (target instanceof Y.Array) target.insert(0, [primitive()]);
      else if (target instanceof Y.Text) randomText(target);
    }
  };
  const randomMap = (map) => {
    const op = r();
    const key = "k" + int(6);
    if (op < 0.6) map.set(key, primitive());
    else if (op < 0.75) { const m = new Y.Map(); m.set("inner", primitive()); map.set(key, m); }
    else if (op < 0.85) { const a = new Y.Array(); a.insert(0, [primitive(), primitive()]); map.set(key, a); }
    else map.delete(key);
  };
  const randomXml = (fragment) => {
    const len = fragment.length;
    const op = r();
    if (op < 0.5 || len === 0) {
      const block = new Y.XmlElement(pick(["paragraph", "heading", "blockquote"]));
      if (r() < 0.5) block.setAttribute("level", String(1 + int(3)));
      const text = new Y.XmlText();
      text.insert(0, pick(WORDS.filter(Boolean)));
      if (r() < 0.5) text.format(0, 1, { bold: true });
      block.insert(0, r() < 0.2 ? [text, new Y.XmlElement("hardBreak"), new Y.XmlText("after")] : [text]);
      fragment.insert(int(len + 1), [block]);
    } else if (op < 0.7) fragment.delete(int(len), 1);
    else {
      const block = fragment.get(int(len));
      const first = block instanceof Y.XmlElement ? block.get(0) : null;
      if (first instanceof Y.XmlText) randomText(first);
      else if (block instanceof Y.XmlElement) block.setAttribute("data-x", String(int(9)));
    }
  };
  const rounds = 1 + int(4);
  for (let round = 0; round < rounds; round++) {
    for (const d of clients) {
      const steps = 1 + int(8);
      for (let s = 0; s < steps; s++) {
        const which = int(5);
        if (which === 0) randomMap(d.getMap("map"));
        else if (which === 1) randomArray(d.getArray("list"), 0);
        else if (which === 2) randomText(d.getText("text"));
        else if (which === 3) randomXml(d.getXmlFragment("default"));
        else {
          // Lexical's layout: a root Y.XmlText whose blocks are embedded Y.XmlTexts holding a
          // Y.Map per text node followed by its characters.
          const root = d.get("root", Y.XmlText);
          const block = new Y.XmlText();
          block.setAttribute("__type", pick(["paragraph", "heading"]));
          const node = new Y.Map();
          node.set("__type", "text");
          node.set("__format", int(4));
          block.insertEmbed(0, node);
          block.insert(1, pick(WORDS.filter(Boolean)));
          root.insertEmbed(int(root.length + 1), block);
        }
      }
    }
    if (r() < 0.7) sync();
  }
  sync();
  // Give every used root some live content so its class can be read from the update.
  const doc = clients[0];
  if (doc.share.has("text") && doc.getText("text").length === 0) doc.getText("text").insert(0, "end");
  if (doc.share.has("list") && doc.getArray("list").length === 0) doc.getArray("list").insert(0, [1]);
  if (doc.share.has("default") && doc.getXmlFragment("default").length === 0) doc.getXmlFragment("default").insert(0, [new Y.XmlElement("paragraph")]);
  return Y.encodeStateAsUpdate(doc);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lbmirror-yjs-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));

function decodeAll(files) {
  let out;
  try {
    out = execFileSync(env.bin, ["ydoc", "decode", ...files], { encoding: "utf8", maxBuffer: 1 << 28 });
  } catch (error) {
    out = error.stdout;  // exit 1 when some failed; the lines say which
  }
  return out.trim().split("\n").map((line) => JSON.parse(line));
}

test(`random documents: JSON and text equal the yjs reference (${SEEDS} seeds from ${FIRST_SEED})`, () => {
  const files = [];
  const expected = new Map();
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const update = generate(seed);
    const file = path.join(dir, `seed-${seed}.bin`);
    fs.writeFileSync(file, update);
    files.push(file);
    expected.set(file, { seed, ...referenceViews(update) });
  }
  const failures = [];
  for (const line of decodeAll(files)) {
    const want = expected.get(line.file);
    try {
      assert.equal(line.error, undefined, `decoding failed: ${line.error}`);
      assert.deepStrictEqual(line.json, want.json);
      assert.equal(line.text, want.text);
    } catch (error) {
      failures.push(`seed ${want.seed}: ${error.message.slice(0, 1500)}`);
    }
  }
  assert.equal(failures.length, 0, `${failures.length} of ${SEEDS} seeds differ (rerun one with LBMIRROR_YJS_FIRST_SEED=N LBMIRROR_YJS_SEEDS=1):\n${failures.slice(0, 5).join("\n")}`);
});

test("editor fixtures: Tiptap, BlockNote-style nesting, Lexical, plain Y.Text", () => {
  const doc = new Y.Doc();
  const fragment = doc.getXmlFragment("default");
  const heading = new Y.XmlElement("heading");
  heading.setAttribute("level", "1");
  heading.insert(0, [new Y.XmlText("Launch plan")]);
  const list = new Y.XmlElement("bulletList");
  for (const item of ["first item", "second 日本語"]) {
    const li = new Y.XmlElement("listItem");
    const p = new Y.XmlElement("paragraph");
    const t = new Y.XmlText();
    t.insert(0, item);
    t.format(0, 5, { bold: true });
    p.insert(0, [t]);
    li.insert(0, [p]);
    list.insert(list.length, [li]);
  }
  fragment.insert(0, [heading, list]);
  const lexical = doc.get("root", Y.XmlText);
  for (const words of ["Hello Lexical", "Second paragraph"]) {
    const block = new Y.XmlText();
    block.setAttribute("__type", "paragraph");
    const node = new Y.Map();
    node.set("__type", "text");
    node.set("__format", 1);
    block.insertEmbed(0, node);
    block.insert(1, words);
    lexical.insertEmbed(lexical.length, block);
  }
  doc.getText("codemirror").insert(0, "line one\nline two");
  const update = Y.encodeStateAsUpdate(doc);
  const file = path.join(dir, "fixture.bin");
  fs.writeFileSync(file, update);
  const [line] = decodeAll([file]);
  const want = referenceViews(update);
  assert.deepStrictEqual(line.json, want.json);
  assert.equal(line.text, want.text);
  // Roots by name: codemirror, default (Tiptap), root (Lexical).
  assert.equal(line.text, "line one\nline two\nLaunch plan\nfirst item\nsecond 日本語\nHello Lexical\nSecond paragraph");
  // Lexical's root holds only blocks, so it reads as a sequence of attributed texts: nothing
  // of the layout is lost (compare the REST view "[object Object]Hello Lexical").
  assert.deepStrictEqual(line.json.root[0], { attributes: { __type: "paragraph" },
    delta: [{ insert: { __format: 1, __type: "text" } }, { insert: "Hello Lexical" }] });
  assert.deepStrictEqual(line.json.default[0], { nodeName: "heading", attributes: { level: "1" }, children: ["Launch plan"] });
});

test("truncated and corrupted updates are clear errors, never crashes", () => {
  const update = Buffer.from(generate(4242));
  const files = [];
  for (let cut = 0; cut < update.length; cut += Math.max(1, Math.floor(update.length / 150))) {
    const file = path.join(dir, `cut-${cut}.bin`);
    fs.writeFileSync(file, update.subarray(0, cut));
    files.push(file);
  }
  const r = rng(99);
  for (let i = 0; i < 300; i++) {
    const bytes = Buffer.from(update);
    for (let k = 0; k < 1 + Math.floor(r() * 4); k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    const file = path.join(dir, `flip-${i}.bin`);
    fs.writeFileSync(file, bytes);
    files.push(file);
  }
  const lines = decodeAll(files);
  assert.equal(lines.length, files.length, "every file gets an answer");
  for (const line of lines) {
    if (line.file.includes("cut-")) assert.match(line.error ?? "", /malformed Yjs update/, line.file);
    else assert.ok(line.error === undefined || /malformed Yjs update|over the limit/.test(line.error), line.error);
  }
  assert.equal(decodeAll([path.join(dir, "cut-0.bin")])[0].error.includes("unexpected end"), true);
});
