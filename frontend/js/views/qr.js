/**
 * #/qr/<token>: the invoice's web QR code signs in to that one account's readings.
 */

import { api } from '../api.js';
import { append, h } from '../dom.js';
import { errorBlock, go, homeHash, route, viewHeading } from '../router.js';
import { state } from '../session.js';
import { T } from '../texts.js';

/** Sign in with the invoice's web QR token, then open that account's readings. */
export function viewQr(root, token) {
  viewHeading(root, T.qr.title);
  const status = h('p', { role: 'status' }, T.qr.checking);
  root.append(status);
  api('POST', '/api/auth/qr', { token })
    .then((answer) => {
      state.session = answer;
      state.expired = null;
      go(`#/account/${answer.scope_account}`, true);
    })
    .catch((err) => {
      status.remove();
      if (err.status === 0 || err.status >= 500) {
        root.append(errorBlock(err, () => route()));
        return;
      }
      root.append(h('div', { class: 'notice notice--error', role: 'alert' },
        h('p', {}, h('strong', {}, T.qr.failed)),
        h('p', {}, err.message)));
      append(root, [state.session
        ? h('p', {}, h('a', { href: homeHash(), class: 'btn btn--primary' }, T.homeLink))
        : [h('p', {}, T.qr.help), h('p', {}, h('a', { href: '#/signin', class: 'btn btn--primary' }, T.qr.signinLink))]]);
    });
}
