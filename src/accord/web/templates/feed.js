// The live feed: rows prepended to #feed from the server-sent events at ROOT/stream. An outcome
// or a revocation also updates the touch's status wherever the page shows it (data-touch).
(function(){
  var state = document.getElementById('live-state');
  var body = document.querySelector('#feed tbody');
  function cell(tr, text, cls){ var td = document.createElement('td');
    if (cls) { var s = document.createElement('span'); s.className = cls; s.textContent = text;
      td.appendChild(s); } else { td.textContent = text; } tr.appendChild(td); return td; }
  function link(td, href, text){ var a = document.createElement('a'); a.href = href;
    a.textContent = text; td.appendChild(a); return a; }
  function touch(id, status){
    document.querySelectorAll('[data-touch]').forEach(function(s){
      if (s.dataset.touch === id) { s.textContent = status; s.className = 'badge ' + status; }
    });
  }
  function add(kind, d){
    var empty = body.querySelector('td.empty'); if (empty) empty.parentNode.remove();
    var tr = document.createElement('tr'); tr.dataset.kind = kind;
    if (kind === 'decision') {
      tr.dataset.decision = d.id;
      cell(tr, new Date().toISOString().slice(11, 19));
      cell(tr, d.outcome, 'badge ' + d.outcome);
      cell(tr, d.agent);
      link(cell(tr, ''), ROOT + '/customers/' + encodeURIComponent(d.customer), d.customer);
      cell(tr, d.intent + ' by ' + d.channel);
      var why = cell(tr, (d.rules || []).join(', ') + ' ');
      if (d.touch_id) { var s = document.createElement('span'); s.className = 'badge pending';
        s.dataset.touch = d.touch_id; s.textContent = 'pending'; why.appendChild(s);
        why.appendChild(document.createTextNode(' ')); }
      link(why, ROOT + '/traces/' + encodeURIComponent(d.trace || d.id), d.id);
    } else {
      cell(tr, new Date().toISOString().slice(11, 19));
      cell(tr, kind, 'badge ' + kind);
      cell(tr, (d.agents || []).join(', '));
      cell(tr, d.customer || '');
      cell(tr, d.status || d.action || '');
      cell(tr, d.why || d.touch_id || d.decision_id || '');
      if (kind === 'outcome' && d.touch_id) touch(d.touch_id, d.status);
      if (kind === 'revocation' && d.touch_id) touch(d.touch_id, 'revoked');
    }
    body.insertBefore(tr, body.firstChild);
    while (body.children.length > 200) body.removeChild(body.lastChild);
  }
  var es = new EventSource(ROOT + '/stream');
  es.onopen = function(){ state.textContent = 'live'; state.className = 'open'; };
  es.onerror = function(){ state.textContent = 'reconnecting…'; state.className = ''; };
  ['decision','revocation','outcome','handoff','handoff_ack','claim','seat'].forEach(function(k){
    es.addEventListener(k, function(ev){ add(k, JSON.parse(ev.data)); });
  });
})();
