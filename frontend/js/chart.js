/**
 * An inline SVG bar chart of monthly consumption, sized to its container so its text stays readable;
 * months the bot filled in and months lower than the previous one are marked (colour and pattern).
 */

import { s } from './dom.js';
import { fmtMonth, fmtNumber } from './format.js';
import { T } from './texts.js';

/** A "nice" axis step (1, 2 or 5 times a power of ten) giving about `ticks` divisions. */
function niceStep(range, ticks) {
  const raw = range / ticks || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].find((k) => k * power >= raw) || 10;
  return unit * power;
}

/** How a month is marked: "bot", "lower" or "". */
export function monthMark(mo) {
  if (mo.channel === 'bot') return 'bot';
  if ((mo.warnings || []).includes('lower_than_previous')) return 'lower';
  return '';
}

/** "11/26": a month short enough for a phone's axis. */
function shortMonth(month) {
  const m = /^(\d{4})-(\d{2})$/.exec(month || '');
  return m ? `${m[2]}/${m[1].slice(2)}` : month;
}

/** The chart as an SVG element. */
export function barChart(months, unit, width) {
  const W = Math.max(280, Math.min(860, width));
  const H = 260;
  const pad = { top: 18, right: 12, bottom: 44, left: 56 };
  const values = months.map((x) => (x.consumption === null || x.consumption === undefined ? null : Number(x.consumption)));
  const known = values.filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(0, ...known);
  const min = Math.min(0, ...known);
  const step = niceStep(max - min || 1, 4);
  const top = Math.ceil(max / step) * step || step;
  const bottom = Math.floor(min / step) * step;
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const y = (v) => pad.top + plotH - ((v - bottom) / (top - bottom)) * plotH;
  const slot = plotW / months.length;
  const barW = Math.max(6, Math.min(44, slot * 0.62));
  const every = Math.ceil(52 / slot); // a 14 px label "11/26" is about 45 px wide
  const grid = [];
  for (let v = bottom; v <= top + step / 2; v += step) {
    grid.push(s('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid' }),
      s('text', { x: pad.left - 6, y: y(v) + 5, 'text-anchor': 'end', class: 'tick' }, fmtNumber(String(Number(v.toFixed(3))))));
  }
  const bars = months.map((mo, i) => {
    const v = values[i];
    const cx = pad.left + slot * (i + 0.5);
    // Counted from the newest month, so it always has its label and none overlap.
    const label = (months.length - 1 - i) % every === 0
      && s('text', { x: cx, y: H - pad.bottom + 20, 'text-anchor': 'middle', class: 'tick' }, shortMonth(mo.billing_month));
    if (v === null || !Number.isFinite(v)) return [label];
    const mark = monthMark(mo);
    const y0 = y(Math.max(0, v));
    const bh = Math.max(2, Math.abs(y(v) - y(0)));
    const note = mark === 'bot' ? `, ${T.stats.markBot}` : mark === 'lower' ? `, ${T.stats.markLower}` : '';
    return [s('rect', { x: cx - barW / 2, y: y0, width: barW, height: bh, rx: 2,
      class: `bar${v < 0 ? ' bar--neg' : ''}${mark ? ` bar--${mark}` : ''}`, 'data-month': mo.billing_month },
    s('title', {}, `${fmtMonth(mo.billing_month)}: ${fmtNumber(mo.consumption)} ${unit}${note}`)), label];
  });
  const maxAt = months[values.indexOf(max)];
  const minValue = Math.min(...known);
  const minAt = months[values.indexOf(minValue)];
  return s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-labelledby': 'chart-title chart-desc', class: 'chart__svg' },
  s('title', { id: 'chart-title' }, `${T.stats.chart}, ${unit}`),
  s('desc', { id: 'chart-desc' }, known.length
    ? T.stats.chartDesc(`${fmtNumber(String(max))} ${unit} (${fmtMonth(maxAt?.billing_month)})`,
      `${fmtNumber(String(minValue))} ${unit} (${fmtMonth(minAt?.billing_month)})`)
    : T.stats.chartEmpty),
  s('text', { x: 4, y: 13, class: 'tick tick--unit' }, unit),
  grid, bars);
}
