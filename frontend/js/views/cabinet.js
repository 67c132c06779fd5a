/**
 * #/cabinet: the linked addresses as cards, the address chosen for work with its Viber QR code and a
 * link that opens Viber on this phone, and the form that adds an address by account + SRC code.
 */

import { api, loadConfig } from '../api.js';
import { announce, h, hidden, idPart, replaceKeepingFocus, withBusy } from '../dom.js';
import { field, setFieldError } from '../forms.js';
import { renderHeader } from '../header.js';
import { errorBlock, go, loadInto, viewHeading } from '../router.js';
import { getChosen, setChosen, state } from '../session.js';
import { T } from '../texts.js';

/** The addresses, the chosen one with its QR, and the add-address form. */
export function viewCabinet(root) {
  if (state.session.scope_account) {
    go(`#/account/${state.session.scope_account}`, true);
    return;
  }
  viewHeading(root, T.cabinet.title);
  const view = { root, accounts: [], list: h('div'), panel: h('div'), config: null };
  loadInto(root, async () => {
    view.config = await loadConfig();
    return api('GET', '/api/accounts');
  }, (data) => {
    view.accounts = data.accounts || [];
    ensureChosen(view.accounts);
    root.append(
      view.panel,
      h('section', { class: 'section', 'aria-labelledby': 'addresses-heading' },
        h('h2', { id: 'addresses-heading', tabindex: '-1' }, T.cabinet.addresses),
        view.list),
      addAddressSection(view),
    );
    redraw(view);
  });
}

/** Make sure the remembered choice is one of the linked addresses (else take the first). */
function ensureChosen(accounts) {
  const chosen = getChosen();
  if (!accounts.some((a) => a.number === chosen)) setChosen(accounts[0]?.number || null);
}

/** Redraw the cards and the chosen-address panel after any change. */
function redraw(view) {
  const list = addressCards(view);
  replaceKeepingFocus(view.list, list);
  view.list = list;
  const panel = chosenPanel(view, view.accounts.find((a) => a.number === getChosen()));
  replaceKeepingFocus(view.panel, panel);
  view.panel = panel;
  renderHeader();
}

/** The linked addresses as compact cards. */
function addressCards(view) {
  if (!view.accounts.length) return h('p', { class: 'notice', id: 'addresses' }, T.cabinet.empty);
  return h('ul', { class: 'addresses', id: 'addresses' }, view.accounts.map((a) => addressCard(view, a)));
}

/** One address: what it is, "choose" first, "remove" last and small, its confirmation in place. */
function addressCard(view, a) {
  const key = idPart(a.number);
  const isChosen = a.number === getChosen();
  const choose = isChosen
    ? h('span', { class: 'chosen-mark', id: `chosen-${key}`, tabindex: '-1' },
      h('span', { 'aria-hidden': 'true' }, '✓ '), T.cabinet.chosen)
    : h('button', { type: 'button', class: 'btn btn--primary', onclick: () => chooseAddress(view, a) },
      T.cabinet.chooseButton, hidden(` ${T.cabinet.account(a.number)}`));
  const confirmBox = h('div', { class: 'confirm-remove', id: `confirm-remove-${key}`, hidden: true });
  const remove = h('button', { type: 'button', class: 'btn btn--quiet', id: `remove-${key}` },
    T.cabinet.removeButton, hidden(T.cabinet.forAccount(a.number)));
  remove.addEventListener('click', () => askRemove(view, a, confirmBox, remove));
  return h('li', { class: `address card${isChosen ? ' is-chosen' : ''}`, 'data-account': a.number },
    h('h3', { class: 'address__title' }, a.address),
    h('p', { class: 'address__facts' }, `${a.city} (${a.city_code}) · ${T.cabinet.account(a.number)}`,
      h('br'), a.holder),
    h('div', { class: 'address__actions' }, choose, remove),
    confirmBox);
}

/** Choose an address for work and move focus to its new mark. */
function chooseAddress(view, a) {
  setChosen(a.number);
  redraw(view);
  document.getElementById(`chosen-${idPart(a.number)}`)?.focus();
  announce(T.cabinet.chosenAnnounce(a));
}

/** "Remove?" asked in place, with the two answers next to it. */
function askRemove(view, a, box, removeButton) {
  const yes = h('button', { type: 'button', class: 'btn btn--danger' }, T.cabinet.confirmYes);
  const no = h('button', { type: 'button', class: 'btn btn--secondary' }, T.cabinet.confirmNo);
  const question = h('p', { id: `${box.id}-q` }, T.cabinet.confirmRemove(a));
  box.replaceChildren(question, h('div', { class: 'confirm-actions' }, yes, no));
  box.setAttribute('role', 'group');
  box.setAttribute('aria-labelledby', question.id);
  box.hidden = false;
  no.addEventListener('click', () => {
    box.hidden = true;
    removeButton.focus();
  });
  yes.addEventListener('click', () => withBusy(yes, () => removeAddress(view, a, box)));
  yes.focus();
}

/** Unlink an address and say so where the resident looks. */
async function removeAddress(view, a, box) {
  try {
    await api('DELETE', `/api/accounts/${encodeURIComponent(a.number)}`);
  } catch (err) {
    if (err.redirected) return;
    box.append(errorBlock(err));
    return;
  }
  view.accounts = view.accounts.filter((x) => x.number !== a.number);
  ensureChosen(view.accounts);
  redraw(view);
  showDone(view, T.cabinet.removed(a));
}

/** A visible confirmation under the heading (and for screen readers, the same words). */
function showDone(view, text) {
  view.root.querySelector('#flash')?.remove();
  const note = h('p', { class: 'notice notice--ok', role: 'status', id: 'flash', tabindex: '-1' }, text);
  view.root.querySelector('h1')?.after(note);
  note.focus();
}

/** The chosen address: its line, the way to the readings, its Viber QR and a link that opens Viber. */
function chosenPanel(view, a) {
  if (!a) return h('div');
  const viber = view.config?.doors?.viber;
  const open = viber && h('a', {
    class: 'btn btn--secondary', id: 'open-viber', 'aria-describedby': 'open-viber-hint', hidden: true,
  }, T.cabinet.openViber);
  if (open) showViberLink(a, open, viber);
  return h('section', { class: 'section card chosen', 'aria-labelledby': 'chosen-heading' },
    h('h2', { id: 'chosen-heading' }, T.cabinet.current),
    h('p', { class: 'chosen__line' }, T.cabinet.currentLine(a)),
    h('p', {}, h('a', { href: `#/account/${encodeURIComponent(a.number)}`, class: 'btn btn--primary chosen__go' },
      T.cabinet.toReadings)),
    h('figure', { class: 'qr' },
      h('img', {
        src: `/api/accounts/${encodeURIComponent(a.number)}/qr/viber?format=svg`,
        alt: T.cabinet.viberAlt(a.number), width: '180', height: '180',
      }),
      h('figcaption', {}, T.cabinet.viberText)),
    open && h('p', { class: 'open-viber' }, open,
      h('span', { class: 'field__hint', id: 'open-viber-hint' }, T.cabinet.openViberHint)));
}

/** "Відкрити у Viber" opens the bot with this address: the deep link the QR code beside it encodes
 * (a token of this person's, minted by the API). Shown once it is known; if it cannot be had, the bot's
 * bare link still opens Viber, where the address can be added by hand. */
async function showViberLink(a, open, fallback) {
  let href = fallback;
  try {
    href = (await api('GET', `/api/accounts/${encodeURIComponent(a.number)}/viber-link`)).link;
  } catch (err) {
    if (err.redirected) return;
  }
  open.setAttribute('href', href);
  open.hidden = false;
}

/** The "add an address" form: account number and SRC code written together, sent as typed; the holder's
 * surname only once the API asks for it (the code alone may not be judged now: docs/api.md). */
function addAddressSection(view) {
  const code = field({
    id: 'add-code', label: T.cabinet.addLabel, hint: T.cabinet.addHint, type: 'text', inputmode: 'numeric',
    autocomplete: 'off', maxlength: '20', class: 'input--code',
  });
  const holder = field({
    id: 'add-holder', label: T.cabinet.holderLabel, hint: T.cabinet.holderHint, type: 'text',
    autocomplete: 'off', maxlength: '64', lang: 'uk',
  });
  holder.wrap.hidden = true;
  const done = h('p', { class: 'form-success', role: 'status', id: 'add-done' });
  const button = h('button', { type: 'submit', class: 'btn btn--primary' }, T.cabinet.addButton);
  const form = h('form', { class: 'section card', novalidate: true, 'aria-labelledby': 'add-heading', id: 'add-form' },
    h('h2', { id: 'add-heading' }, T.cabinet.add), code.wrap, holder.wrap, button, done);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => addAddress(view, code, holder, done));
  });
  return form;
}

/** Link an address by account + SRC code (and the holder's surname, once asked); the API says what is wrong. */
async function addAddress(view, code, holder, done) {
  done.textContent = '';
  setFieldError(code, '');
  const body = { code: code.input.value.trim() };
  if (!holder.wrap.hidden) {
    const surname = holder.input.value.trim();
    if (!surname) {
      setFieldError(holder, T.cabinet.holderMissing);
      holder.input.focus();
      return;
    }
    setFieldError(holder, '');
    body.holder = surname;
  }
  let answer;
  try {
    answer = await api('POST', '/api/accounts', body);
  } catch (err) {
    if (err.redirected) return;
    if (err.code === 'holder_needed' || err.code === 'bad_holder') {
      holder.wrap.hidden = false;
      setFieldError(holder, err.message);
      holder.input.focus();
      return;
    }
    setFieldError(code, err.message);
    code.input.focus();
    return;
  }
  const a = answer.account;
  if (!view.accounts.some((x) => x.number === a.number)) view.accounts.push(a);
  if (!getChosen()) setChosen(a.number);
  code.input.value = '';
  holder.input.value = '';
  holder.wrap.hidden = true;
  setFieldError(holder, '');
  redraw(view);
  done.textContent = T.cabinet.added(a);
}
