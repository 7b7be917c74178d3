// Stratus image classifier demo: sends the chosen photo's bytes to the classify function and
// shows its top-3 labels. Vanilla JS, no dependencies; every URL is relative to this page.
(function () {
  'use strict';

  var endpoint = new URL('../../function/classify', location.href);
  var fileInput = document.getElementById('file');
  var drop = document.getElementById('drop');
  var preview = document.getElementById('preview');
  var results = document.getElementById('results');
  var timeEl = document.getElementById('time');
  var errorEl = document.getElementById('error');
  var statusEl = document.getElementById('status');
  var previewURL = null;
  var generation = 0; // ignores answers to photos the user has since replaced

  function setStatus(text) { statusEl.textContent = text; }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
  }

  function clearError() {
    errorEl.textContent = '';
    errorEl.hidden = true;
  }

  function showEmpty(text) {
    results.textContent = '';
    var li = document.createElement('li');
    li.className = 'empty';
    li.textContent = text;
    results.appendChild(li);
  }

  function showResults(entries) {
    results.textContent = '';
    entries.slice(0, 3).forEach(function (entry) {
      var probability = Math.max(0, Math.min(1, Number(entry.probability) || 0));
      var percent = (probability * 100).toFixed(2) + '%';

      var li = document.createElement('li');
      li.className = 'result';
      var label = document.createElement('span');
      label.className = 'label';
      label.textContent = entry.label;
      var pct = document.createElement('span');
      pct.className = 'percent';
      pct.textContent = percent;
      var track = document.createElement('div');
      track.className = 'track';
      var bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = (probability * 100) + '%';
      bar.setAttribute('role', 'presentation');
      track.appendChild(bar);
      li.appendChild(label);
      li.appendChild(pct);
      li.appendChild(track);
      li.setAttribute('aria-label', entry.label + ': ' + percent);
      results.appendChild(li);
    });
    if (!results.children.length) showEmpty('The function answered no labels.');
  }

  function showPreview(file) {
    if (previewURL) URL.revokeObjectURL(previewURL);
    previewURL = URL.createObjectURL(file);
    preview.src = previewURL;
    preview.alt = 'Preview of ' + file.name;
    preview.hidden = false;
  }

  async function classify(file) {
    var mine = ++generation;
    clearError();
    timeEl.textContent = '–';
    showEmpty('Classifying ' + file.name + '…');
    setStatus('Classifying…');
    if (file.type.indexOf('image/') === 0) showPreview(file);
    else { preview.hidden = true; preview.removeAttribute('src'); }

    var started = performance.now();
    try {
      var response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'Accept': 'application/json',
          'Content-Type': file.type || 'application/octet-stream'
        },
        body: file
      });
      var text = await response.text();
      var elapsed = performance.now() - started;
      if (mine !== generation) return;
      timeEl.textContent = Math.round(elapsed) + ' ms';
      if (!response.ok) {
        var reason = text.trim() || response.statusText || 'no reason given';
        var kind = response.status < 500 ? 'The photo was rejected' : 'The server failed';
        throw new Error(kind + ' (HTTP ' + response.status + '): ' + reason);
      }
      var entries;
      try { entries = JSON.parse(text); } catch (e) {
        throw new Error('The function answered something that is not JSON: ' + text.slice(0, 200));
      }
      if (!Array.isArray(entries)) throw new Error('The function answered unexpected JSON.');
      showResults(entries);
      setStatus('Done');
    } catch (err) {
      if (mine !== generation) return;
      if (timeEl.textContent === '–') timeEl.textContent = Math.round(performance.now() - started) + ' ms';
      var message = err instanceof TypeError
        ? 'Network error: could not reach the classify function (' + err.message + ').'
        : err.message;
      showEmpty('No results.');
      showError(message);
      setStatus('Error');
    }
  }

  function take(files) {
    if (files && files.length) classify(files[0]);
  }

  fileInput.addEventListener('change', function () { take(fileInput.files); });

  drop.addEventListener('click', function () { fileInput.click(); });
  drop.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      fileInput.click();
    }
  });
  ['dragenter', 'dragover'].forEach(function (type) {
    drop.addEventListener(type, function (event) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      drop.classList.add('over');
    });
  });
  ['dragleave', 'dragend'].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (event) {
    event.preventDefault();
    drop.classList.remove('over');
    take(event.dataTransfer && event.dataTransfer.files);
  });
  // A photo dropped next to the zone should not make the browser navigate away from the page.
  window.addEventListener('dragover', function (event) { event.preventDefault(); });
  window.addEventListener('drop', function (event) { event.preventDefault(); });
})();
