"use strict";
// The dashboard's twin panel: per hour, citizens waiting and the mean wait, the hall as it is
// beside the hall with extra 综合 windows, on the same simulated citizens (/api/twin/hourly).
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = { before: "#78909c", after: "#1565c0" };
  const $ = (id) => document.getElementById(id);
  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function ceiling(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 2.5, 5, 10].map(s => s * p).find(s => s >= v);
  }
  function chart(data, key, label) {
    const W = 560, H = 170, L = 34, R = 6, T = 18, B = 20;
    const sides = ["before", "after"].filter(s => data[s]);
    const hours = [...new Set(sides.flatMap(s => Object.keys(data[s].waiting_by_hour).concat(Object.keys(data[s].by_hour))))].sort();
    const top = ceiling(Math.max(0, ...sides.flatMap(s => Object.values(data[s][key]).map(f => (f.ci95 || [0, f.mean])[1] || 0))));
    const y = v => H - B - (H - B - T) * Math.min(v, top) / top;
    const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    svg.append(node("text", { x: L, y: 12 }, label));
    for (let i = 0; i <= 2; i++) {
      const v = top * i / 2;
      svg.append(node("line", { x1: L, y1: y(v), x2: W - R, y2: y(v), stroke: i ? "#edf1f5" : "#9aa5b1" }));
      svg.append(node("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    const slot = (W - L - R) / Math.max(1, hours.length), bar = slot * 0.8 / Math.max(1, sides.length);
    hours.forEach((h, i) => {
      const x0 = L + i * slot + slot * 0.1;
      svg.append(node("text", { x: x0 + slot * 0.4, y: H - 5, "text-anchor": "middle" }, h + "时"));
      sides.forEach((side, j) => {
        const f = data[side][key][h];
        if (!f || f.mean === null) return;
        const rect = node("rect", { x: x0 + j * bar, y: y(f.mean), width: Math.max(bar - 2, 1), height: Math.max(H - B - y(f.mean), 0.5), fill: COLOURS[side], rx: 1 });
        const ci = f.ci95 ? `，95% 区间 ${f.ci95[0].toFixed(1)}–${f.ci95[1].toFixed(1)}` : "";
        rect.append(node("title", {}, `${h}时 ${side === "before" ? "现状" : "增设窗口后"}：${f.mean.toFixed(1)}${ci}`));
        svg.append(rect);
      });
    });
    return svg;
  }
  async function run() {
    const extra = $("twin-extra").value, button = $("twin-run"), note = $("twin-note");
    button.disabled = true;
    note.textContent = "推演中（模拟若干天，约需数秒）…";
    try {
      const token = localStorage.getItem("hallFloorToken") || "";
      const response = await fetch(`/api/twin/hourly?extra_windows=${encodeURIComponent(extra)}&seeds=3`,
        { headers: { "Authorization": "Bearer " + token }, cache: "no-store" });
      const data = await response.json();
      if (!response.ok) { note.textContent = "推演失败：" + (data.message || response.status); return; }
      $("twin-chart").replaceChildren(chart(data, "waiting_by_hour", "平均等候人数（人）"), chart(data, "by_hour", "平均等候时长（分钟，按取号时段）"));
      const before = data.before.all, after = data.after && data.after.all;
      const habits = data.habits === "config" ? "按配置的办事习惯" : "按本厅记录测得的办事习惯";
      note.textContent = `${data.day}，${data.seeds.length} 天模拟，同一批群众，${habits}。灰：现状` +
        (after ? `；蓝：增设 ${data.extra_windows} 个综合窗口。平均等候 ${before.mean.mean.toFixed(1)} → ${after.mean.mean.toFixed(1)} 分钟` : `。平均等候 ${before.mean.mean.toFixed(1)} 分钟`);
    } catch (err) {
      note.textContent = "推演失败：" + err;
    } finally {
      button.disabled = false;
    }
  }
  $("twin-run").addEventListener("click", run);
})();
