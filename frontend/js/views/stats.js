/**
 * #/account/<n>/meter/<id>: a meter's statistics. The chart marks bot months and months lower than
 * the previous one; the history marks which submission counts for its month; more pages on request.
 */

import { api } from '../api.js';
import { h } from '../dom.js';
import { barChart, monthMark } from '../chart.js';
import { fmtDateTime, fmtMonth, fmtNumber } from '../format.js';
import { loadInto, viewHeading } from '../router.js';
import { T } from '../texts.js';

/** A meter's statistics: the chart, its data table, and every submission. */
export function viewMeter(root, number, meterId) {
  root.append(h('p', { class: 'back' }, h('a', { href: `#/account/${encodeURIComponent(number)}` }, T.stats.back)));
  const path = `/api/accounts/${encodeURIComponent(number)}/meters/${encodeURIComponent(meterId)}/history`;
  const h1 = viewHeading(root, T.stats.title(''));
  loadInto(root, () => api('GET', path), (data) => {
    const m = data.meter;
    const name = m.serial ? `${m.name} (№ ${m.serial})` : m.name;
    h1.textContent = T.stats.title(name);
    document.title = `${h1.textContent} — ${T.service}`;
    const months = data.months || [];
    const winners = new Set(months.map((mo) => mo.at));
    const list = submissionsSection(data.submissions || [], winners);
    root.append(chartSection(months, m.unit), list.section);
    if (data.next) list.section.append(moreButton(path, data.next, list, winners));
  });
}

/** The chart with its legend and the table of the same numbers. */
function chartSection(months, unit) {
  const section = h('section', { class: 'section card', 'aria-labelledby': 'chart-heading' },
    h('h2', { id: 'chart-heading' }, `${T.stats.chart}, ${unit}`));
  if (!months.length) {
    section.append(h('p', {}, T.stats.chartEmpty));
    return section;
  }
  const holder = h('div', { class: 'chart' });
  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
    h('li', {}, h('span', { class: 'swatch swatch--bot' }), T.stats.legendBot),
    h('li', {}, h('span', { class: 'swatch swatch--lower' }), T.stats.legendLower));
  section.append(holder, legend, monthsTable(months, unit));
  const draw = () => holder.replaceChildren(barChart(months, unit, holder.clientWidth || 320));
  draw();
  if ('ResizeObserver' in window) {
    let last = holder.clientWidth;
    new ResizeObserver(() => {
      if (Math.abs(holder.clientWidth - last) > 8) {
        last = holder.clientWidth;
        draw();
      }
    }).observe(holder);
  }
  return section;
}

/** The chart's numbers as a table, with the marks in words. */
function monthsTable(months, unit) {
  const note = (mo) => ({ bot: T.stats.markBot, lower: T.stats.markLower }[monthMark(mo)] || '');
  // Focusable, so a keyboard can scroll it when it is wider than a phone.
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'months-caption' },
    h('table', { class: 'table table--compact', id: 'months' },
      h('caption', { id: 'months-caption' }, `${T.stats.chartTable}, ${unit}`),
      h('thead', {}, h('tr', {},
        [T.stats.month, T.stats.value, T.stats.consumption, T.stats.note].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, months.map((mo) => h('tr', { 'data-mark': monthMark(mo) || null },
        h('th', { scope: 'row' }, fmtMonth(mo.billing_month)),
        h('td', { class: 'num' }, fmtNumber(mo.value)),
        h('td', { class: 'num' }, fmtNumber(mo.consumption)),
        h('td', {}, note(mo)))))));
}

/** Every submission, newest first; the one that counts for its month is marked. */
function submissionsSection(subs, winners) {
  const section = h('section', { class: 'section', 'aria-labelledby': 'subs-heading' },
    h('h2', { id: 'subs-heading' }, T.stats.submissions),
    h('p', { class: 'muted' }, T.stats.submissionsIntro));
  const list = h('ol', { class: 'submissions', id: 'submissions' });
  if (!subs.length) section.append(h('p', { class: 'notice' }, T.stats.noSubmissions));
  else section.append(list);
  const add = (items) => list.append(...items.map((x) => submissionItem(x, winners.has(x.at))));
  add(subs);
  return { section, list, add };
}

/** One submission as a compact card. */
function submissionItem(x, counted) {
  return h('li', { class: `submission${counted ? ' submission--counted' : ''}` },
    h('p', { class: 'submission__head' },
      h('strong', { class: 'num' }, fmtNumber(x.value)), ` · ${fmtMonth(x.billing_month)} · `,
      T.channels[x.channel] || x.channel,
      counted && h('span', { class: 'counted-mark' }, ` ✓ ${T.stats.counted}`)),
    h('p', { class: 'submission__when' }, fmtDateTime(x.at)),
    (x.warnings || []).length > 0 && h('ul', { class: 'warnings' }, x.warnings.map((w) => h('li', { class: 'warning' }, w.message))));
}

/** "Show more": the next page of the history. */
function moreButton(path, next, list, winners) {
  const button = h('button', { type: 'button', class: 'btn btn--secondary', id: 'more' }, T.stats.more);
  let cursor = next;
  button.addEventListener('click', async () => {
    const data = await api('GET', `${path}?before=${encodeURIComponent(cursor)}`);
    list.add(data.submissions || []);
    cursor = data.next;
    if (!cursor) button.remove();
  });
  return button;
}
