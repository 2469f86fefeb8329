// Tiny DOM helpers: element builders for HTML and SVG, nothing else.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of [].concat(children ?? [])) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** h("div", {class: "x"}, [children]) — an HTML element. */
export function h(tag, attrs, children) {
  return apply(document.createElement(tag), attrs, children);
}

/** s("line", {x1: 0}) — an SVG element. */
export function s(tag, attrs, children) {
  return apply(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Scroll `el` into view inside `container` only (the page itself does not move). */
export function scrollWithin(container, el, { center = false } = {}) {
  if (!container || !el) return;
  const c = container.getBoundingClientRect(), r = el.getBoundingClientRect();
  const pad = 24;
  if (center) {
    container.scrollTop += r.top + r.height / 2 - (c.top + c.height / 2);
  } else if (r.top < c.top + pad) container.scrollTop += r.top - c.top - pad;
  else if (r.bottom > c.bottom - pad) container.scrollTop += r.bottom - c.bottom + pad;
  if (r.left < c.left) container.scrollLeft += r.left - c.left - pad;
  else if (r.right > c.right && r.width < c.width) container.scrollLeft += r.right - c.right + pad;
}
