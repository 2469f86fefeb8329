// A program's arguments and standard input in the C editor: the args field (words as a shell splits
// them, quotes and backslashes included; no variables, globs or redirections), with the exact list
// that will be sent as `programs[i].args`, and the stdin textarea (`programs[i].stdin`), each with the
// server's own limits (openapi.yaml's `Program` schema, see api.programLimits) and any error the server
// names by its path shown beside it.

import { h, clear } from "./dom.js";

const bytes = (text) => new TextEncoder().encode(text).length;
const number = (n) => n.toLocaleString("en");

/** A word of the args preview: quoted as JSON, a long one cut with its size. */
function shortWord(word) {
  return word.length > 40 ? `${JSON.stringify(`${word.slice(0, 32)}…`)} (${number(bytes(word))} bytes)` : JSON.stringify(word);
}

/**
 * Split `text` into words as a POSIX shell does, without expansions: blanks (space, tab, new line)
 * separate words; 'single quotes' keep everything literally; "double quotes" keep blanks, with \" \\ \$ \`
 * escaped; a backslash elsewhere keeps the next character. Returns {args} or {error}.
 */
export function parseArgs(text) {
  const args = [];
  let word = null;   // null: between words ("" is an empty word, e.g. from '')
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (word !== null) { args.push(word); word = null; }
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { error: `the single quote at character ${i + 1} is never closed` };
      word = (word ?? "") + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1, part = "";
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1])) j++;
        part += text[j];
      }
      if (j >= text.length) return { error: `the double quote at character ${i + 1} is never closed` };
      word = (word ?? "") + part;
      i = j;
    } else if (c === "\\") {
      if (i + 1 >= text.length) return { error: "a backslash at the end escapes nothing" };
      word = (word ?? "") + text[++i];
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) args.push(word);
  return { args };
}

/** `args` as words parseArgs reads back the same: plain words as they are, others in single quotes. */
export function formatArgs(args) {
  return (args || []).map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * The args field and the stdin textarea of program `index`. `limits()` gives {args, argBytes, stdinBytes}
 * (or null while unknown); `nameOf()` the program's name (its argv[0]). Returns { el, read() → {args, stdin} | {error}, argsText(), stdin(), refresh(),
 * showError(rest, message) → whether a field took it (`rest`: "args", "args[2]" or "stdin"), clearErrors(),
 * focus(field) }.
 */
export function programIo(index, program, { limits, nameOf }) {
  const ids = { args: `c-args-${index}`, stdin: `c-stdin-${index}` };
  const argsInput = h("input", { id: ids.args, class: "c-args", type: "text", autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", "aria-describedby": `${ids.args}-hint ${ids.args}-sent ${ids.args}-error` });
  const argsHint = h("p", { id: `${ids.args}-hint`, class: "hint" },
    ["Words as a shell splits them: spaces separate; 'single' or \"double\" quotes keep spaces; \\ escapes one character. ",
      "No variables, wildcards or redirections."]);
  const sent = h("p", { id: `${ids.args}-sent`, class: "c-sent" });
  const argsError = h("p", { id: `${ids.args}-error`, class: "field-error", role: "alert", hidden: true });
  const stdinArea = h("textarea", { id: ids.stdin, class: "c-stdin", rows: 3, spellcheck: "false", autocomplete: "off",
    autocapitalize: "off", "aria-describedby": `${ids.stdin}-hint ${ids.stdin}-error` });
  const stdinHint = h("p", { id: `${ids.stdin}-hint`, class: "hint" });
  const stdinError = h("p", { id: `${ids.stdin}-error`, class: "field-error", role: "alert", hidden: true });
  argsInput.value = program.argsText ?? formatArgs(program.args);
  stdinArea.value = program.stdin || "";
  const el = h("div", { class: "c-io" }, [
    h("div", { class: "c-io-field" }, [h("label", { for: ids.args }, "Arguments (argv[1…])"), argsInput, argsHint, sent, argsError]),
    h("div", { class: "c-io-field" }, [h("label", { for: ids.stdin }, "Standard input"), stdinArea, stdinHint, stdinError]),
  ]);

  const setError = (control, box, message) => {
    box.textContent = message || "";
    box.hidden = !message;
    control.toggleAttribute("aria-invalid", Boolean(message));
  };

  /** Say what will be sent and how it stands against the limits (over a limit is said, and still sent:
   *  the server decides, and its error then lands here). */
  const refresh = () => {
    const lim = limits();
    const parsed = parseArgs(argsInput.value);
    clear(sent);
    if (parsed.error) {
      sent.append(h("span", { class: "c-over" }, `Not sent: ${parsed.error}.`));
    } else {
      const over = lim ? parsed.args.map((a, i) => [i, bytes(a)]).filter(([, n]) => n > lim.argBytes) : [];
      sent.append(`Sent as args: `, h("code", {}, `[${parsed.args.map(shortWord).join(", ")}]`), ` — argv[0] is "${nameOf() || "program"}"; `,
        h("span", { class: lim && parsed.args.length > lim.args ? "c-over" : "" },
          `${parsed.args.length}${lim ? ` of at most ${lim.args}` : ""} argument${parsed.args.length === 1 ? "" : "s"}`),
        lim ? `, each up to ${number(lim.argBytes)} bytes` : "",
        ...over.map(([i, n]) => h("span", { class: "c-over" }, `; argument ${i + 1} is ${number(n)} bytes`)), ".");
    }
    const n = bytes(stdinArea.value);
    clear(stdinHint).append("What the program's first process reads on fd 0, exactly as typed, then end of file ",
      "(end with a new line if it reads lines). ",
      h("span", { class: lim && n > lim.stdinBytes ? "c-over" : "" }, `${number(n)}${lim ? ` of at most ${number(lim.stdinBytes)}` : ""} bytes.`));
  };
  argsInput.addEventListener("input", () => { setError(argsInput, argsError, ""); refresh(); });
  stdinArea.addEventListener("input", () => { setError(stdinArea, stdinError, ""); refresh(); });
  refresh();

  return {
    el, refresh,
    argsText: () => argsInput.value,
    stdin: () => stdinArea.value,
    /** {args, stdin} to send, or {error} (shown beside the args field) when the words cannot be split. */
    read() {
      const parsed = parseArgs(argsInput.value);
      if (parsed.error) {
        setError(argsInput, argsError, `These arguments cannot be sent: ${parsed.error}.`);
        return { error: parsed.error };
      }
      return { args: parsed.args, stdin: stdinArea.value };
    },
    showError(rest, message) {
      const m = /^args(?:\[(\d+)\])?$/.exec(rest);
      if (m) {
        const which = m[1] !== undefined ? parseArgs(argsInput.value).args?.[Number(m[1])] : undefined;
        const quoted = which === undefined ? "" : ` (${JSON.stringify(which.length > 24 ? `${which.slice(0, 24)}…` : which)})`;
        setError(argsInput, argsError, m[1] !== undefined ? `Argument ${Number(m[1]) + 1}${quoted}: ${message}` : message);
        return "args";
      }
      if (rest === "stdin") { setError(stdinArea, stdinError, message); return "stdin"; }
      return null;
    },
    clearErrors() { setError(argsInput, argsError, ""); setError(stdinArea, stdinError, ""); },
    focus(field) { (field === "stdin" ? stdinArea : argsInput).focus(); },
  };
}
