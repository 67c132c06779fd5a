/**
 * The header: navigation and who is signed in, with the sign-out button.
 */

import { api } from './api.js';
import { announce, h, withBusy } from './dom.js';
import { go } from './router.js';
import { clearDrafts, getChosen, setChosen, state } from './session.js';
import { T } from './texts.js';

/** Draw the header's navigation and the signed-in line for the current session. */
export function renderHeader() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const session = state.session;
  nav.hidden = !session;
  who.hidden = !session;
  if (!session) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  const readingsAccount = session.scope_account || getChosen();
  const links = [];
  if (!session.scope_account) links.push(navLink('#/cabinet', T.nav.cabinet));
  if (readingsAccount) links.push(navLink(`#/account/${readingsAccount}`, T.nav.readings));
  nav.setAttribute('aria-label', T.nav.label);
  nav.replaceChildren(h('ul', {}, links.map((a) => h('li', {}, a))));
  const line = session.person
    ? h('span', { class: 'who__text' }, h('span', { class: 'who__prefix' }, T.signedInAs),
      h('strong', {}, session.person.email))
    : h('span', { class: 'who__text' }, T.qrSession);
  const button = h('button', { type: 'button', class: 'btn btn--header', id: 'signout' }, T.signout);
  button.addEventListener('click', () => withBusy(button, signOut));
  who.replaceChildren(line, button);
}

/** A navigation link, marked current when it is the page shown. */
function navLink(hash, text) {
  const current = location.hash === hash || location.hash.startsWith(`${hash}/`);
  return h('a', { href: hash, 'aria-current': current ? 'page' : null }, text);
}

/** Sign out on the server, then forget everything this device kept for the resident. */
async function signOut() {
  try {
    await api('POST', '/api/auth/signout');
  } catch (err) {
    if (err.redirected) return;
    if (err.status === 0 || err.status >= 500) {
      announce(err.message);
      return;
    }
  }
  state.session = null;
  state.returnTo = null;
  state.expired = null;
  // A shared phone should not keep the last resident's account number or typed readings.
  setChosen(null);
  clearDrafts();
  state.flash = T.signedOut;
  renderHeader();
  go('#/signin');
}
