/**
 * Hash routing: which view draws <main>, headings and focus after navigation, loading and errors,
 * and what happens when a session runs out under the resident.
 */

import { h } from './dom.js';
import { renderHeader } from './header.js';
import { state } from './session.js';
import { T } from './texts.js';

let routes = [];

/** The views, as [{re, view, open}] (open: reachable without a session). */
export function registerRoutes(list) {
  routes = list;
}

/** Navigate to a hash; replace=true keeps it out of the back-button history. */
export function go(hash, replace = false) {
  if (location.hash === hash) {
    route();
  } else if (replace) {
    location.replace(hash);
  } else {
    location.hash = hash;
  }
}

/** Where a signed-in resident starts. */
export function homeHash() {
  if (!state.session) return '#/signin';
  if (state.session.scope_account) return `#/account/${state.session.scope_account}`;
  return '#/cabinet';
}

/** Render the view for the current hash into <main>. */
export function route() {
  const hash = location.hash;
  const found = routes.map((r) => ({ r, m: r.re.exec(hash) })).find((x) => x.m);
  if (!found) {
    go(homeHash(), true);
    return;
  }
  if (!found.r.open && !state.session) {
    state.returnTo = hash;
    go('#/signin', true);
    return;
  }
  const main = document.getElementById('main');
  const root = h('div', { class: 'view' });
  main.replaceChildren(root);
  renderHeader();
  const args = found.m.slice(1).map(safeDecode);
  found.r.view(root, ...args);
}

/** decodeURIComponent that leaves malformed escapes as they are instead of throwing. */
function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Give a view its heading, document title, the pending confirmation, and (after navigation) focus. */
export function viewHeading(root, text, extra) {
  const h1 = h('h1', { tabindex: '-1', id: 'page-title' }, text);
  root.append(h1);
  if (state.flash) {
    root.append(h('p', { class: 'notice notice--ok', role: 'status', id: 'flash' }, state.flash));
    state.flash = null;
  }
  if (extra) root.append(extra);
  document.title = `${text} — ${T.service}`;
  if (route.navigated) h1.focus();
  return h1;
}

/** A block that tells about a failed call, with an optional retry. */
export function errorBlock(err, retry) {
  return h(
    'div',
    { class: 'notice notice--error', role: 'alert' },
    h('p', {}, err.message || T.serverError),
    retry && h('button', { type: 'button', class: 'btn btn--secondary', onclick: retry }, T.retry),
  );
}

/** Show a loading line in root and run load(); on failure show the error with a retry. */
export async function loadInto(root, load, render) {
  const loading = h('p', { class: 'loading', role: 'status' }, T.loading);
  root.append(loading);
  let data;
  try {
    data = await load();
  } catch (err) {
    loading.remove();
    if (err.redirected) return;
    const transient = err.status === 0 || err.status >= 500;
    root.append(errorBlock(err, transient ? () => route() : null));
    if (!transient) root.append(h('p', {}, h('a', { href: homeHash(), class: 'btn btn--secondary' }, T.homeLink)));
    return;
  }
  loading.remove();
  render(data);
}

/** The session ran out under the resident: say why on the sign-in page, and come back here after. */
export function sessionRanOut() {
  const wasQr = Boolean(state.session?.scope_account);
  state.expired = { qr: wasQr };
  state.session = null;
  const here = location.hash;
  if (here && !here.startsWith('#/signin') && !here.startsWith('#/qr/')) state.returnTo = here;
  renderHeader();
  go('#/signin', true);
}
