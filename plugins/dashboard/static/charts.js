// Plain SVG line charts of the last hour, one point per minute (null: no value that minute).

const NS = "http://www.w3.org/2000/svg";
const W = 380, H = 160, LEFT = 34, RIGHT = 6, TOP = 8, BOTTOM = 18;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (value <= m * p) return m * p;
  return 10 * p;
}

function formatValue(value, unit) {
  if (unit === "s") return value >= 10 ? `${value.toFixed(0)}s` : `${+value.toFixed(2)}s`;
  if (unit === "%") return `${+(value * 100).toFixed(1)}%`;
  return String(+value.toFixed(2));
}

// lines: [{name, cls, key}] read from each minute; unit: "", "s" or "%"
export function lineChart(id, title, minutes, lines, unit = "") {
  const box = document.createElement("div");
  box.className = "chart";
  box.dataset.chart = id;
  const h3 = document.createElement("h3");
  h3.textContent = title;
  const legend = document.createElement("div");
  legend.className = "legend";
  for (const line of lines) {
    const item = document.createElement("span");
    item.className = line.cls;
    item.textContent = line.name;
    legend.append(item);
  }
  const values = lines.flatMap((l) => minutes.map((m) => m[l.key])).filter((v) => v !== null);
  const max = unit === "%" ? Math.max(niceMax(Math.max(0, ...values)), 0.01) : niceMax(Math.max(0, ...values));
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const x = (i) => LEFT + (minutes.length <= 1 ? 0 : (i * plotW) / (minutes.length - 1));
  const y = (v) => TOP + plotH - (v / max) * plotH;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  chart.append(svg("line", { class: "axis", x1: LEFT, y1: TOP + plotH, x2: W - RIGHT, y2: TOP + plotH }));
  chart.append(svg("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: TOP + plotH }));
  for (const [v, label] of [[max, formatValue(max, unit)], [0, formatValue(0, unit)]]) {
    const t = svg("text", { x: LEFT - 4, y: y(v) + 3, "text-anchor": "end" });
    t.textContent = label;
    chart.append(t);
  }
  for (const i of [0, Math.floor((minutes.length - 1) / 2), minutes.length - 1]) {
    if (!minutes[i]) continue;
    const t = svg("text", { x: x(i), y: H - 4, "text-anchor": i === 0 ? "start" : i === minutes.length - 1 ? "end" : "middle" });
    t.textContent = new Date(minutes[i].at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    chart.append(t);
  }
  for (const line of lines) {
    let segment = [];
    const flush = () => {
      if (segment.length > 1) {
        chart.append(svg("polyline", { class: line.cls, points: segment.join(" "), fill: "none", stroke: "currentColor", "stroke-width": 1.5 }));
      }
      segment = [];
    };
    minutes.forEach((m, i) => {
      const v = m[line.key];
      if (v === null || v === undefined) return flush();
      segment.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      if (v > 0 || unit === "") {
        const dot = svg("circle", {
          class: `point ${line.cls}`, cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: v > 0 ? 2.2 : 0.8, fill: "currentColor",
          "data-series": line.key, "data-value": v, "data-at": m.at,
        });
        const tip = svg("title");
        tip.textContent = `${line.name} ${formatValue(v, unit)} at ${m.at.slice(11, 16)}`;
        dot.append(tip);
        chart.append(dot);
      }
    });
    flush();
  }
  box.append(h3, legend, chart);
  return box;
}
