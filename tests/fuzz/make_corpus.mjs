// Writes the decoder fuzzer's seed corpus: random multi-client Yjs documents and one document
// per editor layout, each a v1 update made by npm yjs.
//   node tests/fuzz/make_corpus.mjs DIR [COUNT]
import fs from "node:fs";
import path from "node:path";
import { randomUpdate } from "../integration/yjs_random.mjs";
import { tiptapUpdate, lexicalUpdate, blockNoteUpdate } from "../integration/yjs_editors.mjs";

const [dir, count = "64"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: make_corpus.mjs DIR [COUNT]");
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
for (let seed = 1; seed <= Number(count); ++seed) {
  fs.writeFileSync(path.join(dir, `random-${seed}.bin`), randomUpdate(seed));
}
fs.writeFileSync(path.join(dir, "tiptap.bin"), tiptapUpdate("Title", "Hello bold world"));
fs.writeFileSync(path.join(dir, "lexical.bin"), lexicalUpdate(["One", "Two"]));
fs.writeFileSync(path.join(dir, "blocknote.bin"),
  blockNoteUpdate([{ text: "Parent", children: [{ text: "Child" }] }]));
fs.writeFileSync(path.join(dir, "empty.bin"), Buffer.from([0, 0]));
