/**
 * A meter's auto-increment bot, folded under the meter: its own explicit save, what it will record
 * (the API's words), and the API's question when the amount is unusually large.
 */

import { api } from '../api.js';
import { h, idPart, withBusy } from '../dom.js';
import { fmtNumber } from '../format.js';
import { T } from '../texts.js';

/** The bot's block for meter m; onMeter(fresh) is called with the meter as the API answers it. */
export function botBlock(rp, m, onMeter) {
  const key = idPart(m.id);
  const bot = m.bot || { enabled: false, amount: '0.000', label: '' };
  const status = h('p', { class: `bot__status${bot.enabled ? ' bot__status--on' : ''}`, id: `bot-status-${key}`,
    role: 'status' }, bot.label);
  const toggle = h('input', { type: 'checkbox', id: `bot-on-${key}`, checked: Boolean(bot.enabled),
    'aria-describedby': `bot-intro-${key}` });
  const amount = h('input', { type: 'text', id: `bot-amount-${key}`, class: 'bot__amount', inputmode: 'decimal',
    autocomplete: 'off', value: fmtNumber(bot.amount), 'aria-describedby': status.id });
  const question = h('div', { class: 'bot__question', id: `bot-question-${key}` });
  const save = h('button', { type: 'button', class: 'btn btn--secondary', id: `bot-save-${key}` }, T.bot.save);
  const send = (confirm) => saveBot(rp, m, { toggle, amount, status, question }, confirm, onMeter);
  save.addEventListener('click', () => withBusy(save, () => send(null)));
  amount.addEventListener('keydown', (event) => {
    // Enter here means "save the bot", not "save the readings".
    if (event.key === 'Enter') {
      event.preventDefault();
      save.click();
    }
  });
  const details = h('details', { class: 'bot', id: `bot-${key}`, open: rp.openBots.has(m.id) },
    h('summary', {}, `${T.bot.summary}: `, h('span', { class: 'bot__state' }, bot.enabled ? T.bot.on : T.bot.off)),
    h('p', { class: 'bot__intro', id: `bot-intro-${key}` }, T.bot.intro),
    h('div', { class: 'bot__toggle' }, toggle, h('label', { for: toggle.id }, T.bot.enable)),
    h('div', { class: 'bot__amount-row' },
      h('label', { for: amount.id }, T.bot.amount), amount,
      h('span', { class: 'unit', 'aria-hidden': 'true' }, m.unit)),
    h('p', {}, save),
    question,
    status);
  details.addEventListener('toggle', () => {
    if (details.open) rp.openBots.add(m.id);
    else rp.openBots.delete(m.id);
  });
  return details;
}

/** Send the switch as set; the block shows only what the API answered (saved, refused, or asked). */
async function saveBot(rp, m, parts, confirm, onMeter) {
  const { toggle, amount, status, question } = parts;
  const text = amount.value.trim();
  status.textContent = T.bot.saving;
  status.className = 'bot__status';
  amount.removeAttribute('aria-invalid');
  question.replaceChildren();
  const path = `/api/accounts/${encodeURIComponent(rp.number)}/meters/${encodeURIComponent(m.id)}/bot`;
  const body = { enabled: toggle.checked, amount: text, seal_epoch: m.bot?.seal_epoch ?? null, confirm };
  let answer;
  try {
    answer = await api('PUT', path, body);
  } catch (err) {
    if (err.redirected) return;
    status.textContent = err.message;
    status.className = 'bot__status bot__status--error';
    if (err.status === 400) amount.setAttribute('aria-invalid', 'true');
    return;
  }
  if (answer.status === 'needs_confirmation') {
    status.textContent = '';
    const yes = h('button', { type: 'button', class: 'btn btn--primary', id: `bot-confirm-${idPart(m.id)}` },
      T.bot.confirmYes);
    const fix = h('button', { type: 'button', class: 'btn btn--secondary', id: `bot-fix-${idPart(m.id)}` },
      T.bot.confirmFix);
    yes.addEventListener('click', () => withBusy(yes, () => saveBot(rp, m, parts, text, onMeter)));
    fix.addEventListener('click', () => {
      question.replaceChildren();
      amount.focus();
      amount.select();
    });
    question.append(h('p', { role: 'alert' }, answer.question?.message || answer.message),
      h('div', { class: 'confirm-actions' }, yes, fix));
    yes.focus();
    return;
  }
  rp.openBots.add(m.id);
  onMeter(answer.meter);
  const fresh = document.getElementById(`bot-status-${idPart(m.id)}`);
  if (fresh) {
    fresh.textContent = answer.message;
    fresh.className = `bot__status${answer.meter.bot?.enabled ? ' bot__status--on' : ''}`;
    document.getElementById(`bot-save-${idPart(m.id)}`)?.focus();
  }
}
