// Safe element building: every piece of data becomes a text node (textContent),
// never markup. There is deliberately no helper here that takes an HTML string.

/**
 * Build an element.
 *   h("div", {class: "row", text: name, title: why, on: {click: fn}, data: {id}}, child, ...)
 * `text` sets textContent; string children become text nodes; null/false children are skipped;
 * arrays are flattened. Attribute values are set with setAttribute (inert for data).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "on") for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (key === "data") for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key === "value") el.value = String(value);
    else if (key === "checked" || key === "disabled" || key === "selected" || key === "hidden") el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (nodes, strings as text nodes, nested arrays) to `el`. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace everything inside `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Set an element's text only when it changed (no needless layout work, no flicker). */
export function setText(el, value) {
  const text = value === null || value === undefined ? "" : String(value);
  if (el.textContent !== text) el.textContent = text;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** A short-lived notice at the bottom right. */
export function toast(message, kind = "") {
  let box = $(".toasts");
  if (!box) {
    box = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const el = h("div", { class: ["toast", kind] , text: message });
  box.append(el);
  setTimeout(() => el.remove(), kind === "bad" ? 7000 : 4000);
}

const TIER_LABELS = { strategic: "Strategic", key: "Key", gold: "Gold", silver: "Silver", standard: "Standard" };

/** A tier badge (KEY / STRATEGIC / GOLD / SILVER / STANDARD); the word is always shown. */
export function tierBadge(tier) {
  const name = String(tier || "standard").toLowerCase();
  const known = Object.hasOwn(TIER_LABELS, name);
  return h("span", {
    class: ["badge", `tier-${known ? name : "standard"}`],
    text: known ? TIER_LABELS[name] : String(tier),
    title: `Customer tier: ${known ? TIER_LABELS[name] : String(tier)}`,
  });
}

const CHANNEL_ICONS = {
  voice: "M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z",
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
  email: "M3 5h18a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm1 2.2V17h16V7.2l-8 5.3z",
  callback: "M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1zM15 3h6v6l-2.3-2.3-3.3 3.3-1.4-1.4 3.3-3.3z",
};

/** A small channel icon (inline SVG built with DOM calls) with an accessible name. */
export function channelIcon(channel) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `ch-icon ch-${CHANNEL_ICONS[channel] ? channel : "chat"}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", String(channel));
  const title = document.createElementNS(ns, "title");
  title.textContent = String(channel);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", CHANNEL_ICONS[channel] || CHANNEL_ICONS.chat);
  svg.append(title, path);
  return svg;
}
