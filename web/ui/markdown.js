// A small Markdown renderer for model answers. It builds DOM nodes and sets text only through
// textContent, never innerHTML, so nothing the model writes can become markup or script.
// Blocks: paragraphs, ATX headings, fenced code (an unclosed fence runs to the end, as while an
// answer streams), indented-free lists (-, *, +, 1.), blockquotes, rules, pipe tables.
// Inline: `code`, **bold**, *italic* / _italic_, ~~strike~~, [links](https://...), bare URLs.

const SAFE_URL = /^(https?:|mailto:)/i;

export function renderMarkdown(text, doc = document) {
  const fragment = doc.createDocumentFragment();
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) { i++; continue; }
    const fence = /^\s*(```+|~~~+)\s*([\w+#.-]*)/.exec(line);
    if (fence) { i = codeBlock(lines, i, fence, fragment, doc); continue; }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const h = doc.createElement(`h${heading[1].length}`);
      appendInline(h, heading[2], doc);
      fragment.append(h);
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { fragment.append(doc.createElement('hr')); i++; continue; }
    if (/^\s*>/.test(line)) { i = blockquote(lines, i, fragment, doc); continue; }
    if (listItem(line)) { i = list(lines, i, fragment, doc); continue; }
    if (isTableStart(lines, i)) { i = table(lines, i, fragment, doc); continue; }
    i = paragraph(lines, i, fragment, doc);
  }
  return fragment;
}

function codeBlock(lines, start, fence, parent, doc) {
  const marker = fence[1];
  const body = [];
  let i = start + 1;
  while (i < lines.length && !lines[i].trim().startsWith(marker)) body.push(lines[i++]);
  const pre = doc.createElement('pre');
  const code = doc.createElement('code');
  if (fence[2]) {
    code.className = `language-${fence[2]}`;
    pre.dataset.lang = fence[2];
  }
  code.textContent = body.join('\n');
  pre.append(code);
  parent.append(pre);
  return i + 1;  // past the closing fence (or the end)
}

function blockquote(lines, start, parent, doc) {
  const inner = [];
  let i = start;
  while (i < lines.length && /^\s*>/.test(lines[i])) inner.push(lines[i++].replace(/^\s*>\s?/, ''));
  const quote = doc.createElement('blockquote');
  quote.append(renderMarkdown(inner.join('\n'), doc));
  parent.append(quote);
  return i;
}

function listItem(line) {
  const m = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
  return m ? { indent: m[1].length, ordered: /\d/.test(m[2]), start: parseInt(m[2], 10), text: m[3] } : null;
}

// One list level; deeper-indented items open a nested list inside the previous item.
function list(lines, start, parent, doc) {
  const first = listItem(lines[start]);
  const el = doc.createElement(first.ordered ? 'ol' : 'ul');
  if (first.ordered && first.start !== 1) el.start = first.start;
  let i = start;
  let li = null;
  while (i < lines.length) {
    const item = listItem(lines[i]);
    if (item && item.indent > first.indent && li) {
      i = list(lines, i, li, doc);
      continue;
    }
    if (item && item.indent === first.indent && item.ordered === first.ordered) {
      li = doc.createElement('li');
      appendInline(li, item.text, doc);
      el.append(li);
      i++;
      continue;
    }
    // A continuation line of the item (indented text), else the list is over.
    if (li && !item && /^\s+\S/.test(lines[i])) {
      li.append(doc.createTextNode(' '));
      appendInline(li, lines[i].trim(), doc);
      i++;
      continue;
    }
    break;
  }
  parent.append(el);
  return i;
}

const tableRow = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());

function isTableStart(lines, i) {
  return i + 1 < lines.length && lines[i].includes('|') && /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(lines[i + 1]);
}

function table(lines, start, parent, doc) {
  const el = doc.createElement('table');
  const head = doc.createElement('thead');
  const headRow = doc.createElement('tr');
  for (const cell of tableRow(lines[start])) {
    const th = doc.createElement('th');
    appendInline(th, cell, doc);
    headRow.append(th);
  }
  head.append(headRow);
  el.append(head);
  const body = doc.createElement('tbody');
  let i = start + 2;
  while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
    const tr = doc.createElement('tr');
    for (const cell of tableRow(lines[i])) {
      const td = doc.createElement('td');
      appendInline(td, cell, doc);
      tr.append(td);
    }
    body.append(tr);
    i++;
  }
  el.append(body);
  const wrap = doc.createElement('div');
  wrap.className = 'table-wrap';  // tables scroll sideways instead of widening the page
  wrap.append(el);
  parent.append(wrap);
  return i;
}

function paragraph(lines, start, parent, doc) {
  const text = [];
  let i = start;
  while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines, i)) text.push(lines[i++].trim());
  const p = doc.createElement('p');
  text.forEach((t, n) => {
    if (n > 0) p.append(doc.createElement('br'));
    appendInline(p, t, doc);
  });
  parent.append(p);
  return i;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return /^\s*(```|~~~)/.test(line) || /^#{1,6}\s/.test(line) || /^\s*>/.test(line) || !!listItem(line) ||
         isTableStart(lines, i);
}

// Inline spans, left to right: the earliest match of any rule wins.
const INLINE = [
  { re: /`([^`]+)`/, make: (m, doc) => el(doc, 'code', m[1]) },
  { re: /\*\*(.+?)\*\*|__(.+?)__/, make: (m, doc) => nested(doc, 'strong', m[1] ?? m[2]) },
  { re: /~~(.+?)~~/, make: (m, doc) => nested(doc, 'del', m[1]) },
  { re: /\*([^*\s](?:[^*]*[^*\s])?)\*|(?<![\w])_([^_\s](?:[^_]*[^_\s])?)_(?![\w])/, make: (m, doc) => nested(doc, 'em', m[1] ?? m[2]) },
  { re: /\[([^\]]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)/, make: (m, doc) => link(doc, m[1], m[2]) },
  { re: /\bhttps?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/, make: (m, doc) => link(doc, m[0], m[0]) },
];

export function appendInline(parent, text, doc = document) {
  let rest = text;
  while (rest) {
    let best = null;
    for (const rule of INLINE) {
      const m = rule.re.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { m, rule };
    }
    if (!best) { parent.append(doc.createTextNode(rest)); return; }
    if (best.m.index > 0) parent.append(doc.createTextNode(rest.slice(0, best.m.index)));
    parent.append(best.rule.make(best.m, doc));
    rest = rest.slice(best.m.index + best.m[0].length);
  }
}

function el(doc, tag, text) {
  const e = doc.createElement(tag);
  e.textContent = text;
  return e;
}

function nested(doc, tag, text) {
  const e = doc.createElement(tag);
  appendInline(e, text, doc);
  return e;
}

// Only http(s) and mailto links become anchors; anything else (javascript:, data:) stays text.
function link(doc, label, href) {
  if (!SAFE_URL.test(href)) return doc.createTextNode(label);
  const a = doc.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  appendInline(a, label, doc);
  return a;
}
