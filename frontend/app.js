/**
 * The web cabinet of the meter-readings service: one page, hash routing, plain DOM, native ES modules
 * with no build step (js/). Routes and JSON shapes: docs/api.md and /api/openapi.json.
 */

import { api, loadConfig, onSignedOut } from './js/api.js';
import { h } from './js/dom.js';
import { errorBlock, registerRoutes, route, sessionRanOut } from './js/router.js';
import { state } from './js/session.js';
import { T } from './js/texts.js';
import { viewCabinet } from './js/views/cabinet.js';
import { viewQr } from './js/views/qr.js';
import { viewAccount } from './js/views/readings.js';
import { viewRecovery, viewReset } from './js/views/recovery.js';
import { viewSignin } from './js/views/signin.js';
import { viewMeter } from './js/views/stats.js';

registerRoutes([
  { re: /^#\/signin$/, view: viewSignin, open: true },
  { re: /^#\/recovery$/, view: viewRecovery, open: true },
  { re: /^#\/reset\/(.+)$/, view: viewReset, open: true },
  { re: /^#\/qr\/(.+)$/, view: viewQr, open: true },
  { re: /^#\/cabinet$/, view: viewCabinet },
  { re: /^#\/account\/(\d+)$/, view: viewAccount },
  { re: /^#\/account\/(\d+)\/meter\/([^/]+)$/, view: viewMeter },
]);
onSignedOut(sessionRanOut);

/** Recover the session from /api/me, then route; a network failure offers a retry. */
async function start() {
  const main = document.getElementById('main');
  loadConfig();
  try {
    state.session = await api('GET', '/api/me', undefined, { quiet401: true });
  } catch (err) {
    state.session = null;
    if (err.status === 0 || err.status >= 500) {
      main.replaceChildren(h('div', { class: 'view' }, h('h1', {}, T.service), errorBlock(err, () => start())));
      return;
    }
  }
  route();
  route.navigated = true;
}

window.addEventListener('hashchange', () => route());
start();
