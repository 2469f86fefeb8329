// "Did you mean": the server's "unknown op "X"; one of: a, b, c" (or field) made short: the nearest
// names first, the whole list folded away.

/** Edit distance (Levenshtein), for names a few letters off. */
export function distance(a, b) {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** The names in `choices` closest to `word` (at most 3), or none when nothing is close. */
export function nearest(word, choices) {
  const w = word.toLowerCase();
  const scored = choices.map((c) => {
    const l = c.toLowerCase();
    const sub = l.includes(w) || w.includes(l) ? 0 : 1;
    return { c, d: Math.min(distance(w, l), sub ? Infinity : Math.abs(l.length - w.length)) };
  });
  const limit = Math.max(2, Math.floor(w.length / 3));
  return scored.filter((x) => x.d <= limit).sort((a, b) => a.d - b.d || a.c.localeCompare(b.c)).slice(0, 3).map((x) => x.c);
}

/**
 * Split a server message listing every allowed name: {short, word, suggestions, choices} or null.
 * "unknown op "nanosleep"; one of: sleep, wait, …" → short "unknown op "nanosleep"", ["sleep"].
 */
export function parseUnknown(message) {
  const m = /^(.*?unknown [a-z _-]+ ["“]([^"”]+)["”])[;:,]?\s*(?:one of|expected one of|allowed|known)[:\s]+(.+?)\.?$/is.exec(message || "");
  if (!m) return null;
  const choices = m[3].split(/,\s*/).map((c) => c.replace(/^["'“]|["'”]$/g, "").trim()).filter(Boolean);
  if (choices.length < 2) return null;
  return { short: m[1], word: m[2], suggestions: nearest(m[2], choices), choices };
}
