// Random Yjs documents for the decoder's tests: 1-3 clients editing maps, arrays, nested types,
// text with formatting and embeds, XML trees and the Lexical layout, synced at random, merged
// into one update (Y.encodeStateAsUpdate). The same seed always gives the same bytes.
import * as Y from "yjs";

export function rng(seed) {  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["alpha", "beta", "γάμμα", "日本語", "שלום", "🎉", "a😀b", "x", "", "line\nbreak", "quote\"s", "<tag>&"];

export function randomUpdate(seed) {
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

