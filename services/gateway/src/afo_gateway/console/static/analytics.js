// The analytics page's chart: the funnel per period (conversations, qualified, booked) drawn with uPlot from the
// page's JSON data block (never executed, so the Content-Security-Policy allows it). The page's table holds the
// same numbers; without this script, or without uPlot, nothing is lost but the picture.
(() => {
  "use strict";
  const block = document.getElementById("analytics-data");
  const target = document.getElementById("funnel-chart");
  if (!block || !target || typeof window.uPlot === "undefined") return;
  let data;
  try {
    data = JSON.parse(block.textContent);
  } catch {
    return;
  }
  if (!data.periods || data.periods.length === 0) return;
  const xs = data.periods.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
  const width = () => Math.max(320, target.clientWidth);
  const line = (label, stroke) => ({ label, stroke, width: 2, points: { show: data.periods.length <= 60 } });
  const options = {
    width: width(),
    height: 260,
    // Periods are UTC days: shown as such, whatever the browser's time zone.
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [
      { label: "Period starting" },
      line("Conversations", "#2446c7"),
      line("Qualified", "#186a3b"),
      line("Booked", "#8a5300"),
    ],
    // Counts: whole-number ticks only.
    axes: [{}, { label: "conversations", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }],
  };
  const plot = new window.uPlot(options, [xs, data.conversations, data.qualified, data.booked], target);
  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => plot.setSize({ width: width(), height: 260 }));
  });
})();
