// dom.ts: building DOM nodes without HTML strings (no innerHTML anywhere: text from the API
// is always set as text, so it cannot inject markup).

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** Creates an element: attributes (false/null skip, true sets ""), "on<event>" listeners,
 * and children (strings become text nodes; null/false are skipped). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces every child of parent. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

let ids = 0;
/** A document-unique id for label/input pairs. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** "2026-11-21T01:02:03.123456789Z" -> local date and time, to the second. */
export function formatTime(iso: string): string {
  const d = new Date(iso.replace(/\.(\d{3})\d*Z$/, ".$1Z"));
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
