// Writes tests/testdata/yjs/cases.json: Yjs updates made by the npm `yjs` package, one per
// thing the decoder must get right (each content kind, deletes, concurrent inserts and their
// order, formatting, XML, subdocuments, encodings at their edges), with the JSON view and the
// text yjs itself gives for them (yjs_reference.mjs), and malformed updates with the error
// they must give. The C++ tests (tests/yjs/document_test.cc) read the file, so they run
// without Node. Run again after changing a case:
//   node tests/yjs/make_cases.mjs   (after npm ci in tests/integration)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { referenceViews } from "../integration/lib/yjs_reference.mjs";
import { tiptapUpdate, lexicalUpdate, blockNoteUpdate } from "../integration/lib/yjs_editors.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
// The same module instance as the helpers' (the integration suites' node_modules).
const Y = await import(pathToFileURL(path.join(here, "..", "integration", "node_modules", "yjs", "dist", "yjs.mjs")));
const out = path.join(here, "..", "testdata", "yjs", "cases.json");

const doc = (clientID = 1) => {
  const d = new Y.Doc();
  d.clientID = clientID;
  return d;
};
const update = (d) => Y.encodeStateAsUpdate(d);
// Two clients edit from the same start, then their updates are merged (in both orders).
function concurrent(setup, editA, editB) {
  const a = doc(1), b = doc(2);
  setup?.(a);
  Y.applyUpdate(b, update(a));
  editA(a);
  editB(b);
  Y.applyUpdate(a, update(b));
  return update(a);
}

const cases = [];
const add = (name, bytes) => {
  const views = referenceViews(bytes);
  cases.push({ name, update: Buffer.from(bytes).toString("base64"), json: views.json, text: views.text });
};
const bad = (name, bytes, error) => cases.push({ name, update: Buffer.from(bytes).toString("base64"), error });

// ---- content kinds ----
{
  const d = doc();
  d.getText("t").insert(0, "hello");
  add("string content (Y.Text)", update(d));
}
{
  const d = doc();
  d.getArray("a").insert(0, [1, -2, 3.5, "s", true, false, null, { k: [1, { n: "x" }] }]);
  add("any content: numbers, strings, booleans, null, objects in an array", update(d));
}
{
  const d = doc();
  d.getMap("m").set("big", 2 ** 53 - 1);
  d.getMap("m").set("small", -(2 ** 31));
  d.getMap("m").set("float", 0.1);
  add("any content: integers at their edges and a float", update(d));
}
{
  const d = doc();
  d.getArray("a").insert(0, [new Uint8Array([0, 1, 2, 255])]);
  add("binary content", update(d));
}
{
  const d = doc();
  const t = d.getText("t");
  t.insert(0, "ab");
  t.insertEmbed(1, { image: "x.png" });
  add("embed content", update(d));
}
{
  const d = doc();
  const t = d.getText("t");
  t.insert(0, "plain bold");
  t.format(6, 4, { bold: true });
  t.insert(10, " link", { link: "https://example.com" });
  add("format content: a delta with attributes", update(d));
}
{
  const d = doc();
  const m = d.getMap("m");
  const inner = new Y.Map();
  inner.set("list", Y.Array.from([1, 2]));
  m.set("inner", inner);
  m.set("text", new Y.Text("nested text"));
  add("type content: nested maps, arrays and texts", update(d));
}
{
  const d = doc();
  const sub = new Y.Doc({ guid: "sub-guid" });
  d.getMap("m").set("sub", sub);
  add("doc content: a subdocument", update(d));
}
// ---- deletes ----
{
  const d = doc();
  const t = d.getText("t");
  t.insert(0, "abcdef");
  t.delete(1, 3);
  add("deleted characters inside a string", update(d));
}
{
  const d = doc();
  const a = d.getArray("a");
  a.insert(0, [1, 2, 3]);
  a.delete(0, 3);
  d.getMap("m").set("k", 1);
  d.getMap("m").delete("k");
  add("everything deleted: empty array and map", update(d));
}
{
  const d = doc();
  const m = d.getMap("m");
  m.set("k", 1);
  m.set("k", 2);
  m.set("k", 3);
  add("a map key overwritten: the last value wins", update(d));
}
// ---- concurrent inserts ----
add("concurrent inserts at the same place: ordered by client",
  concurrent((d) => d.getText("t").insert(0, "ac"), (d) => d.getText("t").insert(1, "X"),
    (d) => d.getText("t").insert(1, "Y")));
add("concurrent map writes of one key: the higher client wins",
  concurrent(null, (d) => d.getMap("m").set("k", "from 1"), (d) => d.getMap("m").set("k", "from 2")));
add("concurrent delete and insert",
  concurrent((d) => d.getArray("a").insert(0, [1, 2, 3]), (d) => d.getArray("a").delete(1, 1),
    (d) => d.getArray("a").insert(2, ["new"])));
// ---- XML ----
{
  const d = doc();
  const f = d.getXmlFragment("prosemirror");
  const p = new Y.XmlElement("paragraph");
  p.setAttribute("align", "center");
  const text = new Y.XmlText();
  p.insert(0, [text]);
  f.insert(0, [p]);
  text.insert(0, "xml text");
  text.format(0, 3, { bold: {} });
  add("XML: an element with an attribute and formatted text", update(d));
}
add("Tiptap document", tiptapUpdate("A title", "A paragraph."));
add("Lexical document", lexicalUpdate(["first", "second"]));
add("BlockNote document", blockNoteUpdate([{ type: "heading", text: "Roadmap" },
  { text: "first", children: [{ text: "nested" }] }]));
// ---- encodings at their edges ----
{
  const d = doc(2 ** 32 - 1);  // a client id of 5 varuint bytes
  d.getText("t").insert(0, "x".repeat(200));  // lengths past one varuint byte
  add("a large client id and a long string", update(d));
}
{
  const d = doc();
  d.getText("t").insert(0, "é 中 😀 ok");
  d.getText("t").delete(4, 1);  // half of the surrogate pair's item boundary
  add("UTF-16 lengths of multi-byte characters", update(d));
}
{
  const d = doc();
  d.getText("t").insert(0, "a😀bc");
  d.getText("t").delete(3, 1);  // "b": after a character of two UTF-16 units
  add("a delete after a character outside the BMP", update(d));
}
add("an insert after a character outside the BMP, by another client",
  concurrent((d) => d.getText("t").insert(0, "😀😀z"), (d) => d.getText("t").insert(2, "-"),
    (d) => d.getText("t").insert(4, "+")));
{
  const d = doc();
  for (let i = 0; i < 20; i++) d.getArray("a").push([i]);
  add("many items of one client", update(d));
}
// ---- malformed ----
{
  const d = doc();
  d.getText("t").insert(0, "hello");
  const bytes = update(d);
  bad("truncated update", bytes.slice(0, bytes.length - 3), "malformed Yjs update");
  const bad8 = Uint8Array.from(bytes);
  const at = Buffer.from(bytes).indexOf(Buffer.from("hello"));
  bad8[at] = 0xff;
  bad("invalid UTF-8 in a string", bad8, "invalid UTF-8");
}
bad("a variable-length integer that never ends", new Uint8Array(12).fill(0xff), "too long");
bad("empty input", new Uint8Array(0), "unexpected end");

fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(cases, null, 1) + "\n");
console.log(`${cases.length} cases written to ${path.relative(process.cwd(), out)}`);
