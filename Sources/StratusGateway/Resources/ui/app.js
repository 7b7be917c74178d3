// Stratus web UI: plain JavaScript, no libraries. Talks to the gateway's /system API with basic auth.
(function () {
  'use strict';

  var AUTH_KEY = 'stratus-auth';
  var REFRESH_MS = 2000;
  var timers = [];
  var generation = 0;        // bumped on every navigation; stale async work checks it and stops
  var deployState = {};      // store entry id -> {state, text, fn}, kept across page visits
  var lastInvokeImage = null;

  // ---------- helpers ----------

  function $(id) { return document.getElementById(id); }

  // h('tag', {attr: value, onclick: fn}, child, ...): children are nodes or text.
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key.slice(0, 2) === 'on' && typeof value === 'function') el.addEventListener(key.slice(2), value);
        else if (key === 'text') el.textContent = value;
        else if (value === true) el.setAttribute(key, '');
        else el.setAttribute(key, String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  function alertBox(id) { return h('p', {id: id, class: 'error', role: 'alert', hidden: true}); }

  function showError(el, message) {
    if (!el) return;
    el.textContent = message || '';
    el.hidden = !message;
  }

  function fmtNumber(n) { return (typeof n === 'number' && isFinite(n)) ? String(Math.round(n)) : '—'; }
  function fmtMs(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '—';
    return n < 10 ? n.toFixed(1) : String(Math.round(n));
  }
  function fmtRate(r) { return (typeof r === 'number' && isFinite(r)) ? (r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0) + '%' : '—'; }
  function fmtDate(s) {
    if (!s) return '—';
    var d = new Date(s);
    if (isNaN(d.getTime())) return String(s);
    return d.toLocaleString();
  }
  function ago(s) {
    if (!s) return '—';
    var d = new Date(s);
    if (isNaN(d.getTime())) return String(s);
    var sec = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
    if (sec < 60) return sec + ' s ago';
    if (sec < 3600) return Math.round(sec / 60) + ' min ago';
    if (sec < 86400) return Math.round(sec / 3600) + ' h ago';
    return d.toLocaleDateString();
  }

  function every(fn) {
    var gen = generation;
    var running = false;
    function tick() {
      if (gen !== generation || running) return;
      running = true;
      Promise.resolve().then(fn).catch(function () {}).then(function () { running = false; });
    }
    tick();
    timers.push(setInterval(tick, REFRESH_MS));
  }

  function stopTimers() { timers.forEach(clearInterval); timers = []; }

  // ---------- auth + API ----------

  function encodeBasic(user, password) {
    var bytes = new TextEncoder().encode(user + ':' + password);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return 'Basic ' + btoa(binary);
  }

  function authHeader() { return sessionStorage.getItem(AUTH_KEY); }

  // Set when the server answers /system without credentials (stratus serve --no-auth): no login.
  var authOff = false;

  function signedIn() { return authOff || !!authHeader(); }

  function Unauthorized() { this.message = 'unauthorized'; }

  // fetch a /system path; credentials 'omit' keeps the browser from popping its own login dialog.
  function api(path, options) {
    options = options || {};
    var auth = options.auth || authHeader();
    var headers = auth ? {Authorization: auth} : {};
    var body = options.body;
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      headers['Content-Type'] = 'application/octet-stream';
    } else if (body !== undefined && typeof body !== 'string') {
      body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    return fetch(path, {method: options.method || 'GET', headers: headers, body: body,
                        credentials: 'omit', cache: 'no-store'})
      .then(function (response) {
        if (response.status === 401 && !options.auth) {
          logout('Your session ended: please log in again.');
          throw new Unauthorized();
        }
        return response;
      });
  }

  function apiJSON(path, options) {
    return api(path, options).then(function (response) {
      if (!response.ok) return failure(response);
      return response.json();
    });
  }

  function failure(response) {
    return response.text().then(function (text) {
      var err = new Error((text || '').trim() || ('HTTP ' + response.status + ' ' + response.statusText));
      err.status = response.status;
      throw err;
    });
  }

  function errorText(err) {
    if (err instanceof Unauthorized) return '';
    if (err instanceof TypeError) return 'Cannot reach the server (' + err.message + ').';
    return err && err.message ? err.message : String(err);
  }

  // ---------- login ----------

  function showLogin(message) {
    stopTimers();
    generation++;
    $('app-view').hidden = true;
    $('login-view').hidden = false;
    showError($('login-error'), message || '');
    $('login-password').value = '';
    ($('login-user').value ? $('login-password') : $('login-user')).focus();
  }

  function showApp() {
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    route();
  }

  function logout(message) {
    sessionStorage.removeItem(AUTH_KEY);
    showLogin(message);
  }

  $('login-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var user = $('login-user').value.trim();
    var password = $('login-password').value;
    var error = $('login-error');
    if (!user || !password) { showError(error, 'Enter a user name and a password.'); return; }
    var auth = encodeBasic(user, password);
    var button = $('login-submit');
    button.disabled = true;
    showError(error, '');
    api('/system/info', {auth: auth}).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        showError(error, 'Wrong user name or password');
        $('login-password').select();
        return;
      }
      if (!response.ok) { showError(error, 'The server answered ' + response.status + '; try again.'); return; }
      sessionStorage.setItem(AUTH_KEY, auth);
      $('login-password').value = '';
      if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/functions';
      showApp();
    }).catch(function (err) {
      showError(error, errorText(err));
    }).then(function () { button.disabled = false; });
  });

  $('logout').addEventListener('click', function () { logout(''); });

  // ---------- routing ----------

  function route() {
    if (!signedIn()) { showLogin(''); return; }
    stopTimers();
    generation++;
    var hash = location.hash.replace(/^#\/?/, '');
    var parts = hash.split('/');
    var main = clear($('main'));
    var page = parts[0] || 'functions';
    document.querySelectorAll('nav a').forEach(function (a) {
      var target = a.getAttribute('href').slice(2);
      if (target === page || (page === 'function' && target === 'functions')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    if (page === 'function' && parts[1]) renderFunction(main, decodeURIComponent(parts.slice(1).join('/')));
    else if (page === 'store') renderStore(main);
    else if (page === 'queue') renderQueue(main);
    else if (page === 'secrets') renderSecrets(main);
    else if (page === 'nodes') renderNodes(main);
    else renderFunctions(main);
  }

  window.addEventListener('hashchange', function () {
    route();
    var heading = document.querySelector('#main h1');
    if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus({preventScroll: true}); }
  });

  // ---------- data ----------

  var statsMissing = false;   // the server has no /system/stats (404): fall back to /system/functions

  // Resolves to {source: 'stats'|'functions', functions: [...normalised rows]}.
  function loadOverview() {
    function fromFunctions() {
      return apiJSON('/system/functions').then(function (list) {
        return {source: 'functions', functions: (list || []).map(function (f) {
          return {name: f.name, runtime: f.runtime || '', engine: f.engine || '', replicas: f.replicas, availableReplicas: f.availableReplicas,
                  invocations: f.invocationCount, errorRate: null, p50Ms: null, p95Ms: null,
                  deployedAt: f.createdAt || null, series: null};
        })};
      });
    }
    if (statsMissing) return fromFunctions();
    return api('/system/stats').then(function (response) {
      if (response.status === 404) { statsMissing = true; return fromFunctions(); }
      if (!response.ok) return failure(response);
      return response.json().then(function (data) {
        return {source: 'stats', functions: (data && data.functions) || []};
      });
    });
  }

  // ---------- functions list ----------

  function renderFunctions(main) {
    var gen = generation;
    var error = alertBox('functions-error');
    var status = h('p', {class: 'muted', role: 'status'}, 'Loading…');
    var tbody = h('tbody');
    var table = h('table', {class: 'data', id: 'functions-table', hidden: true},
      h('caption', {class: 'visually-hidden'}, 'Deployed functions'),
      h('thead', null, h('tr', null,
        h('th', {scope: 'col'}, 'Name'), h('th', {scope: 'col'}, 'Runtime'),
        h('th', {scope: 'col', class: 'num'}, 'Replicas'), h('th', {scope: 'col', class: 'num'}, 'Invocations'),
        h('th', {scope: 'col', class: 'num'}, 'Error rate'), h('th', {scope: 'col', class: 'num'}, 'p50 / p95 ms'),
        h('th', {scope: 'col'}, 'Last deploy'))),
      tbody);
    var empty = h('div', {class: 'empty', id: 'functions-empty', hidden: true},
      h('p', null, 'No functions yet — deploy one from the ', h('a', {href: '#/store'}, 'store'), '.'));
    append(main, [h('div', {class: 'title-row'}, h('h1', null, 'Functions'),
                    h('a', {class: 'button', href: '#/store'}, 'Deploy from the store')),
                  error, status, empty, h('div', {class: 'table-wrap'}, table)]);

    every(function () {
      return loadOverview().then(function (data) {
        if (gen !== generation) return;
        showError(error, '');
        status.hidden = true;
        var rows = data.functions.slice().sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
        empty.hidden = rows.length > 0;
        table.hidden = rows.length === 0;
        var seen = {};
        rows.forEach(function (f, index) {
          seen[f.name] = true;
          var tr = tbody.querySelector('tr[data-function="' + cssEscape(f.name) + '"]');
          if (!tr) {
            tr = h('tr', {'data-function': f.name},
              h('th', {scope: 'row', class: 'name'}, h('a', {href: '#/function/' + encodeURIComponent(f.name)}, f.name)),
              h('td', {class: 'runtime'}), h('td', {class: 'replicas num'}), h('td', {class: 'invocations num'}),
              h('td', {class: 'error-rate num'}), h('td', {class: 'latency num'}), h('td', {class: 'deployed'}));
          }
          if (tbody.children[index] !== tr) tbody.insertBefore(tr, tbody.children[index] || null);
          setText(tr, '.runtime', (f.runtime || '—') + (f.engine ? ' · ' + f.engine : ''));
          setText(tr, '.replicas', fmtNumber(f.availableReplicas) + ' / ' + fmtNumber(f.replicas));
          setText(tr, '.invocations', fmtNumber(f.invocations));
          setText(tr, '.error-rate', fmtRate(f.errorRate));
          setText(tr, '.latency', fmtMs(f.p50Ms) + ' / ' + fmtMs(f.p95Ms));
          var deployed = tr.querySelector('.deployed');
          deployed.textContent = ago(f.deployedAt);
          if (f.deployedAt) deployed.title = fmtDate(f.deployedAt);
        });
        Array.prototype.slice.call(tbody.children).forEach(function (tr) {
          if (!seen[tr.getAttribute('data-function')]) tbody.removeChild(tr);
        });
      }).catch(function (err) {
        if (gen !== generation) return;
        status.hidden = true;
        showError(error, errorText(err) && 'Could not load the functions: ' + errorText(err));
      });
    });
  }

  function setText(root, selector, text) {
    var el = root.querySelector(selector);
    if (el.textContent !== text) el.textContent = text;
  }

  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, '\\$&'); }

  // ---------- function page ----------

  function renderFunction(main, name) {
    var gen = generation;
    var enc = encodeURIComponent(name);
    var pageError = alertBox('function-error');
    var specBody = h('div', null, h('p', {class: 'muted'}, 'Loading…'));
    var summary = h('p', {class: 'muted', id: 'function-summary'});

    // Charts
    var charts = h('div', {class: 'charts', id: 'charts'}, h('p', {class: 'muted'}, 'No data yet'));

    // Invoke panel
    var method = h('select', {id: 'invoke-method'},
      ['POST', 'GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map(function (m) { return h('option', {value: m}, m); }));
    var query = h('input', {id: 'invoke-query', placeholder: 'a=1&b=2', spellcheck: 'false'});
    var headers = h('textarea', {id: 'invoke-headers', rows: 3, placeholder: 'Content-Type: text/plain', spellcheck: 'false'});
    var body = h('textarea', {id: 'invoke-body', rows: 5, spellcheck: 'false'});
    var file = h('input', {id: 'invoke-file', type: 'file'});
    var clearFile = h('button', {type: 'button', class: 'link', hidden: true, onclick: function () {
      file.value = ''; clearFile.hidden = true; body.disabled = false;
    }}, 'Remove file');
    file.addEventListener('change', function () {
      var has = file.files && file.files.length > 0;
      clearFile.hidden = !has;
      body.disabled = has;
    });
    var submit = h('button', {id: 'invoke-submit', type: 'submit', class: 'primary'}, 'Invoke');
    var invokeError = alertBox('invoke-error');
    var invokeStatus = h('p', {id: 'invoke-status', role: 'status', 'aria-live': 'polite'});
    var invokeHeaders = h('pre', {id: 'invoke-headers-out', class: 'small'});
    var headersDetails = h('details', {hidden: true}, h('summary', null, 'Response headers'), invokeHeaders);
    var invokeOutput = h('pre', {id: 'invoke-output', class: 'output', tabindex: '0', 'aria-label': 'Response body'});
    var invokeImage = h('div', {id: 'invoke-image', hidden: true});
    var invokeForm = h('form', {id: 'invoke-form', class: 'stack'},
      h('div', {class: 'grid2'},
        h('div', null, h('label', {for: 'invoke-method'}, 'Method'), method),
        h('div', null, h('label', {for: 'invoke-query'}, 'Query string'), query)),
      h('label', {for: 'invoke-headers'}, 'Headers (one “Name: value” per line)'), headers,
      h('label', {for: 'invoke-body'}, 'Body'), body,
      h('label', {for: 'invoke-file'}, 'Or send a file as the body'), h('div', {class: 'row'}, file, clearFile),
      h('div', null, submit), invokeError, invokeStatus, headersDetails, invokeOutput, invokeImage);
    invokeForm.addEventListener('submit', function (event) {
      event.preventDefault();
      invoke();
    });

    // Logs
    var logs = h('pre', {id: 'logs', class: 'logs', tabindex: '0', 'aria-label': 'Log lines'});
    var logsEmpty = h('p', {class: 'muted', id: 'logs-empty'}, 'Loading…');
    var logsError = alertBox('logs-error');

    // Scale
    var replicas = h('input', {id: 'scale-replicas', type: 'number', min: '0', max: '100', step: '1', value: '1', inputmode: 'numeric'});
    var scaleMsg = h('p', {id: 'scale-status', role: 'status'});
    var scaleError = alertBox('scale-error');
    var scaleForm = h('form', {class: 'row'},
      h('label', {for: 'scale-replicas'}, 'Replicas'), replicas,
      h('button', {type: 'submit', id: 'scale-submit'}, 'Scale'));
    scaleForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var n = parseInt(replicas.value, 10);
      if (!(n >= 0)) { showError(scaleError, 'Enter a whole number of replicas (0 or more).'); return; }
      showError(scaleError, '');
      scaleMsg.textContent = 'Scaling…';
      api('/system/scale-function/' + enc, {method: 'POST', body: {serviceName: name, replicas: n}}).then(function (r) {
        if (!r.ok) return failure(r);
        scaleMsg.textContent = 'Asked for ' + n + ' replica' + (n === 1 ? '' : 's') + '.';
      }).catch(function (err) { scaleMsg.textContent = ''; showError(scaleError, errorText(err)); });
    });

    // Delete
    var deleteError = alertBox('delete-error');
    var deleteButton = h('button', {type: 'button', id: 'delete-function', class: 'danger'}, 'Delete function…');
    var confirmBox = h('div', {id: 'delete-confirm', class: 'confirm', role: 'group', 'aria-labelledby': 'delete-confirm-text', hidden: true},
      h('p', {id: 'delete-confirm-text'}, 'Delete ', h('strong', null, name), '? Its replicas stop and it can no longer be called.'),
      h('div', {class: 'row'},
        h('button', {type: 'button', id: 'confirm-delete', class: 'danger'}, 'Delete ' + name),
        h('button', {type: 'button', id: 'cancel-delete'}, 'Cancel')));
    deleteButton.addEventListener('click', function () {
      confirmBox.hidden = false;
      deleteButton.hidden = true;
      $('cancel-delete').focus();
    });
    confirmBox.querySelector('#cancel-delete').addEventListener('click', function () {
      confirmBox.hidden = true;
      deleteButton.hidden = false;
      deleteButton.focus();
    });
    confirmBox.querySelector('#confirm-delete').addEventListener('click', function () {
      var button = this;
      button.disabled = true;
      button.textContent = 'Deleting…';
      showError(deleteError, '');
      api('/system/functions', {method: 'DELETE', body: {functionName: name}}).then(function (r) {
        if (!r.ok) return failure(r);
        location.hash = '#/functions';
      }).catch(function (err) {
        button.disabled = false;
        button.textContent = 'Delete ' + name;
        showError(deleteError, errorText(err) && 'Could not delete: ' + errorText(err));
      });
    });

    append(main, [
      h('p', {class: 'crumbs'}, h('a', {href: '#/functions'}, '← Functions')),
      h('h1', null, name), summary, pageError,
      h('div', {class: 'cols'},
        h('section', {'aria-labelledby': 'h-invoke', class: 'card'}, h('h2', {id: 'h-invoke'}, 'Invoke'), invokeForm),
        h('section', {'aria-labelledby': 'h-charts', class: 'card'}, h('h2', {id: 'h-charts'}, 'Last 10 minutes'), charts)),
      h('section', {'aria-labelledby': 'h-logs', class: 'card'},
        h('h2', {id: 'h-logs'}, 'Logs ', h('span', {class: 'muted small'}, '(last 100 lines, following live)')),
        logsError, logsEmpty, logs),
      h('div', {class: 'cols'},
        h('section', {'aria-labelledby': 'h-spec', class: 'card'}, h('h2', {id: 'h-spec'}, 'Specification'), specBody),
        h('section', {'aria-labelledby': 'h-manage', class: 'card'}, h('h2', {id: 'h-manage'}, 'Manage'),
          h('h3', null, 'Scale'),
          h('p', {class: 'muted small'}, 'Replicas matter for http functions; wasm and process functions scale on their own.'),
          scaleForm, scaleError, scaleMsg,
          h('h3', null, 'Delete'), deleteButton, confirmBox, deleteError))
    ]);

    // Spec (once)
    apiJSON('/system/function/' + enc).then(function (f) {
      if (gen !== generation) return;
      replicas.value = String(typeof f.replicas === 'number' ? f.replicas : 1);
      renderSpec(specBody, f);
    }).catch(function (err) {
      if (gen !== generation) return;
      clear(specBody);
      showError(pageError, err.status === 404 ? 'There is no function named “' + name + '”.' : errorText(err));
    });

    // Stats + logs, every 2 s
    var followBottom = true;
    logs.addEventListener('scroll', function () {
      followBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 8;
    });
    every(function () {
      var stats = loadOverview().then(function (data) {
        if (gen !== generation) return;
        var f = data.functions.filter(function (x) { return x.name === name; })[0];
        if (!f) { summary.textContent = ''; return; }
        summary.textContent = [
          f.runtime ? 'Runtime ' + f.runtime + (f.engine ? ' on ' + f.engine : '') : '',
          'replicas ' + fmtNumber(f.availableReplicas) + ' / ' + fmtNumber(f.replicas),
          fmtNumber(f.invocations) + ' invocations',
          f.errorRate !== null && f.errorRate !== undefined ? 'error rate ' + fmtRate(f.errorRate) : '',
          f.p50Ms !== null && f.p50Ms !== undefined ? 'p50 ' + fmtMs(f.p50Ms) + ' ms, p95 ' + fmtMs(f.p95Ms) + ' ms' : ''
        ].filter(Boolean).join(' · ');
        renderCharts(charts, f.series);
      }).catch(function () {});
      var log = api('/system/logs?name=' + enc + '&tail=100').then(function (r) {
        if (!r.ok) return failure(r);
        return r.text();
      }).then(function (text) {
        if (gen !== generation) return;
        showError(logsError, '');
        var lines = [];
        text.split('\n').forEach(function (line) {
          if (!line.trim()) return;
          try {
            var entry = JSON.parse(line);
            var ts = entry.timestamp ? new Date(entry.timestamp) : null;
            var stamp = ts && !isNaN(ts.getTime()) ? ts.toLocaleTimeString() : (entry.timestamp || '');
            lines.push((stamp ? stamp + ' ' : '') + (entry.instance ? '[' + entry.instance + '] ' : '') + (entry.text || '').replace(/\n$/, ''));
          } catch (e) { lines.push(line); }
        });
        var joined = lines.join('\n');
        logsEmpty.textContent = lines.length ? '' : 'No log lines yet.';
        logsEmpty.hidden = lines.length > 0;
        if (logs.textContent !== joined) {
          logs.textContent = joined;
          if (followBottom) logs.scrollTop = logs.scrollHeight;
        }
      }).catch(function (err) {
        if (gen !== generation || err.status === 404) return;
        showError(logsError, errorText(err) && 'Could not load the logs: ' + errorText(err));
      });
      return Promise.all([stats, log]);
    });

    function invoke() {
      showError(invokeError, '');
      var m = method.value;
      var hdrs = new Headers();
      var bad = [];
      headers.value.split('\n').forEach(function (line, i) {
        if (!line.trim()) return;
        var colon = line.indexOf(':');
        if (colon <= 0) { bad.push(i + 1); return; }
        try { hdrs.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim()); } catch (e) { bad.push(i + 1); }
      });
      if (bad.length) { showError(invokeError, 'Header line ' + bad.join(', ') + ' is not “Name: value”.'); return; }
      var q = query.value.trim().replace(/^\?/, '');
      var url = '/function/' + enc + (q ? '?' + q : '');
      var payload;
      if (m !== 'GET' && m !== 'HEAD') {
        if (file.files && file.files.length) {
          payload = file.files[0];
          if (!hdrs.has('Content-Type') && payload.type) hdrs.set('Content-Type', payload.type);
        } else if (body.value !== '') {
          payload = body.value;
        }
      }
      submit.disabled = true;
      invokeStatus.textContent = 'Calling…';
      var started = performance.now();
      fetch(url, {method: m, headers: hdrs, body: payload, credentials: 'omit', cache: 'no-store'}).then(function (r) {
        return r.blob().then(function (blob) {
          if (gen !== generation) return;
          var measured = (performance.now() - started) / 1000;
          var reported = parseFloat(r.headers.get('X-Duration-Seconds'));
          var duration = isFinite(reported) ? reported : measured;
          var ms = duration * 1000;
          invokeStatus.textContent = r.status + ' ' + (r.statusText || '') + ' · ' +
            (ms < 10 ? ms.toFixed(2) : Math.round(ms)) + ' ms' + (isFinite(reported) ? '' : ' (measured)') +
            ' · ' + blob.size + ' bytes';
          invokeStatus.className = r.ok ? 'ok' : 'bad';
          var lines = [];
          r.headers.forEach(function (value, key) { lines.push(key + ': ' + value); });
          invokeHeaders.textContent = lines.join('\n');
          headersDetails.hidden = false;
          var type = (r.headers.get('Content-Type') || '').toLowerCase();
          if (lastInvokeImage) { URL.revokeObjectURL(lastInvokeImage); lastInvokeImage = null; }
          clear(invokeImage);
          if (type.indexOf('image/') === 0) {
            lastInvokeImage = URL.createObjectURL(blob);
            invokeOutput.textContent = '';
            invokeOutput.hidden = true;
            invokeImage.appendChild(h('img', {src: lastInvokeImage, alt: 'Image returned by ' + name}));
            invokeImage.hidden = false;
            return;
          }
          invokeImage.hidden = true;
          invokeOutput.hidden = false;
          return blob.text().then(function (text) { invokeOutput.textContent = text === '' ? '' : text; });
        });
      }).catch(function (err) {
        invokeStatus.textContent = '';
        showError(invokeError, 'The call failed: ' + errorText(err));
      }).then(function () { submit.disabled = false; });
    }
  }

  function renderSpec(container, f) {
    clear(container);
    var dl = h('dl', {class: 'spec'});
    function row(label, value) {
      dl.appendChild(h('dt', null, label));
      dl.appendChild(h('dd', null, value === undefined || value === null || value === '' ? '—' : value));
    }
    function map(obj) {
      var keys = obj ? Object.keys(obj) : [];
      if (!keys.length) return '—';
      return h('ul', {class: 'kv'}, keys.sort().map(function (k) {
        return h('li', null, h('code', null, k), ' = ', h('code', null, String(obj[k])));
      }));
    }
    row('Image', f.image ? h('code', null, f.image) : '');
    row('Digest', f.digest ? h('code', {class: 'break'}, f.digest) : '');
    row('Runtime', f.runtime);
    if (f.engine) row('Wasm engine', f.engine);
    row('Process', f.envProcess ? h('code', null, f.envProcess) : '');
    row('Replicas', fmtNumber(f.availableReplicas) + ' available of ' + fmtNumber(f.replicas));
    row('Created', f.createdAt ? fmtDate(f.createdAt) : '');
    row('Environment', map(f.envVars));
    row('Labels', map(f.labels));
    row('Annotations', map(f.annotations));
    var limits = f.limits && typeof f.limits === 'object' ? f.limits : null;
    row('Limits', limits ? map(limits) : '—');
    var secrets = Array.isArray(f.secrets) ? f.secrets : [];
    row('Secrets', secrets.length ? h('ul', {class: 'kv'}, secrets.map(function (s) {
      return h('li', null, h('code', null, typeof s === 'string' ? s : (s && s.name) || '?'));
    })) : '—');
    var t = f.trigger;
    if (t && typeof t === 'object') {
      var last = t.lastRun ? fmtDate(t.lastRun.tick) + ' → ' + (t.lastRun.status ? String(t.lastRun.status) : 'failed') +
        (t.lastRun.error ? ' (' + t.lastRun.error + ')' : '') : 'not yet';
      row('Timer trigger', h('ul', {class: 'kv timer'}, [
        h('li', null, h('code', null, String(t.schedule)), ' ', String(t.timezone || 'UTC') + (t.target ? ' → :' + t.target : '')),
        h('li', null, 'Next run ', t.nextRun ? fmtDate(t.nextRun) : '—'),
        h('li', null, 'Last run ', last)
      ]));
    }
    var versions = Array.isArray(f.versions) ? f.versions : [];
    if (versions.length) {
      row('Versions', h('ul', {class: 'kv versions'}, versions.map(function (v) {
        var weights = Object.keys(v.aliases || {}).sort().map(function (a) { return a + ' ' + v.aliases[a] + '%'; }).join(', ');
        return h('li', null, h('code', null, f.name + ':' + v.version), ' ', h('code', {class: 'break'}, String(v.digest || v.image || '').slice(0, 19)),
          ' · ' + fmtNumber(v.invocationCount) + ' calls' + (weights ? ' · ' + weights : '') + (v.description ? ' · ' + v.description : ''));
      })));
    }
    var aliases = Array.isArray(f.aliases) ? f.aliases : [];
    if (aliases.length) {
      row('Aliases', h('ul', {class: 'kv aliases'}, aliases.map(function (a) {
        return h('li', null, h('code', null, f.name + ':' + a.name), ' → ', (a.routes || []).map(function (r) {
          return 'version ' + r.version + ' ' + r.weight + '%';
        }).join(', '));
      })));
    }
    container.appendChild(dl);
  }

  // Two small SVG charts: calls per 10 s (bars) and p50 latency (line).
  function renderCharts(container, series) {
    if (!Array.isArray(series) || series.length === 0) {
      if (container.getAttribute('data-state') !== 'empty') {
        clear(container).appendChild(h('p', {class: 'muted'}, 'No data yet'));
        container.setAttribute('data-state', 'empty');
      }
      return;
    }
    container.setAttribute('data-state', 'data');
    var now = Date.now() / 1000;
    var end = Math.max(now, series[series.length - 1].t + 10);
    var start = end - 600;
    var points = series.filter(function (p) { return p.t + 10 > start; });
    clear(container);
    var totalCalls = points.reduce(function (s, p) { return s + (p.calls || 0); }, 0);
    var totalErrors = points.reduce(function (s, p) { return s + (p.errors || 0); }, 0);
    container.appendChild(chart('Calls per 10 s', points, start, function (p) { return p.calls || 0; }, 'bars',
      totalCalls + ' calls, ' + totalErrors + ' errors in the last 10 minutes', function (p) { return p.errors || 0; }));
    var withLatency = points.filter(function (p) { return typeof p.p50Ms === 'number' && (p.calls || 0) > 0; });
    container.appendChild(chart('p50 latency (ms)', withLatency, start, function (p) { return p.p50Ms; }, 'line',
      withLatency.length ? 'latest p50 ' + fmtMs(withLatency[withLatency.length - 1].p50Ms) + ' ms' : 'no calls'));
  }

  function chart(title, points, start, value, kind, description, errorValue) {
    var W = 300, H = 90, top = 8, bottom = 14;
    var max = 0;
    points.forEach(function (p) { max = Math.max(max, value(p)); });
    var scaleMax = max > 0 ? niceMax(max) : 1;
    function x(t) { return ((t - start) / 600) * W; }
    function y(v) { return top + (H - top - bottom) * (1 - v / scaleMax); }
    var ns = 'http://www.w3.org/2000/svg';
    function s(tag, attrs) {
      var el = document.createElementNS(ns, tag);
      Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
      return el;
    }
    var label = title + ': ' + description;
    var svg = s('svg', {viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label, class: 'chart', preserveAspectRatio: 'none'});
    var t = s('title'); t.textContent = label; svg.appendChild(t);
    svg.appendChild(s('path', {d: 'M0 ' + y(0) + 'H' + W, class: 'axis'}));
    svg.appendChild(s('path', {d: 'M0 ' + y(scaleMax) + 'H' + W, class: 'grid'}));
    var d = '';
    if (kind === 'bars') {
      var dErr = '';
      var bw = Math.max(1, W / 60 - 1);
      points.forEach(function (p) {
        var v = value(p); if (v <= 0) return;
        d += 'M' + x(p.t).toFixed(1) + ' ' + y(0).toFixed(1) + 'v' + (y(v) - y(0)).toFixed(1) + 'h' + bw.toFixed(1) + 'V' + y(0).toFixed(1) + 'Z';
        var e = errorValue ? errorValue(p) : 0;
        if (e > 0) dErr += 'M' + x(p.t).toFixed(1) + ' ' + y(0).toFixed(1) + 'v' + (y(e) - y(0)).toFixed(1) + 'h' + bw.toFixed(1) + 'V' + y(0).toFixed(1) + 'Z';
      });
      svg.appendChild(s('path', {d: d || 'M0 0', class: 'bars'}));
      if (dErr) svg.appendChild(s('path', {d: dErr, class: 'errbars'}));
    } else {
      points.forEach(function (p, i) {
        d += (i ? 'L' : 'M') + (x(p.t) + 5).toFixed(1) + ' ' + y(value(p)).toFixed(1);
      });
      if (d) svg.appendChild(s('path', {d: d, class: 'line'}));
      points.forEach(function (p) {
        svg.appendChild(s('circle', {cx: (x(p.t) + 5).toFixed(1), cy: y(value(p)).toFixed(1), r: '1.6', class: 'dot'}));
      });
    }
    var maxText = s('text', {x: '2', y: String(top - 1), class: 'tick'}); maxText.textContent = fmtMs(scaleMax);
    var leftText = s('text', {x: '2', y: String(H - 2), class: 'tick'}); leftText.textContent = '−10 min';
    var rightText = s('text', {x: String(W - 2), y: String(H - 2), class: 'tick', 'text-anchor': 'end'}); rightText.textContent = 'now';
    svg.appendChild(maxText); svg.appendChild(leftText); svg.appendChild(rightText);
    return h('figure', {class: 'chart-box'}, h('figcaption', null, h('strong', null, title), ' ', h('span', {class: 'muted small'}, description)), svg);
  }

  function niceMax(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  // ---------- store ----------

  function renderStore(main) {
    var gen = generation;
    var error = alertBox('store-error');
    var list = h('div', {class: 'store-list'}, h('p', {class: 'muted'}, 'Loading…'));
    append(main, [h('h1', null, 'Store'),
      h('p', {class: 'muted'}, 'Ready-made functions: deploy one with a click.'), error, list, uploadForm()]);
    api('/system/store').then(function (r) {
      if (r.status === 404) return null;
      if (!r.ok) return failure(r);
      return r.json();
    }).then(function (entries) {
      if (gen !== generation) return;
      clear(list);
      if (entries === null) { list.appendChild(h('p', {class: 'empty'}, 'This server has no store.')); return; }
      if (!entries || !entries.length) { list.appendChild(h('p', {class: 'empty'}, 'The store is empty.')); return; }
      entries.forEach(function (entry) {
        var status = h('p', {class: 'store-status', 'data-store-status': entry.id, role: 'status', 'aria-live': 'polite'});
        var button = h('button', {type: 'button', class: 'primary', 'data-deploy': entry.id,
                                  'aria-describedby': 'store-title-' + entry.id}, 'Deploy');
        button.addEventListener('click', function () { deploy(entry.id, button, status); });
        list.appendChild(h('article', {class: 'card store-entry'},
          h('h2', {id: 'store-title-' + entry.id}, entry.title || entry.id),
          entry.language ? h('p', {class: 'tag'}, entry.language) : null,
          h('p', null, entry.description || ''),
          h('div', {class: 'row'}, button, status)));
        showDeploy(entry.id, button, status);
      });
    }).catch(function (err) {
      if (gen !== generation) return;
      clear(list);
      showError(error, errorText(err) && 'Could not load the store: ' + errorText(err));
    });
  }

  // Deploy your own: upload a .wasm module or a .tar.gz bundle (from `stratus build`) under a name.
  function uploadForm() {
    var name = h('input', {id: 'upload-name', type: 'text', required: 'required', pattern: '[a-z0-9]([a-z0-9-]*[a-z0-9])?',
                           autocomplete: 'off', placeholder: 'my-function'});
    var file = h('input', {id: 'upload-file', type: 'file', required: 'required', accept: '.wasm,.gz,.tgz,application/wasm,application/gzip'});
    var command = h('input', {id: 'upload-fprocess', type: 'text', autocomplete: 'off', placeholder: 'python3 index.py'});
    var status = h('p', {id: 'upload-status', class: 'store-status', role: 'status', 'aria-live': 'polite'});
    var submit = h('button', {type: 'submit', class: 'primary', id: 'upload-submit'}, 'Upload and deploy');
    var form = h('form', {class: 'card', 'aria-labelledby': 'upload-title'},
      h('h2', {id: 'upload-title'}, 'Deploy an artifact'),
      h('p', {class: 'muted'}, 'A .wasm module, or a .tar.gz bundle with the command that runs it (fprocess).'),
      h('label', {for: 'upload-name'}, 'Function name'), name,
      h('label', {for: 'upload-file'}, 'Artifact'), file,
      h('label', {for: 'upload-fprocess'}, 'Command for a bundle (optional)'), command,
      h('div', {class: 'row'}, submit, status));
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var fn = name.value.trim();
      if (!fn || !file.files.length) { status.textContent = 'Choose a name and a file.'; return; }
      submit.disabled = true;
      status.className = 'store-status';
      status.textContent = 'Uploading…';
      var image = fn + ':latest';
      api('/system/artifacts?name=' + encodeURIComponent(image), {method: 'POST', body: file.files[0]}).then(function (r) {
        if (!r.ok) return failure(r);
        var deployment = {service: fn, image: image};
        if (command.value.trim()) deployment.envProcess = command.value.trim();
        status.textContent = 'Deploying…';
        return api('/system/functions', {method: 'PUT', body: deployment}).then(function (r2) {
          if (r2.status === 404) return api('/system/functions', {method: 'POST', body: deployment});
          return r2;
        });
      }).then(function (r) {
        if (!r.ok) return failure(r);
        status.classList.add('ok');
        clear(status);
        append(status, ['Deployed — ', h('a', {href: '#/function/' + encodeURIComponent(fn)}, 'open ' + fn)]);
      }).catch(function (err) {
        status.classList.add('bad');
        status.textContent = 'Failed: ' + (errorText(err) || 'upload failed');
      }).then(function () { submit.disabled = false; });
    });
    return form;
  }

  function deploy(id, button, status) {
    deployState[id] = {state: 'deploying'};
    showDeploy(id, button, status);
    api('/system/store/' + encodeURIComponent(id), {method: 'POST'}).then(function (r) {
      if (!r.ok) return failure(r);
      return r.text().then(function (text) {
        var fn = id;
        try { fn = (JSON.parse(text) || {}).function || id; } catch (e) {}
        deployState[id] = {state: 'deployed', fn: fn};
      });
    }).catch(function (err) {
      deployState[id] = {state: 'failed', text: errorText(err) || 'Deploy failed.'};
    }).then(function () {
      // The page may have been re-rendered meanwhile: update whatever elements show this entry now.
      var b = document.querySelector('button[data-deploy="' + cssEscape(id) + '"]');
      var s = document.querySelector('[data-store-status="' + cssEscape(id) + '"]');
      if (b && s) showDeploy(id, b, s);
    });
  }

  function showDeploy(id, button, status) {
    var st = deployState[id];
    clear(status);
    status.className = 'store-status';
    button.disabled = !!st && st.state === 'deploying';
    if (!st) { button.textContent = 'Deploy'; return; }
    if (st.state === 'deploying') { button.textContent = 'Deploy'; status.textContent = 'Deploying…'; return; }
    if (st.state === 'deployed') {
      button.textContent = 'Deploy again';
      status.classList.add('ok');
      append(status, ['Deployed — ', h('a', {href: '#/function/' + encodeURIComponent(st.fn)}, 'open ' + st.fn)]);
      return;
    }
    button.textContent = 'Try again';
    status.classList.add('bad');
    status.textContent = 'Failed: ' + st.text;
  }

  // ---------- queue ----------

  function renderQueue(main) {
    var gen = generation;
    var error = alertBox('queue-error');
    var counts = h('ul', {class: 'counts', 'aria-label': 'Calls by state'});
    var body = h('div', null, h('p', {class: 'muted'}, 'Loading…'));
    append(main, [h('h1', null, 'Queue'),
      h('p', {class: 'muted'}, 'Asynchronous calls (POST /async-function/NAME).'), error, counts, body]);
    var last = '';
    every(function () {
      return apiJSON('/system/queue?limit=100').then(function (q) {
        if (gen !== generation) return;
        showError(error, '');
        var key = JSON.stringify(q);
        if (key === last) return;
        last = key;
        clear(counts);
        ['pending', 'running', 'delivering', 'failed'].forEach(function (state) {
          counts.appendChild(h('li', {class: 'count-' + state}, h('span', {class: 'count'}, fmtNumber(q[state] || 0)), ' ', state));
        });
        var calls = q.calls || [];
        var focusedId = document.activeElement && document.activeElement.getAttribute('data-call');
        var focusedAction = document.activeElement && document.activeElement.getAttribute('data-action');
        clear(body);
        if (!calls.length) { body.appendChild(h('p', {class: 'empty'}, 'The queue is empty.')); return; }
        var tbody = h('tbody');
        calls.forEach(function (c) {
          var actions = h('td', {class: 'actions'});
          if (c.state === 'failed') actions.appendChild(h('button', {type: 'button', 'data-call': c.id, 'data-action': 'retry',
            'aria-label': 'Retry call ' + c.id, onclick: function () { queueAction(c.id, 'retry', error); }}, 'Retry'));
          actions.appendChild(h('button', {type: 'button', 'data-call': c.id, 'data-action': 'cancel',
            'aria-label': 'Cancel call ' + c.id, onclick: function () { queueAction(c.id, 'cancel', error); }}, 'Cancel'));
          tbody.appendChild(h('tr', {'data-call': c.id},
            h('td', null, h('code', {title: c.id}, String(c.id).slice(0, 8))),
            h('td', null, c['function'] ? h('a', {href: '#/function/' + encodeURIComponent(c['function'])}, c['function']) : '—'),
            h('td', null, h('span', {class: 'state state-' + c.state}, c.state)),
            h('td', {class: 'num'}, fmtNumber(c.attempts)),
            h('td', {class: 'num'}, c.lastStatus ? String(c.lastStatus) : '—'),
            h('td', {class: 'wrap'}, c.lastError || '—'),
            h('td', null, c.createdAt ? ago(c.createdAt) : '—'),
            actions));
        });
        body.appendChild(h('div', {class: 'table-wrap'}, h('table', {class: 'data'},
          h('caption', {class: 'visually-hidden'}, 'Queued calls'),
          h('thead', null, h('tr', null, ['Call', 'Function', 'State', 'Attempts', 'Last status', 'Last error', 'Created', 'Actions']
            .map(function (t) { return h('th', {scope: 'col'}, t); }))),
          tbody)));
        if (focusedId) {
          var again = body.querySelector('button[data-call="' + cssEscape(focusedId) + '"][data-action="' + focusedAction + '"]');
          if (again) again.focus();
        }
      }).catch(function (err) {
        if (gen !== generation) return;
        showError(error, errorText(err) && 'Could not load the queue: ' + errorText(err));
      });
    });
  }

  function queueAction(id, action, error) {
    var path = '/system/queue/' + encodeURIComponent(id) + (action === 'retry' ? '/retry' : '');
    api(path, {method: action === 'retry' ? 'POST' : 'DELETE'}).then(function (r) {
      if (!r.ok) return failure(r);
      showError(error, '');
    }).catch(function (err) {
      showError(error, errorText(err) && 'Could not ' + action + ' the call: ' + errorText(err));
    });
  }

  // ---------- secrets ----------

  // The live nodes of the cluster (one on the embedded store), refreshed like the other pages.
  function renderNodes(main) {
    var gen = generation;
    var error = alertBox('nodes-error');
    var body = h('div', {id: 'nodes-list'}, h('p', {class: 'muted'}, 'Loading…'));
    append(main, [h('h1', null, 'Nodes'),
      h('p', {class: 'muted'}, 'Every node serves every function; a node silent for 10 s is not listed.'), error, body]);
    every(function () {
      return apiJSON('/system/nodes').then(function (nodes) {
        if (gen !== generation) return;
        showError(error, '');
        clear(body);
        nodes = nodes || [];
        if (!nodes.length) { body.appendChild(h('p', {class: 'empty'}, 'No live node has written a heartbeat yet.')); return; }
        var tbody = h('tbody');
        nodes.forEach(function (n) {
          tbody.appendChild(h('tr', {'data-node': n.id},
            h('td', null, h('code', null, n.id)),
            h('td', {class: 'wrap'}, n.address),
            h('td', null, n.version),
            h('td', {class: 'num'}, fmtNumber(n.functions)),
            h('td', {class: 'num'}, fmtNumber(n.inflight)),
            h('td', null, n.heartbeatAt ? ago(n.heartbeatAt) : '—')));
        });
        body.appendChild(h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'nodes-table'},
          h('caption', {class: 'visually-hidden'}, 'Live nodes'),
          h('thead', null, h('tr', null, ['Node', 'Address', 'Version', 'Functions', 'In flight', 'Heartbeat']
            .map(function (t) { return h('th', {scope: 'col'}, t); }))),
          tbody)));
      }).catch(function (err) {
        if (gen !== generation) return;
        showError(error, errorText(err) && 'Could not load the nodes: ' + errorText(err));
      });
    });
  }

  function renderSecrets(main) {
    var gen = generation;
    var error = alertBox('secrets-error');
    var formError = alertBox('secret-form-error');
    var formStatus = h('p', {role: 'status', id: 'secret-form-status'});
    var list = h('div', {id: 'secrets-list'}, h('p', {class: 'muted'}, 'Loading…'));
    var nameInput = h('input', {id: 'secret-name', required: true, autocomplete: 'off', spellcheck: 'false',
                                pattern: '[A-Za-z0-9][A-Za-z0-9._-]*'});
    var valueInput = h('input', {id: 'secret-value', type: 'password', required: true, autocomplete: 'new-password'});
    var form = h('form', {class: 'card stack', id: 'secret-form'},
      h('h2', null, 'Create or update a secret'),
      h('label', {for: 'secret-name'}, 'Name'), nameInput,
      h('label', {for: 'secret-value'}, 'Value'), valueInput,
      h('div', null, h('button', {type: 'submit', class: 'primary', id: 'secret-submit'}, 'Save secret')),
      formError, formStatus);
    append(main, [h('h1', null, 'Secrets'),
      h('p', {class: 'muted'}, 'Functions read secrets as files; values are never shown here.'), error,
      h('div', {class: 'cols'}, h('section', {class: 'card', 'aria-labelledby': 'h-secret-list'},
        h('h2', {id: 'h-secret-list'}, 'Secrets'), list), form)]);

    function load() {
      return apiJSON('/system/secrets').then(function (secrets) {
        if (gen !== generation) return;
        showError(error, '');
        clear(list);
        secrets = (secrets || []).slice().sort(function (a, b) { return a.name < b.name ? -1 : 1; });
        if (!secrets.length) { list.appendChild(h('p', {class: 'empty'}, 'No secrets yet — create one with the form.')); return; }
        list.appendChild(h('ul', {class: 'secret-list'}, secrets.map(function (s) {
          return h('li', {'data-secret': s.name}, h('code', null, s.name),
            h('button', {type: 'button', class: 'danger small', 'aria-label': 'Delete secret ' + s.name, onclick: function () {
              this.disabled = true;
              api('/system/secrets', {method: 'DELETE', body: {name: s.name}}).then(function (r) {
                if (!r.ok) return failure(r);
                formStatus.textContent = 'Deleted ' + s.name + '.';
                return load();
              }).catch(function (err) { showError(error, errorText(err) && 'Could not delete: ' + errorText(err)); load(); });
            }}, 'Delete'));
        })));
      }).catch(function (err) {
        if (gen !== generation) return;
        clear(list);
        showError(error, errorText(err) && 'Could not load the secrets: ' + errorText(err));
      });
    }

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var name = nameInput.value.trim();
      var value = valueInput.value;
      if (!name || !value) { showError(formError, 'Enter a name and a value.'); return; }
      showError(formError, '');
      formStatus.textContent = 'Saving…';
      var payload = {name: name, value: value};
      api('/system/secrets', {method: 'POST', body: payload}).then(function (r) {
        if (r.status === 409) {
          return api('/system/secrets', {method: 'PUT', body: payload}).then(function (r2) {
            if (!r2.ok) return failure(r2);
            return 'Updated ' + name + '.';
          });
        }
        if (!r.ok) return failure(r);
        return 'Created ' + name + '.';
      }).then(function (message) {
        formStatus.textContent = message;
        valueInput.value = '';
        nameInput.value = '';
        return load();
      }).catch(function (err) {
        formStatus.textContent = '';
        showError(formError, errorText(err));
      });
    });
    load();
  }

  // ---------- start ----------

  // With auth off the app opens at once on the functions list, and says that auth is off.
  fetch('/system/info', {credentials: 'omit', cache: 'no-store'}).then(function (response) {
    if (response.ok) {
      authOff = true;
      $('logout').hidden = true;
      $('auth-off').hidden = false;
      if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/functions';
    }
  }).catch(function () { /* unreachable now: the login form or the app says so on the next call */ })
    .then(function () { if (signedIn()) showApp(); else showLogin(''); });
})();