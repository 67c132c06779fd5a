/**
 * #/account/<n>: the readings page. On a phone the meters come first (the account's data, debt and
 * rules fold away); a save bar stays in reach; every typed value is kept on this device until it is
 * saved, so an expired session, a closed tab, a closed window or a question left unanswered loses
 * nothing. What is saved, warned about or asked is the API's to say: the page shows it.
 */

import { api, loadConfig, pressKey } from '../api.js';
import { announce, focusAndShow, h, hidden, idPart, replaceKeepingFocus, withBusy } from '../dom.js';
import { fmtDate, fmtMonth, fmtNumber, milliText, typedMilli, withUnit } from '../format.js';
import { renderHeader } from '../header.js';
import { loadInto, viewHeading } from '../router.js';
import { loadDrafts, saveDraft, setChosen, state } from '../session.js';
import { T } from '../texts.js';
import { botBlock } from './bot.js';

/** The readings page of one account. */
export function viewAccount(root, number) {
  const h1 = viewHeading(root, T.account.title);
  loadInto(root, async () => {
    await loadConfig();
    return api('GET', `/api/accounts/${encodeURIComponent(number)}`);
  }, (page) => {
    if (state.session?.person) setChosen(number);
    renderHeader();
    const rp = {
      number, page, results: new Map(), drafts: loadDrafts(number), pending: null, openBots: new Set(),
      list: null, summary: null, timeout: (state.config?.save_timeout_seconds || 25),
    };
    const restored = restoreDrafts(rp);
    h1.after(h('p', { class: 'lead address-line' }, page.account.address));
    root.append(accountMore(page), readingsForm(rp));
    if (restored) setSummary(rp, T.account.restored, 'info');
  });
}

// ---------------------------------------------------------------- drafts

/** The value an open meter's input starts with: the reading already given in this window, if any. */
function prefill(m) {
  const cur = m.current;
  return m.window?.open && cur && cur.billing_month === m.window.billing_month ? fmtNumber(cur.value) : '';
}

/** The draft still worth showing for a meter (a window moved on makes an old one stale). */
function draftFor(rp, m) {
  const d = rp.drafts[m.id];
  if (!d) return null;
  if (m.window?.open && d.month !== m.window.billing_month) return null;
  return d;
}

/** Keep or drop what the resident typed for a meter, on this device and in the view. */
function keepDraft(rp, m, text, question = null) {
  const value = String(text ?? '');
  if (!value.trim() || (value.trim() === prefill(m) && !question)) {
    delete rp.drafts[m.id];
    saveDraft(rp.number, m.id, null);
    return;
  }
  const month = rp.drafts[m.id]?.month && !m.window?.open ? rp.drafts[m.id].month : m.window?.billing_month;
  rp.drafts[m.id] = { text: value, month, question };
  saveDraft(rp.number, m.id, rp.drafts[m.id]);
}

/** Drafts found at load: stale ones go, questions left unanswered come back. True if any remain. */
function restoreDrafts(rp) {
  let any = false;
  for (const m of rp.page.meters) {
    const d = rp.drafts[m.id];
    if (!d) continue;
    if (!draftFor(rp, m)) {
      keepDraft(rp, m, '');
      continue;
    }
    any = true;
    if (d.question && m.window?.open) {
      rp.results.set(m.id, { meter_id: m.id, status: 'needs_confirmation', message: d.question.message,
        warnings: [], question: d.question });
    }
  }
  return any;
}

// ---------------------------------------------------------------- the account, folded

/** The account's data, debt with payment details, and the rules: one tap away. */
function accountMore(page) {
  const a = page.account;
  const t = T.account;
  const rows = [[t.city, `${a.city} (${a.city_code})`], [t.number, a.number], [t.holder, a.holder], [t.address, a.address]];
  const debt = a.debt;
  const copyStatus = h('span', { class: 'copy-status', role: 'status', id: 'iban-copied' });
  const copy = debt && h('button', { type: 'button', class: 'btn btn--secondary btn--small', id: 'copy-iban' }, t.copyIban);
  copy?.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(debt.iban);
      copyStatus.textContent = t.copied;
    } catch {
      copyStatus.textContent = t.copyFailed;
    }
  });
  return h('details', { class: 'account-more card', id: 'account-more' },
    h('summary', {}, t.more),
    h('section', { 'aria-labelledby': 'data-heading' },
      h('h2', { id: 'data-heading' }, t.yourData),
      facts(rows),
      debt && h('p', { class: 'debt', id: 'debt' }, debt.label),
      debt && h('div', { class: 'payment' },
        h('h3', {}, t.payment),
        facts([[t.recipient, debt.recipient], [t.iban, h('span', { class: 'iban' }, debt.iban_grouped)],
          [t.purpose, debt.purpose]]),
        h('p', {}, copy, ' ', copyStatus))),
    h('section', { class: 'rules', 'aria-labelledby': 'rules-heading' },
      h('h2', { id: 'rules-heading' }, t.rules),
      h('ul', {}, (page.rules || []).map((r) => h('li', {}, r)))));
}

/** A definition list of [term, value] pairs. */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// ---------------------------------------------------------------- the meters and the save bar

/** The meters with the sticky save bar (its summary is a live region). */
function readingsForm(rp) {
  rp.list = h('ol', { class: 'meters', id: 'meters' });
  drawMeters(rp);
  rp.summary = h('div', { class: 'save-summary', id: 'save-summary', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'btn btn--primary btn--save', id: 'save-readings' }, T.account.save);
  const form = h('form', { class: 'readings', id: 'readings-form', novalidate: true, 'aria-labelledby': 'meters-heading' },
    h('h2', { id: 'meters-heading', class: 'visually-hidden' }, T.account.meters),
    rp.page.meters.length ? rp.list : h('p', { class: 'notice' }, T.account.noMeters),
    h('div', { class: 'save-bar', id: 'save-bar' }, rp.summary, button));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => saveReadings(rp));
  });
  return form;
}

/** (Re)draw every meter from rp.page.meters, drafts and results. */
function drawMeters(rp) {
  const list = h('ol', { class: 'meters', id: 'meters' }, rp.page.meters.map((m) => meterRow(rp, m)));
  if (rp.list.parentNode) replaceKeepingFocus(rp.list, list);
  rp.list = list;
}

/** Redraw one meter in place. */
function redrawMeter(rp, meterId) {
  const meter = rp.page.meters.find((m) => m.id === meterId);
  const old = document.getElementById(`meter-${idPart(meterId)}`);
  if (meter && old) replaceKeepingFocus(old, meterRow(rp, meter));
}

/** One meter: its name, the previous reading, the input (first on screen), then results, source, bot. */
function meterRow(rp, m) {
  const key = idPart(m.id);
  const open = Boolean(m.window?.open);
  const draft = draftFor(rp, m);
  const result = rp.results.get(m.id);
  const ids = { input: `reading-${key}`, prev: `prev-${key}`, win: `win-${key}`, cons: `cons-${key}`,
    result: `result-${key}`, kept: `kept-${key}` };
  const input = h('input', {
    id: ids.input, name: ids.input, class: 'reading-input', type: 'text', inputmode: 'decimal',
    autocomplete: 'off', spellcheck: 'false', enterkeyhint: 'done', disabled: !open,
    value: draft ? draft.text : prefill(m),
    'aria-describedby': [ids.prev, ids.win, !open && draft ? ids.kept : null, ids.cons, ids.result].filter(Boolean).join(' '),
    'aria-invalid': result?.status === 'rejected' ? 'true' : null,
  });
  const cons = h('span', { class: 'cons-value', id: ids.cons }, consumptionText(m, input.value, Boolean(draft)));
  input.addEventListener('input', () => {
    keepDraft(rp, m, input.value);
    cons.textContent = consumptionText(m, input.value, true);
  });
  const label = h('label', { for: ids.input, class: 'reading-label' },
    T.account.newReading(fmtMonth(m.window?.billing_month)), hidden(T.account.forMeter(m.name, m.serial)));
  return h('li', { class: `meter card${open ? '' : ' meter--closed'}`, id: `meter-${key}`, 'data-kind': m.kind,
    'data-meter-id': m.id },
  h('h3', { class: 'meter__title' }, m.name, m.serial && h('span', { class: 'meter__serial' }, T.account.serial(m.serial))),
  h('p', { class: 'meter__prev', id: ids.prev }, `${T.account.previous}: `,
    m.previous ? [h('strong', { class: 'num' }, withUnit(m.previous.value, m.unit)),
      m.previous.billing_month ? T.account.previousFor(fmtMonth(m.previous.billing_month)) : ''] : T.none),
  label,
  h('div', { class: 'reading-box' }, input, h('span', { class: 'unit', 'aria-hidden': 'true' }, m.unit)),
  h('p', { class: open ? 'window-note' : 'closed-note', id: ids.win }, open ? m.window.label : m.window?.closed_text),
  !open && draft && h('p', { class: 'draft-kept', id: ids.kept }, T.account.draftKept(draft.text)),
  h('p', { class: 'meter__cons' }, `${T.account.consumption}: `, cons),
  rowResult(rp, m, ids.result),
  sourceLine(m, !result),
  h('p', { class: 'meter__links' },
    h('a', { href: `#/account/${encodeURIComponent(rp.number)}/meter/${encodeURIComponent(m.id)}`,
      class: 'stats-link', id: `stats-${key}` }, T.account.statsLink, hidden(T.account.statsFor(m.name))),
    m.next_verification && h('span', { class: 'verify' }, T.account.nextVerification, fmtDate(m.next_verification))),
  botBlock(rp, m, (fresh) => {
    rp.page.meters = rp.page.meters.map((x) => (x.id === fresh.id ? fresh : x));
    redrawMeter(rp, fresh.id);
  }));
}

/** Consumption: a live preview from what is typed (arithmetic only), else the API's figure. */
function consumptionText(m, typed, touched) {
  if (!touched || !String(typed).trim()) return m.consumption ? withUnit(m.consumption, m.unit) : T.none;
  const value = typedMilli(typed);
  if (value === null || !m.previous) return T.none;
  const diff = value - typedMilli(m.previous.value);
  const text = `${milliText(diff)} ${m.unit}`;
  return diff < 0 ? `${text} (${T.account.belowPrevious})` : text;
}

/** The last save's answer for a row: status, message, warnings, and a question with its buttons. */
function rowResult(rp, m, id) {
  const result = rp.results.get(m.id);
  const box = h('div', { class: 'row-result', id, tabindex: '-1' });
  if (!result) return box;
  box.classList.add(`row-result--${result.status}`);
  box.append(
    h('p', {}, h('strong', { class: 'badge' }, T.status[result.status] || result.status), ' ', result.message || ''),
  );
  if ((result.warnings || []).length) {
    box.append(h('ul', { class: 'warnings' }, result.warnings.map((w) =>
      h('li', { class: `warning warning--${w.code}` }, h('span', { 'aria-hidden': 'true' }, '⚠ '), w.message))));
  }
  const q = result.question;
  if (result.status === 'needs_confirmation' && q) {
    box.append(questionFacts(q));
    const yes = h('button', { type: 'button', class: 'btn btn--primary', id: `confirm-${idPart(m.id)}` }, T.account.confirmYes);
    yes.addEventListener('click', () => withBusy(yes, () => confirmRow(rp, m)));
    const fix = h('button', { type: 'button', class: 'btn btn--secondary', id: `fix-${idPart(m.id)}`,
      onclick: () => fixRow(rp, m) }, T.account.confirmFix);
    box.append(h('div', { class: 'confirm-actions' }, yes, fix));
  }
  return box;
}

/** The question's numbers side by side: the usual use and this time's, each with its unit. */
function questionFacts(q) {
  if (q.code !== 'implausible_high' || q.consumption === null) return null;
  const period = q.months > 1 ? ` (${q.months} міс.)` : '';
  return h('dl', { class: 'question-facts' },
    q.usual !== null && [h('dt', {}, T.account.usual), h('dd', {}, `${withUnit(q.usual, q.unit)}${period}`)],
    h('dt', {}, T.account.now), h('dd', {}, h('strong', {}, `${withUnit(q.consumption, q.unit)}${period}`)));
}

/** The last reading's origin ("Дані внесено з сайту 24/11/2026 о 23:04") and its warnings. */
function sourceLine(m, withWarnings) {
  const cur = m.current;
  if (!cur?.source_label) return null;
  return h('div', { class: 'source' },
    h('p', {}, cur.source_label),
    withWarnings && (cur.warnings || []).map((w) =>
      h('p', { class: 'warning' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), w.message)));
}

// ---------------------------------------------------------------- saving

/** Write the summary in a tone: "ok", "warn", "error" or "info". */
function setSummary(rp, text, tone) {
  rp.summary.className = `save-summary save-summary--${tone}`;
  rp.summary.textContent = text;
}

/** The rows typed into: everything open whose input differs from what it started with. */
function collectRows(rp) {
  const rows = [];
  for (const m of rp.page.meters) {
    if (!m.window?.open) continue;
    const input = document.getElementById(`reading-${idPart(m.id)}`);
    const text = (input?.value ?? '').trim();
    if (text && text !== prefill(m)) rows.push({ meter_id: m.id, value: text, confirm: null });
  }
  return rows;
}

/** Save every typed reading in one request. */
async function saveReadings(rp) {
  const rows = collectRows(rp);
  if (!rows.length) {
    setSummary(rp, T.account.nothingToSave, 'info');
    return;
  }
  await sendRows(rp, rows);
}

/**
 * POST rows with one Idempotency-Key per press; a press that repeats a request whose answer never
 * came reuses its key, so the API answers it as the first time. Typed values stay on any failure.
 */
async function sendRows(rp, rows) {
  const body = JSON.stringify(rows);
  const key = rp.pending?.body === body ? rp.pending.key : pressKey();
  rp.pending = { key, body };
  setSummary(rp, T.account.sending, 'info');
  let answer;
  try {
    answer = await api('POST', `/api/accounts/${encodeURIComponent(rp.number)}/readings`, { rows },
      { headers: { 'Idempotency-Key': key }, timeoutMs: rp.timeout * 1000 });
  } catch (err) {
    if (err.redirected) return null;
    setSummary(rp, err.code === 'timeout' ? T.account.timeout(rp.timeout) : err.message, 'error');
    focusAndShow(rp.summary);
    return null;
  }
  rp.pending = null;
  applyAnswer(rp, answer);
  return answer;
}

/** Results per row, meters as they are now, drafts kept only where something is left to do. */
function applyAnswer(rp, answer) {
  if (Array.isArray(answer.meters) && answer.meters.length) rp.page.meters = answer.meters;
  for (const r of answer.results || []) {
    rp.results.set(r.meter_id, r);
    const m = rp.page.meters.find((x) => x.id === r.meter_id);
    if (!m) continue;
    const typed = rp.drafts[m.id]?.text ?? '';
    if (['saved', 'superseded', 'unchanged'].includes(r.status)) keepDraft(rp, m, '');
    else if (r.status === 'needs_confirmation') keepDraft(rp, m, typed, r.question);
    else keepDraft(rp, m, typed);
  }
  drawMeters(rp);
  const summary = answer.summary || { text: '', tone: 'info', attention: [] };
  setSummary(rp, summary.text, summary.tone);
  const first = (summary.attention || [])[0];
  const target = first ? document.getElementById(`result-${idPart(first)}`) : rp.summary;
  focusAndShow(target);
}

/** Re-send one row, confirming that very value, after the resident says it is right. */
async function confirmRow(rp, m) {
  const text = (document.getElementById(`reading-${idPart(m.id)}`)?.value ?? '').trim();
  await sendRows(rp, [{ meter_id: m.id, value: text, confirm: text }]);
}

/** Drop the question and put the cursor back into the input to correct the value. */
function fixRow(rp, m) {
  rp.results.delete(m.id);
  keepDraft(rp, m, rp.drafts[m.id]?.text ?? '');
  redrawMeter(rp, m.id);
  const input = document.getElementById(`reading-${idPart(m.id)}`);
  input?.focus();
  input?.select();
  announce(T.account.confirmFix);
}
