// The reference for lbmirror's Yjs views, computed with the npm `yjs` package: apply the update
// to a fresh Y.Doc (yjs integrates it), then serialize the resulting item tree by the rules in
// src/yjs/document.h. The same update decoded by lbmirror must give the same JSON and text.
import * as Y from "yjs";

const XML_REFS = (t) => t instanceof Y.XmlElement || t instanceof Y.XmlText || t instanceof Y.XmlHook;

function items(type) {
  const out = [];
  for (let n = type._start; n !== null; n = n.right) out.push(n);
  return out;
}

// Root classes are not in the update: infer them from content, as lbmirror does.
function rootClass(type) {
  if (type._start === null) return "map";
  let text = false;
  let xml = false;
  for (const pass of [0, 1]) {
    for (const n of items(type)) {
      if (pass === 0 && n.deleted) continue;
      const c = n.content;
      if (c instanceof Y.ContentString || c instanceof Y.ContentFormat || c instanceof Y.ContentEmbed) text = true;
      if (c instanceof Y.ContentType && XML_REFS(c.type)) xml = true;
    }
    if (text || xml) break;
  }
  if (text) return type._map.size === 0 ? "text" : "xmltext";
  return xml ? "fragment" : "array";
}

function value(v) {
  if (v instanceof Y.AbstractType) return typeJson(v, classOf(v));
  if (v instanceof Uint8Array) return { $binary: Buffer.from(v).toString("base64") };
  if (v instanceof Y.Doc) return { $doc: v.guid };
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v));
}

function classOf(t) {
  if (t instanceof Y.XmlElement) return "element";
  if (t instanceof Y.XmlText) return "xmltext";
  if (t instanceof Y.XmlHook) return "map";
  if (t instanceof Y.XmlFragment) return "fragment";
  if (t instanceof Y.Text) return "text";
  if (t instanceof Y.Map) return "map";
  return "array";
}

function mapJson(type) {
  const out = {};
  for (const [key, item] of type._map) {
    if (item.deleted || !item.countable) continue;
    const content = item.content.getContent();
    out[key] = value(content[content.length - 1]);
  }
  return out;
}

function sequenceJson(type) {
  const out = [];
  for (const n of items(type)) {
    if (n.deleted || !n.countable) continue;
    for (const v of n.content.getContent()) out.push(value(v));
  }
  return out;
}

function delta(type) {
  const ops = Y.Text.prototype.toDelta.call(type).map((op) => {
    const out = { insert: typeof op.insert === "string" ? op.insert : value(op.insert) };
    if (op.attributes) out.attributes = JSON.parse(JSON.stringify(op.attributes));
    return out;
  });
  if (ops.every((op) => typeof op.insert === "string" && !op.attributes)) return ops.map((op) => op.insert).join("");
  return ops;
}

function typeJson(type, cls) {
  switch (cls) {
    case "map": return mapJson(type);
    case "text": return delta(type);
    case "xmltext": return type._map.size === 0 ? delta(type) : { attributes: mapJson(type), delta: delta(type) };
    case "element": return { nodeName: type.nodeName, attributes: mapJson(type), children: sequenceJson(type) };
    default: return sequenceJson(type);
  }
}

function collectText(type, cls, blocks, state) {
  const flush = () => { if (state.current) blocks.push(state.current); state.current = ""; };
  if (cls === "text" || cls === "xmltext") {
    for (const n of items(type)) {
      if (n.deleted) continue;
      if (n.content instanceof Y.ContentString) state.current += n.content.str;
      else if (n.content instanceof Y.ContentType && (n.content.type instanceof Y.XmlText || n.content.type instanceof Y.Text || n.content.type instanceof Y.XmlElement)) {
        flush();
        collectText(n.content.type, classOf(n.content.type), blocks, state);
        flush();
      }
    }
    return;
  }
  if (cls === "element" || cls === "fragment") {
    if (cls === "element" && type.nodeName === "hardBreak") { state.current += "\n"; return; }
    let direct = false;
    for (const n of items(type)) {
      if (n.deleted || !(n.content instanceof Y.ContentType)) continue;
      const block = n.content.type instanceof Y.XmlText && n.content.type._map.size > 0;
      direct ||= n.content.type instanceof Y.XmlText && !block;
      if (block) flush();
      collectText(n.content.type, classOf(n.content.type), blocks, state);
      if (block) flush();
    }
    if (direct) flush();
  }
}

export function referenceViews(update) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  const json = {};
  const blocks = [];
  for (const [name, type] of [...doc.share].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (type._start === null && type._map.size === 0) continue;
    const cls = rootClass(type);
    json[name] = typeJson(type, cls);
    if (cls !== "map" && cls !== "array") {
      const state = { current: "" };
      collectText(type, cls, blocks, state);
      if (state.current) blocks.push(state.current);
    }
  }
  return { json, text: blocks.join("\n") };
}
