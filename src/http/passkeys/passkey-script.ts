/**
 * The browser side of passkeys: `/.gatehouse/assets/passkeys.js`, served by the gateway with
 * @simplewebauthn/browser (`/.gatehouse/assets/webauthn.js`, from the package itself: no CDN).
 *
 * It finds each `[data-passkeys]` block of a page (passkey-pages.ts), shows it only when the
 * browser can do WebAuthn, and runs the ceremony when its button is pressed: ask the gateway
 * for options, let the browser ask the guest (fingerprint, face, PIN, security key), send the
 * answer, follow the `redirect` the gateway returns. On the sign-in page it also offers the
 * browser's passkey autofill on the email field. Texts come from the block's data attributes,
 * in the page's language; a refusal shows the gateway's own (localised) message.
 *
 * Plain ES2017 for every browser that has passkeys; no inline script, so the pages keep a
 * CSP of `script-src 'self'`.
 */
export const PASSKEY_SCRIPT = `(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (value) {
        return { ok: response.ok, value: value || {} };
      });
    });
  }

  function Refused(message) { this.message = message; }

  Array.prototype.forEach.call(document.querySelectorAll('[data-passkeys]'), function (block) {
    var action = block.getAttribute('data-passkeys');
    var button = block.querySelector('button');
    var status = block.querySelector('.passkey-status');
    var nameField = block.querySelector('input[name="passkey-name"]');
    var csrf = block.getAttribute('data-csrf');
    var rd = block.getAttribute('data-rd');
    function say(text) { status.textContent = text || ''; }

    function options(path) {
      return post(path, { csrf: csrf }).then(function (answer) {
        if (!answer.ok || !answer.value.options) throw new Refused(answer.value.message);
        return answer.value.options;
      });
    }

    function finish(path, response, extra) {
      var body = { csrf: csrf, rd: rd, response: response };
      if (extra) for (var key in extra) body[key] = extra[key];
      return post(path, body).then(function (answer) {
        if (answer.ok && typeof answer.value.redirect === 'string') {
          window.location.assign(answer.value.redirect);
          return;
        }
        // A passkey the gateway no longer knows: ask the browser to forget it too, where it can.
        if (answer.value.reason === 'unknown_passkey' && window.PublicKeyCredential && PublicKeyCredential.signalUnknownCredential) {
          PublicKeyCredential.signalUnknownCredential({ rpId: window.location.hostname, credentialId: response.id }).catch(function () {});
        }
        throw new Refused(answer.value.message);
      });
    }

    function signIn(autofill) {
      return options('/.gatehouse/passkeys/sign-in/options')
        .then(function (optionsJSON) { return lib.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: autofill }); })
        .then(function (response) { return finish('/.gatehouse/passkeys/sign-in', response); });
    }

    function add() {
      return options('/.gatehouse/passkeys/add/options')
        .then(function (optionsJSON) { return lib.startRegistration({ optionsJSON: optionsJSON }); })
        .then(function (response) { return finish('/.gatehouse/passkeys/add', response, { name: nameField ? nameField.value : '' }); });
    }

    function failed(error) {
      button.disabled = false;
      if (error instanceof Refused) return say(error.message || block.getAttribute('data-failed'));
      // NotAllowedError: the guest closed the prompt, or it timed out.
      say(error && error.name === 'NotAllowedError' ? block.getAttribute('data-cancelled') : block.getAttribute('data-failed'));
    }

    button.addEventListener('click', function () {
      button.disabled = true;
      say(block.getAttribute('data-working'));
      (action === 'add' ? add() : signIn(false)).catch(failed);
    });
    block.hidden = false;

    if (block.hasAttribute('data-autofill') && lib.browserSupportsWebAuthnAutofill) {
      lib.browserSupportsWebAuthnAutofill().then(function (supported) {
        if (!supported) return;
        // Cancelled when the button starts a ceremony of its own; only a refusal is worth saying.
        signIn(true).catch(function (error) { if (error instanceof Refused) failed(error); });
      });
    }
  });
})();
`;
