// Frontdesk admin view: reads /admin/api/state every second and renders
// it; runs the live SIP trace from /admin/api/trace. Everything from the
// gateway (agent names, notes, SIP messages) goes into the page as text,
// never as markup. Linted with widget/eslint.config.mjs
// (admin/script_lint_test.go).
/* global fetch, EventSource */

(function adminView() {
  'use strict';
  const stateURL = '/admin/api/state';
  const traceURL = '/admin/api/trace';
  const pollEvery = 1000;
  const maxTraceEntries = 500;

  // el builds an element: el('td', {class: 'x', 'data-a': 'b'}, 'text', child).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === '') continue;
      node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
    }
    return node;
  }

  const byId = (id) => document.getElementById(id);

  function clock(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  }

  function dateTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return d.toLocaleString();
  }

  const availabilityText = { online: 'available', busy: 'busy', offline: 'offline' };

  // subscriptionText says what the PBX last said of one subscription.
  function subscriptionText(sub) {
    if (!sub) return 'no NOTIFY yet';
    if (sub.state === 'lost') {
      return 'lost at ' + clock(sub.lost_at) + (sub.lost_error ? ': ' + sub.lost_error : '');
    }
    const count = sub.notifies === 1 ? '1 NOTIFY' : sub.notifies + ' NOTIFYs';
    return sub.state + ', last NOTIFY ' + clock(sub.last_notify) + ' (' + count + ')';
  }

  // bodyDetails shows the last NOTIFY body, folded.
  function bodyDetails(key, sub) {
    if (!sub || !sub.body) return null;
    const summary = 'Last NOTIFY body' + (sub.content_type ? ' (' + sub.content_type + ')' : '') + (sub.truncated ? ', cut' : '');
    return el('details', { 'data-key': key }, el('summary', {}, summary), el('pre', { tabindex: 0 }, sub.body));
  }

  function presenceCell(widgetID, agent) {
    const p = agent.presence;
    if (!p) return el('td', {}, el('span', { class: 'muted' }, 'not watched'));
    let what;
    if (p.refused) {
      what = 'refused by the PBX';
    } else if (!p.known) {
      what = 'nothing known';
    } else if (agent.mode === 'boolean') {
      what = p.basic === 'open' ? 'true (open)' : 'false (' + p.basic + ')';
    } else {
      what = p.basic + (p.busy ? ', busy' : '') + (p.away ? ', away' : '');
    }
    const cell = el('td', { class: 'presence' }, el('div', {}, what));
    if (agent.mode === 'boolean') cell.append(el('div', { class: 'muted' }, agent.boolean));
    if (p.note) cell.append(el('div', {}, 'Note: ', el('q', {}, p.note)));
    cell.append(el('div', { class: 'muted' }, subscriptionText(p.subscription)));
    const details = bodyDetails(widgetID + '/' + agent.id + '/presence', p.subscription);
    if (details) cell.append(details);
    return cell;
  }

  function dialogCell(widgetID, agent) {
    const d = agent.dialog;
    if (!d) return el('td', {}, el('span', { class: 'muted' }, 'not watched'));
    let what = 'nothing known';
    if (d.refused) {
      what = 'refused by the PBX';
    } else if (d.known) {
      what = d.dialogs.length === 0 ? 'idle' : d.dialogs.map((x) => x.id + ' ' + x.state).join(', ');
    }
    const cell = el('td', { class: 'dialog' }, el('div', {}, what), el('div', { class: 'muted' }, subscriptionText(d.subscription)));
    const details = bodyDetails(widgetID + '/' + agent.id + '/dialog', d.subscription);
    if (details) cell.append(details);
    return cell;
  }

  function agentRow(widget, agent) {
    const key = widget.id + '/' + agent.id;
    const traceButton = el('button', { type: 'button', 'data-trace': key }, 'Trace');
    traceButton.setAttribute('aria-label', 'Trace the SIP messages of ' + agent.name);
    return el('tr', { 'data-agent': key, 'data-availability': agent.availability },
      el('th', { scope: 'row' }, el('div', {}, agent.name), el('div', { class: 'muted' }, agent.uri), el('div', { class: 'muted' }, agent.id)),
      el('td', {}, agent.mode + (agent.source && agent.source !== 'both' ? ' (' + agent.source + ' only)' : '')),
      el('td', {}, el('span', { class: 'availability ' + agent.availability }, availabilityText[agent.availability] || agent.availability)),
      el('td', { class: 'rule' }, agent.rule),
      presenceCell(widget.id, agent),
      dialogCell(widget.id, agent),
      el('td', { class: 'counts' }, agent.calls + ' / ' + agent.chats),
      el('td', {}, traceButton));
  }

  function widgetSection(widget) {
    const headingID = 'widget-' + widget.id;
    const head = el('tr', {}, ...['Agent', 'Mode', 'Availability', 'Why', 'Presence', 'Dialog', 'Calls / chats', 'Trace']
      .map((h) => el('th', { scope: 'col' }, h)));
    const table = el('table', {}, el('caption', {}, 'Agents of ' + widget.name + ', in order'), el('thead', {}, head),
      el('tbody', {}, ...widget.agents.map((a) => agentRow(widget, a))));
    return el('section', { 'aria-labelledby': headingID, 'data-widget': widget.id },
      el('h2', { id: headingID }, 'Widget ' + widget.name),
      el('p', { class: 'muted' }, widget.type + ' · ' + widget.id),
      el('div', { class: 'scroll' }, table));
  }

  function definitions(pairs) {
    const list = el('dl', { class: 'facts' });
    for (const [term, value, attrs] of pairs) {
      if (value === undefined || value === null || value === '') continue;
      list.append(el('dt', {}, term), el('dd', attrs || {}, value));
    }
    return list;
  }

  function gatewayView(state) {
    const sip = state.sip;
    const health = state.health || {};
    const hsip = health.sip || {};
    const cfg = health.config || {};
    const box = el('div', {});
    box.append(definitions([
      ['Status', health.status, { 'data-field': 'status' }],
      ['Registration', sip.registration + (sip.registered_at && sip.registration === 'registered' ? ' since ' + dateTime(sip.registered_at) : ''), { 'data-field': 'registration' }],
      ['Registration expires', dateTime(sip.expires)],
      ['Last SIP error', hsip.error || sip.last_error],
      ['Subscriptions', sip.active + ' active of ' + sip.subscriptions],
      ['NOTIFYs received', String(sip.notifies_received)],
      ['Failed REGISTERs', String(sip.register_failures)],
      ['PBX lost', String(sip.pbx_lost)],
      ['Sessions now', String(state.sessions), { 'data-field': 'sessions' }],
      ['Calls now', String(state.calls), { 'data-field': 'calls' }],
      ['Chats now', String(state.chats), { 'data-field': 'chats' }],
      ['Config', cfg.source || 'embedded demo config'],
      ['Last reload', dateTime(cfg.reloaded_at)],
      ['Last reload error', cfg.reload_error, { 'data-field': 'reload-error', class: 'problem-text' }],
    ]));
    const warnings = health.warnings || [];
    if (warnings.length > 0) {
      box.append(el('h3', {}, 'Warnings'), el('ul', { class: 'warnings' }, ...warnings.map((w) => el('li', {}, w))));
    }
    const degraded = hsip.degraded || [];
    if (degraded.length > 0) {
      box.append(el('h3', {}, 'Failing subscriptions'), el('ul', { class: 'warnings' }, ...degraded.map((d) =>
        el('li', {}, d.event + ' ' + d.uri + ': ' + (d.error || d.reason) + (d.fallback ? ' (' + d.fallback + ')' : '') +
          (d.retry ? '; next attempt ' + clock(d.retry) : '')))));
    }
    return box;
  }

  // The trace filter lists every agent; its options change only with the config.
  let filterKeys = '';
  function updateFilter(state) {
    const keys = state.widgets.flatMap((w) => w.agents.map((a) => w.id + '/' + a.id + '=' + a.name)).join('|');
    if (keys === filterKeys) return;
    filterKeys = keys;
    const select = byId('trace-filter');
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '' }, 'All SIP messages'));
    for (const w of state.widgets) {
      const group = el('optgroup', { label: w.name });
      for (const a of w.agents) group.append(el('option', { value: w.id + '/' + a.id }, a.name + ' (' + a.uri + ')'));
      select.append(group);
    }
    select.value = chosen;
  }

  let lastRendered = '';
  function render(state) {
    const access = state.access || {};
    byId('access').textContent = 'Protected by: ' + access.mode + (access.via ? ' · you came in by ' + access.via : '');
    byId('logout').hidden = access.via !== 'session';
    const note = byId('note');
    note.hidden = !access.note;
    note.textContent = access.note || '';
    byId('updated').textContent = 'Updated ' + clock(state.generated);
    // Re-render only what changed, keeping open details open.
    const text = JSON.stringify({ ...state, generated: '' });
    if (text === lastRendered) return;
    lastRendered = text;
    const open = new Set(Array.from(document.querySelectorAll('details[open]')).map((d) => d.getAttribute('data-key')));
    byId('gateway').replaceChildren(gatewayView(state));
    byId('widgets').replaceChildren(...state.widgets.map(widgetSection));
    for (const d of document.querySelectorAll('details[data-key]')) {
      if (open.has(d.getAttribute('data-key'))) d.open = true;
    }
    updateFilter(state);
  }

  function showProblem(text) {
    const problem = byId('problem');
    problem.hidden = !text;
    problem.textContent = text || '';
  }

  async function poll() {
    try {
      const response = await fetch(stateURL, { credentials: 'same-origin', cache: 'no-store' });
      if (response.status === 401) {
        location.assign('/admin/login');
        return;
      }
      if (!response.ok) throw new Error('the gateway answered ' + response.status);
      render(await response.json());
      showProblem('');
    } catch (err) {
      showProblem('Cannot read the gateway state: ' + err.message);
    }
    if (document.hidden) {
      document.addEventListener('visibilitychange', poll, { once: true });
    } else {
      setTimeout(poll, pollEvery);
    }
  }

  // The live trace.
  let source = null;
  let shown = 0;
  let dropped = 0;

  function traceStatus(text) {
    byId('trace-status').textContent = text;
  }

  function traceEntry(e) {
    const arrow = e.dir === 'out' ? '→ sent to ' : '← received from ';
    const firstLine = (e.text.split('\n', 1)[0] || '').trim();
    return el('li', { 'data-dir': e.dir },
      el('div', { class: 'trace-head' }, el('time', { datetime: e.time }, clock(e.time)), ' ', arrow + e.remote + ' (' + e.transport + '): ', el('strong', {}, firstLine)),
      el('pre', { tabindex: 0 }, e.text + (e.truncated ? '\n[cut]' : '')));
  }

  function stopTrace(text) {
    if (source) source.close();
    source = null;
    byId('trace-toggle').textContent = 'Start trace';
    traceStatus(text || 'Not running.');
  }

  function startTrace() {
    stopTrace();
    const filter = byId('trace-filter').value;
    const url = traceURL + (filter ? '?agent=' + encodeURIComponent(filter) : '');
    source = new EventSource(url);
    byId('trace-toggle').textContent = 'Stop trace';
    traceStatus('Connecting…');
    source.addEventListener('ready', (ev) => {
      const start = JSON.parse(ev.data);
      traceStatus(start.filter ? 'Running: messages naming ' + start.uris.join(' or ') + '.' : 'Running: all SIP messages.');
    });
    source.addEventListener('sip', (ev) => {
      const e = JSON.parse(ev.data);
      const list = byId('trace');
      list.append(traceEntry(e));
      while (list.children.length > maxTraceEntries) list.firstElementChild.remove();
      shown++;
      list.setAttribute('data-count', String(shown));
      if (e.dropped) {
        dropped += e.dropped;
        traceStatus('Running; ' + dropped + ' messages were left out because the page did not keep up.');
      }
    });
    source.addEventListener('end', () => {
      if (source) startTrace(); // the stream's time is over: a new one
    });
    source.addEventListener('error', () => {
      if (source && source.readyState === EventSource.CLOSED) {
        stopTrace('The trace stopped: the gateway refused it or went away. Start it again to retry.');
      } else {
        traceStatus('Connection lost; reconnecting…');
      }
    });
  }

  function init() {
    byId('trace-toggle').addEventListener('click', () => (source ? stopTrace() : startTrace()));
    byId('trace-clear').addEventListener('click', () => {
      byId('trace').replaceChildren();
      shown = 0;
      dropped = 0;
      byId('trace').setAttribute('data-count', '0');
    });
    byId('trace-filter').addEventListener('change', () => {
      if (source) startTrace();
    });
    byId('widgets').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-trace]');
      if (!button) return;
      byId('trace-filter').value = button.getAttribute('data-trace');
      startTrace();
      byId('trace-heading').scrollIntoView();
    });
    poll();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
