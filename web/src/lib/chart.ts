// chart.ts: small SVG bar charts without a library. Each chart is an <svg role="img"> with a
// title, and a visually hidden list of the same numbers for screen readers.
import { h } from "./dom";

const NS = "http://www.w3.org/2000/svg";

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface BarChartOptions {
  title: string;
  labels: string[];           // one per bar (x axis)
  values: number[];           // may be negative
  format(v: number): string;  // axis and table text
  testid?: string;
}

/** A bar chart with a zero line; negative values are drawn below it in the danger colour. */
export function barChart(o: BarChartOptions): HTMLElement {
  const W = 600, H = 220, left = 64, right = 8, top = 12, bottom = 28;
  const max = Math.max(0, ...o.values), min = Math.min(0, ...o.values);
  const span = max - min || 1;
  const y = (v: number) => top + ((max - v) / span) * (H - top - bottom);
  const bw = (W - left - right) / Math.max(1, o.values.length);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  const titleId = `chart-${Math.random().toString(36).slice(2, 8)}`;
  svg.setAttribute("aria-labelledby", titleId);
  svg.append(s("title", { id: titleId }, o.title));
  for (const v of [max, 0, min].filter((v, i, a) => a.indexOf(v) === i)) {
    svg.append(s("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: "axis" }),
      s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, o.format(v)));
  }
  o.values.forEach((v, i) => {
    const x = left + i * bw + bw * 0.15;
    const y0 = y(Math.max(v, 0)), y1 = y(Math.min(v, 0));
    const bar = s("rect", { x, y: y0, width: Math.max(1, bw * 0.7), height: Math.max(v === 0 ? 0 : 1, y1 - y0), class: v < 0 ? "bar neg" : "bar" });
    bar.append(s("title", {}, `${o.labels[i]}: ${o.format(v)}`));
    svg.append(bar);
  });
  const step = Math.ceil(o.labels.length / 7);
  o.labels.forEach((l, i) => {
    if (i % step === 0 || i === o.labels.length - 1) {
      svg.append(s("text", { x: left + i * bw + bw / 2, y: H - 8, "text-anchor": "middle" }, l.slice(5)));
    }
  });
  // A list, not a table: a table is never narrower than its content, so a visually hidden
  // one would still widen the page.
  const table = h("div", { class: "sr-only" }, h("ul", {}, ...o.labels.map((l, i) => h("li", {}, `${l}: ${o.format(o.values[i])}`))));
  const fig = h("figure", { class: "chart-wrap", "data-testid": o.testid ?? null }, h("figcaption", {}, o.title));
  fig.append(svg, table);
  return fig;
}
