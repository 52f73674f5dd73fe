import type { Summary } from './stats';

/** Geometry for the Wilson interval bar: a 0–100 track, the interval as a band, CSAT as a tick. */
export function intervalBar(s: Pick<Summary, 'csat' | 'csat_ci_low' | 'csat_ci_high'>) {
  if (s.csat === null || s.csat_ci_low === null || s.csat_ci_high === null) return null;
  return { x: s.csat_ci_low, width: Math.max(0.5, s.csat_ci_high - s.csat_ci_low), tick: s.csat };
}

const W = 640;
const H = 180;
const PAD = { left: 36, right: 8, top: 8, bottom: 24 };

type Bucket = { start: string; end: string; csat: number | null; responses: number };

/**
 * An inline SVG line of CSAT per bucket over response-volume columns. Buckets without
 * responses leave a gap in the line instead of pretending to be 0%.
 */
export function trendChart(buckets: Bucket[]) {
  const n = Math.max(buckets.length, 1);
  const step = (W - PAD.left - PAD.right) / n;
  const plotH = H - PAD.top - PAD.bottom;
  const maxResponses = Math.max(1, ...buckets.map((b) => b.responses));
  const x = (i: number) => PAD.left + step * i + step / 2;
  const y = (pct: number) => PAD.top + plotH * (1 - pct / 100);
  const segments: string[] = [];
  let current: string[] = [];
  buckets.forEach((b, i) => {
    if (b.csat === null) {
      if (current.length) segments.push(current.join(' '));
      current = [];
    } else current.push(`${x(i).toFixed(1)},${y(b.csat).toFixed(1)}`);
  });
  if (current.length) segments.push(current.join(' '));
  const labelEvery = Math.ceil(n / 8);
  return {
    width: W,
    height: H,
    lines: segments,
    dots: buckets.flatMap((b, i) => (b.csat === null ? [] : [{ cx: x(i).toFixed(1), cy: y(b.csat).toFixed(1), title: `${b.start}: ${b.csat}% of ${b.responses}` }])),
    columns: buckets.map((b, i) => {
      const h = (plotH * b.responses) / maxResponses;
      return { x: (x(i) - step * 0.35).toFixed(1), y: (PAD.top + plotH - h).toFixed(1), width: (step * 0.7).toFixed(1), height: h.toFixed(1) };
    }),
    grid: [0, 50, 100].map((pct) => ({ y: y(pct).toFixed(1), label: `${pct}%` })),
    labels: buckets.flatMap((b, i) => (i % labelEvery === 0 ? [{ x: x(i).toFixed(1), text: b.start }] : [])),
    axisY: H - 6,
    left: PAD.left,
    right: W - PAD.right,
  };
}
