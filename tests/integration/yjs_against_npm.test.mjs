// lbmirror's Yjs decoder against the npm `yjs` package: random documents edited by several
// clients concurrently and merged, fixed editor fixtures, and malformed input. The JSON view
// and the text must equal the reference computed by yjs from the same bytes.
//   LBMIRROR_YJS_SEEDS=2000 node --test tests/integration/yjs_against_npm.test.mjs   (default 300)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as Y from "yjs";
import { env } from "./lib/harness.mjs";
import { referenceViews } from "./lib/yjs_reference.mjs";
import { randomUpdate, rng } from "./lib/yjs_random.mjs";

const SEEDS = Number(process.env.LBMIRROR_YJS_SEEDS ?? 300);
const FIRST_SEED = Number(process.env.LBMIRROR_YJS_FIRST_SEED ?? 1);

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
    const update = randomUpdate(seed);
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
  const update = Buffer.from(randomUpdate(4242));
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

test("values without a JSON form and strings that are not UTF-8 are handled as yjs does", () => {
  // NaN and the infinities (lib0 float64 values) read as null, as JSON.stringify writes them.
  const doc = new Y.Doc();
  const map = doc.getMap("numbers");
  map.set("nan", NaN);
  map.set("inf", Infinity);
  map.set("neg", -Infinity);
  map.set("pi", 3.25);
  doc.getArray("list").insert(0, [NaN, 1]);
  const numbers = Y.encodeStateAsUpdate(doc);
  const numbersFile = path.join(dir, "numbers.bin");
  fs.writeFileSync(numbersFile, numbers);
  const [line] = decodeAll([numbersFile]);
  assert.deepStrictEqual(line.json, referenceViews(numbers).json);
  assert.deepStrictEqual(line.json, { list: [null, 1], numbers: { inf: null, nan: null, neg: null, pi: 3.25 } });

  // lib0 decodes strings with a fatal UTF-8 decoder, so yjs refuses this update; so does lbmirror.
  const text = new Y.Doc();
  text.getText("t").insert(0, "héllo");
  const bytes = Buffer.from(Y.encodeStateAsUpdate(text));
  const at = bytes.indexOf(Buffer.from("é"));
  bytes[at + 1] = 0x28;  // C3 28: a lead byte without its continuation
  assert.throws(() => Y.applyUpdate(new Y.Doc(), bytes));
  const badFile = path.join(dir, "bad-utf8.bin");
  fs.writeFileSync(badFile, bytes);
  assert.match(decodeAll([badFile])[0].error, /malformed Yjs update: invalid UTF-8 in the string at byte \d+/);
});
