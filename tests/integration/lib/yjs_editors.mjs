// Yjs documents laid out the way editors store them (Tiptap, Lexical, BlockNote), each returned
// as one v1 update (Y.encodeStateAsUpdate).
import * as Y from "yjs";

// A Tiptap-style document: an XML fragment "default" with a heading and a paragraph with a
// bold mark, plus a plain Y.Text.
export function tiptapUpdate(title, paragraph, { doc = new Y.Doc() } = {}) {
  const fragment = doc.getXmlFragment("default");
  doc.transact(() => {
    fragment.delete(0, fragment.length);
    const heading = new Y.XmlElement("heading");
    heading.setAttribute("level", "1");
    heading.insert(0, [new Y.XmlText(title)]);
    const p = new Y.XmlElement("paragraph");
    const text = new Y.XmlText();
    text.insert(0, paragraph);
    text.format(0, Math.min(5, paragraph.length), { bold: true });
    p.insert(0, [text]);
    fragment.insert(0, [heading, p]);
  });
  return Y.encodeStateAsUpdate(doc);
}

// A Lexical document as @lexical/yjs lays it out: the root Y.XmlText "root" holds one
// Y.XmlText per block (attributes __type, __format, __indent, __dir), and each text node is an
// embedded Y.Map of its properties followed by its characters.
export function lexicalUpdate(paragraphs, { doc = new Y.Doc() } = {}) {
  const root = doc.get("root", Y.XmlText);
  doc.transact(() => {
    for (const words of paragraphs) {
      const block = new Y.XmlText();
      block.setAttribute("__type", "paragraph");
      block.setAttribute("__format", 0);
      block.setAttribute("__indent", 0);
      block.setAttribute("__dir", "ltr");
      const node = new Y.Map();
      node.set("__type", "text");
      node.set("__format", 1);
      node.set("__style", "");
      node.set("__mode", 0);
      node.set("__detail", 0);
      block.insertEmbed(0, node);
      block.insert(1, words);
      root.insertEmbed(root.length, block);
    }
  });
  return Y.encodeStateAsUpdate(doc);
}

// A BlockNote document: blockGroup > blockContainer (id) > a content block with its props,
// children nested in a blockGroup of their own, in the XML fragment "document-store".
export function blockNoteUpdate(blocks, { doc = new Y.Doc() } = {}) {
  const fragment = doc.getXmlFragment("document-store");
  let next = 0;
  const group = (list) => {
    const g = new Y.XmlElement("blockGroup");
    g.insert(0, list.map(({ type = "paragraph", text, children = [] }) => {
      const container = new Y.XmlElement("blockContainer");
      container.setAttribute("id", `block-${next++}`);
      const content = new Y.XmlElement(type);
      content.setAttribute("textColor", "default");
      content.setAttribute("backgroundColor", "default");
      content.setAttribute("textAlignment", "left");
      const t = new Y.XmlText();
      t.insert(0, text);
      t.format(0, Math.min(4, text.length), { italic: true });
      content.insert(0, [t]);
      container.insert(0, children.length ? [content, group(children)] : [content]);
      return container;
    }));
    return g;
  };
  doc.transact(() => fragment.insert(0, [group(blocks)]));
  return Y.encodeStateAsUpdate(doc);
}

// A Y.Doc whose root map "outline" holds maps nested `depth` levels deep (an outline or mind
// map taken to the extreme).
export function nestedMapsUpdate(depth) {
  const doc = new Y.Doc();
  doc.transact(() => {
    let map = doc.getMap("outline");
    for (let level = 1; level < depth; level++) {
      const child = new Y.Map();
      map.set("child", child);
      child.set("level", level);
      map = child;
    }
  });
  return Y.encodeStateAsUpdate(doc);
}
