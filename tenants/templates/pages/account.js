// The password form of the invitation and reset pages: it posts the link's token and the new
// password to the JSON API. The token is read from the query (as the mails send it) or the
// fragment, and never leaves this origin.
(function () {
  'use strict';
  var form = document.getElementById('account-form');
  var message = document.getElementById('message');
  if (!form || !message) {
    return;
  }
  function token() {
    var fromQuery = new URLSearchParams(window.location.search).get('token');
    if (fromQuery) {
      return fromQuery;
    }
    return new URLSearchParams(window.location.hash.replace(/^#/, '')).get('token') || '';
  }
  function show(text, ok) {
    message.textContent = text;
    message.className = ok ? 'ok' : 'error';
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var password = form.elements.password.value;
    if (password.length < Number(form.dataset.minLength)) {
      show(form.dataset.msgShort);
      return;
    }
    if (password !== form.elements.confirm.value) {
      show(form.dataset.msgMismatch);
      return;
    }
    var secret = token();
    if (!secret) {
      show(form.dataset.msgInvalid);
      return;
    }
    var button = form.querySelector('button');
    button.disabled = true;
    fetch(form.dataset.endpoint, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: secret, password: password })
    }).then(function (response) {
      if (response.status === 204) {
        form.hidden = true;
        show(form.dataset.msgDone, true);
        // The token is spent: keep it out of the history.
        window.history.replaceState(null, '', window.location.pathname);
      } else if (response.status === 404) {
        show(form.dataset.msgInvalid);
      } else if (response.status === 422) {
        show(form.dataset.msgShort);
      } else {
        show(form.dataset.msgError);
      }
    }, function () {
      show(form.dataset.msgError);
    }).then(function () {
      button.disabled = false;
    });
  });
}());
