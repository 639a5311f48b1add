// The live feed: rows prepended to #feed from the server-sent events at ROOT/stream.
(function(){
  var state = document.getElementById('live-state');
  var body = document.querySelector('#feed tbody');
  function cell(tr, text, cls){ var td = document.createElement('td');
    if (cls) { var s = document.createElement('span'); s.className = cls; s.textContent = text;
      td.appendChild(s); } else { td.textContent = text; } tr.appendChild(td); return td; }
  function add(kind, d){
    var empty = body.querySelector('td.empty'); if (empty) empty.parentNode.remove();
    var tr = document.createElement('tr'); tr.dataset.kind = kind;
    if (kind === 'decision') {
      tr.dataset.decision = d.id;
      cell(tr, new Date().toISOString().slice(11, 19));
      cell(tr, d.outcome, 'badge ' + d.outcome);
      cell(tr, d.agent);
      var c = cell(tr, ''); var a = document.createElement('a');
      a.href = ROOT + '/customers/' + encodeURIComponent(d.customer); a.textContent = d.customer;
      c.appendChild(a);
      cell(tr, d.intent + ' by ' + d.channel);
      cell(tr, (d.rules || []).join(', ') + '  ' + d.id);
    } else {
      cell(tr, new Date().toISOString().slice(11, 19));
      cell(tr, kind, 'badge ' + kind);
      cell(tr, (d.agents || []).join(', '));
      cell(tr, d.customer || '');
      cell(tr, d.status || d.action || '');
      cell(tr, d.why || d.touch_id || d.decision_id || '');
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
