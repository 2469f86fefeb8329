// Where a value sits in a JSON text: a small parser that records, for every path
// (processes[1].steps[3].size), the offsets of its key and value. Also reports syntax errors
// with their offset, so the editor can point at them.

export class JsonSyntaxError extends Error {
  constructor(message, pos) { super(message); this.pos = pos; }
}

export function locateAll(text) {
  const spans = new Map();
  let i = 0;
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  const fail = (what) => { throw new JsonSyntaxError(i < text.length ? `${what}, found ${JSON.stringify(text[i])}` : `${what}, found the end`, i); };
  const str = () => {
    if (text[i] !== '"') fail("expected a string");
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text[i] < " ") fail("control character in a string");
      i++;
    }
    if (i >= text.length) { i = start; fail("unterminated string"); }
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = (path, keyStart) => {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") {
      i++; ws();
      if (text[i] === "}") i++;
      else for (;;) {
        ws();
        const ks = i, key = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        value(path ? `${path}.${key}` : key, ks);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; break; }
        fail("expected ',' or '}'");
      }
    } else if (c === "[") {
      i++; ws();
      if (text[i] === "]") i++;
      else for (let n = 0; ; n++) {
        value(`${path}[${n}]`, null);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; break; }
        fail("expected ',' or ']'");
      }
    } else if (c === '"') str();
    else {
      const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!m) fail("expected a value");
      i += m[0].length;
    }
    spans.set(path, { keyStart: keyStart ?? start, start, end: i });
  };
  value("", null);
  ws();
  if (i < text.length) fail("unexpected text after the JSON value");
  return spans;
}

/**
 * The span for an error path such as "scenario.processes[1].steps[3].size" (prefix `root` dropped).
 * A missing path falls back to its nearest existing parent. Returns {start, end, exact} or null.
 */
export function locate(text, path, root = "scenario") {
  let spans;
  try { spans = locateAll(text); } catch { return null; }
  let p = path || "";
  if (p === root) p = "";
  else if (p.startsWith(root + ".")) p = p.slice(root.length + 1);
  else if (p.startsWith(root + "[")) p = p.slice(root.length);
  let exact = true;
  while (!spans.has(p)) {
    exact = false;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) { p = ""; break; }
    p = p.slice(0, cut);
  }
  const span = spans.get(p);
  return span ? { start: exact ? span.keyStart : span.start, end: span.end, exact } : null;
}

export function lineCol(text, pos) {
  const before = text.slice(0, pos).split("\n");
  return { line: before.length, col: before[before.length - 1].length + 1 };
}
