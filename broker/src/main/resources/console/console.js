// The Basalt web console: a single page over the node's JSON API (/v1/...) and /metrics, polled
// every 2 s. Charts (uPlot, served from its WebJar) keep the points seen since the page opened,
// at most the last 10 minutes. No build step, no external network access.
(function () {
  'use strict';
  const TOKEN_KEY = 'basalt.token';
  const POLL_MS = 2000;
  const HISTORY_POINTS = 300; // 10 minutes at 2 s
  const charts = {};
  let timer = null;
  let generation = 0;
  window.basaltConsole = { charts: charts };

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  async function api(path) {
    const headers = {};
    if (token()) { headers['Authorization'] = 'Bearer ' + token(); }
    const r = await fetch(path, { headers: headers });
    const text = await r.text();
    if (!r.ok) {
      let msg = text;
      try { const j = JSON.parse(text); msg = j.error + ' (' + j.code + ')'; } catch (e) { /* not JSON */ }
      if (r.status === 401) { msg += ' - set the token (button at the top right)'; }
      throw new Error('HTTP ' + r.status + ': ' + msg);
    }
    return path === '/metrics' ? text : JSON.parse(text);
  }

  // Prometheus text format: [{name, labels, value}] (comments skipped).
  function parseMetrics(text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') { continue; }
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
      if (!m) { continue; }
      const labels = {};
      if (m[3]) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
        let l;
        while ((l = re.exec(m[3])) !== null) { labels[l[1]] = l[2].replace(/\\(.)/g, '$1'); }
      }
      out.push({ name: m[1], labels: labels, value: parseFloat(m[4]) });
    }
    return out;
  }

  function sum(samples, name, pred) {
    let s = 0;
    for (const x of samples) {
      if (x.name === name && (!pred || pred(x.labels))) { s += x.value; }
    }
    return s;
  }

  function el(tag, attrs) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        if (k === 'text') { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === null || c === undefined) { continue; }
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function table(id, headers, rows) {
    const t = el('table', { id: id });
    t.appendChild(el('tr', null, ...headers.map(h => el('th', { text: h }))));
    for (const r of rows) {
      t.appendChild(el('tr', null, ...r.map(c => c instanceof Node ? el('td', null, c) : el('td', { text: c === undefined ? '' : String(c) }))));
    }
    return t;
  }

  function card(label, value, cls, id) {
    return el('div', { class: 'card', id: id }, el('div', { class: 'muted', text: label }), el('div', { class: 'value ' + (cls || ''), text: String(value) }));
  }

  function link(href, text) { return el('a', { href: href, text: text }); }

  function bytes(n) {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + u[i];
  }

  // Shortest time span a chart's x axis shows (seconds). With a single point (the first poll of a
  // rate gives one) uPlot's automatic time range is that point plus 86,400 of its units: with our
  // second timestamps, almost three years. The range comes from the points instead: all of them,
  // and at least this window, ending at the newest point.
  const X_WINDOW_MIN_S = 60;

  function timeRange(u) {
    const xs = u.data[0];
    if (!xs || xs.length === 0) {
      const now = Date.now() / 1000;
      return [now - X_WINDOW_MIN_S, now];
    }
    const first = xs[0];
    const last = xs[xs.length - 1];
    return last - first < X_WINDOW_MIN_S ? [last - X_WINDOW_MIN_S, last] : [first, last];
  }

  // A live line chart: push(values) appends a point at now.
  function liveChart(key, title, names, unitLabel) {
    const data = [[]].concat(names.map(() => []));
    const wrap = el('div', { class: 'chart', id: 'chart-' + key });
    const opts = {
      title: title, width: 560, height: 220,
      scales: { x: { time: true, range: timeRange } },
      series: [{}].concat(names.map((n, i) => ({ label: n, stroke: ['#0969da', '#cf222e', '#1a7f37', '#9a6700', '#8250df'][i % 5], width: 2 }))),
      axes: [{}, { label: unitLabel, size: 70 }],
    };
    const plot = new uPlot(opts, data, wrap);
    const chart = {
      element: wrap, data: data, plot: plot,
      push: function (values) {
        data[0].push(Date.now() / 1000);
        values.forEach((v, i) => data[i + 1].push(v));
        if (data[0].length > HISTORY_POINTS) { data.forEach(s => s.shift()); }
        plot.setData(data);
      },
    };
    charts[key] = chart;
    return chart;
  }

  // Rate per second of a counter between two polls (null on the first).
  function rater() {
    let last = null;
    return function (value) {
      const now = Date.now();
      const r = last && value >= last.v ? (value - last.v) * 1000 / (now - last.t) : null;
      last = { v: value, t: now };
      return r;
    };
  }

  function every(fn) {
    const mine = generation;
    const run = async () => {
      if (mine !== generation) { return; }
      try {
        await fn();
        document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
      } catch (e) {
        document.getElementById('status').textContent = String(e.message);
      }
      if (mine === generation) { timer = setTimeout(run, POLL_MS); }
    };
    run();
  }

  function replace(id, node) {
    const old = document.getElementById(id);
    if (old) { old.replaceWith(node); }
  }

  function slot(id) { return el('div', { id: id }); }

  function errorBox(e) { return el('div', { class: 'error', text: String(e.message || e) }); }

  // ------------------------------------------------------------------ overview

  function overview(page) {
    page.append(el('h2', { text: 'Overview' }), slot('overview-cards'), el('h3', { text: 'Brokers' }), slot('brokers-table'),
      el('h3', { text: 'Metadata quorum' }), slot('quorum-table'), el('h3', { text: 'Throughput through this node' }));
    const chart = liveChart('throughput', 'Bytes per second', ['in', 'out'], 'B/s');
    page.append(chart.element);
    const inRate = rater();
    const outRate = rater();
    every(async () => {
      const [cluster, quorum, metricsText] = await Promise.all([api('/v1/cluster'), api('/v1/quorum'), api('/metrics')]);
      const m = parseMetrics(metricsText);
      const brokers = cluster.brokers || [];
      const fenced = brokers.filter(b => b.fenced).length;
      const offline = sum(m, 'basalt_cluster_partitions_offline');
      const under = sum(m, 'basalt_cluster_partitions_under_replicated');
      replace('overview-cards', el('div', { class: 'cards', id: 'overview-cards' },
        card('Brokers up', brokers.length - fenced, 'ok', 'card-brokers-up'),
        card('Brokers fenced', fenced, fenced ? 'bad' : '', 'card-brokers-fenced'),
        card('Active controller', cluster.controllerId, cluster.controllerId < 0 ? 'bad' : '', 'card-controller'),
        card('Partitions', sum(m, 'basalt_cluster_partitions'), '', 'card-partitions'),
        card('Offline', offline, offline ? 'bad' : 'ok', 'card-offline'),
        card('Under-replicated', under, under ? 'warn' : 'ok', 'card-under-replicated'),
        card('Topics', sum(m, 'basalt_cluster_topics'), '', 'card-topics')));
      replace('brokers-table', table('brokers-table', ['id', 'host', 'port', 'rack', 'roles', 'state'], brokers.map(b => [
        b.node.id, b.node.host, b.node.port, b.node.rack || '', (b.roles || []).join(', '),
        b.fenced ? 'fenced' : (b.shuttingDown ? 'shutting down' : 'up')])));
      // a voter's progress is known to the Raft leader only, and there only while it answers: -1 = unknown
      const known = x => (Number(x) < 0 ? 'unknown' : x);
      const voters = (quorum.voters || []).map(v => [v.replicaId, v.replicaId === quorum.leaderId ? 'leader' : 'voter', known(v.logEndOffset), known(v.lag)]);
      const observers = (quorum.observers || []).map(v => [v.replicaId, 'observer', known(v.logEndOffset), known(v.lag)]);
      replace('quorum-table', table('quorum-table', ['node', 'role', 'log end', 'lag (entries)'], voters.concat(observers)));
      const i = inRate(sum(m, 'basalt_topic_in_bytes_total'));
      const o = outRate(sum(m, 'basalt_topic_out_bytes_total'));
      if (i !== null) { chart.push([i, o]); }
    });
  }

  // ------------------------------------------------------------------ topics

  function topics(page) {
    page.append(el('h2', { text: 'Topics' }), slot('topics-table'));
    const rates = {};
    every(async () => {
      const [list, metricsText] = await Promise.all([api('/v1/topics'), api('/metrics')]);
      const m = parseMetrics(metricsText);
      const rows = (list.topics || []).map(t => {
        rates[t.name] = rates[t.name] || rater();
        const r = rates[t.name](sum(m, 'basalt_topic_in_bytes_total', l => l.topic === t.name));
        return [link('#/topics/' + encodeURIComponent(t.name), t.name), t.partitionCount,
          bytes(sum(m, 'basalt_topic_log_size_bytes', l => l.topic === t.name)), r === null ? '…' : bytes(r) + '/s'];
      });
      replace('topics-table', table('topics-table', ['topic', 'partitions', 'size on this node', 'in (this node)'], rows));
    });
  }

  function topic(page, name) {
    page.append(el('h2', { text: 'Topic ' + name }), slot('partitions-table'), el('h3', { text: 'Replicas on this node' }),
      slot('local-table'), el('h3', { text: 'Configs' }), slot('configs-table'));
    const chart = liveChart('topic', 'Records per second (this node)', ['in', 'out'], 'records/s');
    page.append(chart.element);
    const inRate = rater();
    const outRate = rater();
    let configsLoaded = false;
    every(async () => {
      const t = await api('/v1/topics/' + encodeURIComponent(name));
      replace('partitions-table', table('partitions-table', ['partition', 'leader', 'epoch', 'replicas', 'ISR', 'offline replicas'],
        (t.partitions || []).map(p => [p.partition, p.leaderId, p.leaderEpoch, (p.replicas || []).join(', '), (p.isr || []).join(', '),
          (p.offlineReplicas || []).join(', ')])));
      replace('local-table', table('local-table', ['partition', 'leader here', 'log start', 'log end', 'high watermark', 'size', 'segments'],
        (t.localReplicas || []).map(r => [r.partition, r.leader ? 'yes' : 'no', r.logStartOffset, r.logEndOffset, r.highWatermark,
          bytes(r.sizeBytes), r.segments])));
      if (!configsLoaded) {
        const c = await api('/v1/topics/' + encodeURIComponent(name) + '/configs');
        replace('configs-table', table('configs-table', ['key', 'value', 'source'], (c.entries || []).map(e => [e.name, e.value, e.source])));
        configsLoaded = true;
      }
      const m = parseMetrics(await api('/metrics'));
      const i = inRate(sum(m, 'basalt_topic_in_records_total', l => l.topic === name));
      const o = outRate(sum(m, 'basalt_topic_out_records_total', l => l.topic === name));
      if (i !== null) { chart.push([i, o]); }
    });
  }

  // ------------------------------------------------------------------ groups

  function groups(page) {
    page.append(el('h2', { text: 'Consumer groups (every broker\'s)' }), slot('groups-unreachable'), slot('groups-table'));
    every(async () => {
      const g = await api('/v1/groups');
      const missing = g.unreachable || [];
      replace('groups-unreachable', el('p', { id: 'groups-unreachable', class: missing.length ? 'warn' : '',
        text: missing.length ? 'Brokers that did not answer (their groups are missing): ' + missing.join(', ') : '' }));
      replace('groups-table', table('groups-table', ['group', 'state', 'members', 'coordinator'], (g.groups || []).map(x => [
        link('#/groups/' + encodeURIComponent(x.group), x.group), x.state, x.members, x.coordinator])));
    });
  }

  function group(page, id) {
    page.append(el('h2', { text: 'Group ' + id }), slot('group-cards'), el('h3', { text: 'Members' }), slot('members-table'),
      el('h3', { text: 'Lag per partition' }), slot('lag-table'));
    const chart = liveChart('lag', 'Lag of ' + id, ['total lag (records)', 'max lag (records)'], 'records');
    page.append(chart.element);
    every(async () => {
      const [d, lag] = await Promise.all([api('/v1/groups/' + encodeURIComponent(id)), api('/v1/groups/' + encodeURIComponent(id) + '/lag')]);
      const cls = lag.status === 'OK' ? 'ok' : (lag.status === 'WARN' ? 'warn' : 'bad');
      const maxSeconds = (lag.partitions || []).reduce((a, p) => Math.max(a, p.lagSeconds), -1); // -1: unknown
      replace('group-cards', el('div', { class: 'cards', id: 'group-cards' }, card('State', d.state, '', 'card-state'),
        card('Status (Burrow)', lag.status, cls, 'card-status'), card('Total lag', lag.totallag, '', 'card-total-lag'),
        card('Max lag (s)', maxSeconds < 0 ? 'unknown' : maxSeconds.toFixed(1), '', 'card-lag-seconds'), card('Members', (d.members || []).length, '', 'card-members')));
      replace('members-table', table('members-table', ['member', 'client', 'host', 'epoch', 'state', 'assigned'], (d.members || []).map(m => [
        m.memberId, m.clientId, m.host, m.memberEpoch, m.state,
        (m.assignment || []).map(a => a.topic + ': ' + a.partitions.join(',')).join('; ')])));
      replace('lag-table', table('lag-table', ['topic', 'partition', 'owner', 'committed', 'log end', 'lag', 'lag (s)', 'status'],
        (lag.partitions || []).map(p => [p.topic, p.partition, p.owner || '', p.committedOffset, p.logEndOffset, p.lag,
          p.lagSeconds < 0 ? 'unknown' : p.lagSeconds.toFixed(1), p.status])));
      chart.push([lag.totallag, lag.maxlag ? lag.maxlag.lag : 0]);
    });
  }

  // ------------------------------------------------------------------ message browser

  function hex(bytesArr) { return Array.from(bytesArr, b => b.toString(16).padStart(2, '0')).join(' '); }

  function decode(b64, mode) {
    if (b64 === undefined || b64 === null) { return el('span', { class: 'muted', text: 'null' }); }
    const raw = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    if (mode === 'hex') { return el('span', { class: 'mono', text: hex(raw) }); }
    return el('span', { class: 'mono', text: new TextDecoder('utf-8', { fatal: false }).decode(raw) });
  }

  /** A record timestamp as ISO text; one a Date cannot hold (a producer may set any long) as its number. */
  function isoTime(ms) {
    const d = new Date(Number(ms));
    return Number.isFinite(d.getTime()) ? d.toISOString() : String(ms);
  }

  function browse(page) {
    const form = el('form', { class: 'browse', id: 'browse-form' },
      el('label', null, 'topic ', el('input', { name: 'topic', id: 'browse-topic', size: 20 })),
      el('label', null, 'partition ', el('input', { name: 'partition', id: 'browse-partition', value: '0', size: 4 })),
      el('label', null, 'offset ', el('input', { name: 'offset', id: 'browse-offset', value: '-2', size: 10, title: '-2 = oldest, -1 = latest' })),
      el('label', null, 'or time ', el('input', { name: 'time', id: 'browse-time', type: 'datetime-local', step: '1' })),
      el('label', null, 'limit ', el('input', { name: 'limit', id: 'browse-limit', value: '50', size: 4 })),
      el('label', null, 'show as ', el('select', { name: 'mode', id: 'browse-mode' }, el('option', { value: 'text', text: 'text' }),
        el('option', { value: 'hex', text: 'hex' }))),
      el('button', { type: 'submit', id: 'browse-read', text: 'Read' }));
    page.append(el('h2', { text: 'Messages' }), form, slot('records-table'));
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      const f = new FormData(form);
      let q = '?limit=' + encodeURIComponent(f.get('limit'));
      if (f.get('time')) {
        const ms = new Date(f.get('time')).getTime();
        if (!Number.isFinite(ms)) {
          replace('records-table', el('div', { id: 'records-table' }, errorBox(new Error('not a date and time: ' + f.get('time')
            + ' (use YYYY-MM-DDTHH:MM:SS, local time)'))));
          return;
        }
        q += '&timestamp=' + ms;
      } else { q += '&offset=' + encodeURIComponent(f.get('offset')); }
      try {
        const r = await api('/v1/topics/' + encodeURIComponent(f.get('topic')) + '/partitions/' + encodeURIComponent(f.get('partition')) + '/records' + q);
        const mode = f.get('mode');
        replace('records-table', table('records-table', ['offset', 'timestamp', 'key', 'value', 'headers'], (r.records || []).map(x => [
          x.offset, isoTime(x.timestampMs), decode(x.key, mode), decode(x.value, mode),
          (x.headers || []).map(h => h.key).join(', ')])));
        document.getElementById('status').textContent = 'next offset ' + r.nextOffset + ', high watermark ' + r.highWatermark;
      } catch (e) {
        replace('records-table', el('div', { id: 'records-table' }, errorBox(e)));
      }
    });
  }

  // ------------------------------------------------------------------ routing

  function render() {
    generation++;
    if (timer) { clearTimeout(timer); timer = null; }
    for (const k of Object.keys(charts)) { charts[k].plot.destroy(); delete charts[k]; }
    const page = document.getElementById('page');
    page.replaceChildren();
    const parts = (location.hash || '#/overview').slice(2).split('/').map(decodeURIComponent);
    document.querySelectorAll('header nav a').forEach(a => a.classList.toggle('active', a.id === 'nav-' + parts[0]));
    if (parts[0] === 'topics' && parts[1]) { topic(page, parts[1]); }
    else if (parts[0] === 'topics') { topics(page); }
    else if (parts[0] === 'groups' && parts[1]) { group(page, parts[1]); }
    else if (parts[0] === 'groups') { groups(page); }
    else if (parts[0] === 'browse') { browse(page); }
    else { overview(page); }
  }

  document.getElementById('token-button').addEventListener('click', () => {
    const t = prompt('Bearer token of this admin port (empty = none)', token());
    if (t !== null) { sessionStorage.setItem(TOKEN_KEY, t); render(); }
  });
  window.addEventListener('hashchange', render);
  render();
})();
