// The fleet page. Everything goes through the dashboard's proxy (/k8s/...), which carries the
// user's kubeconfig credentials: each kind is listed once and then watched (the stream stays
// open; nothing is polled), and the page is drawn again whenever an event arrives. A refusal is
// shown with the API server's own Status message.
import { addFeed, refusal, runFeeds } from './feeds.js';

const PROXY = '/k8s';
const METAL = '/apis/metal.sidero.dev/v1alpha2';
const VITI = '/apis/vitistack.io/v1alpha1';
const CLUSTER_LABEL = 'cluster.vitistack.io/cluster-name';
const ROLE_LABEL = 'vitistack.io/node-role';

const KINDS = {
  kubernetesclusters: { base: VITI, namespaced: true, kind: 'KubernetesCluster' },
  machines: { base: VITI, namespaced: true, kind: 'Machine' },
  adoptedservers: { base: METAL, namespaced: true, kind: 'AdoptedServer' },
  servers: { base: METAL, namespaced: false, kind: 'Server' },
};

/** resource -> Map of "namespace/name" -> object */
const store = Object.fromEntries(Object.keys(KINDS).map((r) => [r, new Map()]));
/** resource -> the message of the last refusal, while it stands */
const problems = new Map();
let config = { namespace: null, defaultNamespace: 'default', server: '' };
/** { resource, namespace, name } of the object whose detail is shown */
let selected = null;
let detail = { events: new Map(), problem: '' };

const keyOf = (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function collectionPath(resource) {
  const k = KINDS[resource];
  const ns = k.namespaced && config.namespace ? `/namespaces/${encodeURIComponent(config.namespace)}` : '';
  return `${PROXY}${k.base}${ns}/${resource}`;
}

function addKindFeed(resource) {
  const objects = store[resource];
  addFeed(resource, collectionPath(resource), {
    reset(items) {
      objects.clear();
      for (const o of items) objects.set(keyOf(o), o);
      problems.delete(resource);
      draw();
    },
    event(type, o) {
      if (type === 'DELETED') objects.delete(keyOf(o));
      else objects.set(keyOf(o), o);
      problems.delete(resource);
      draw();
    },
    fail(message) {
      problems.set(resource, message);
      draw();
    },
    live() {
      if (problems.delete(resource)) draw();
    },
  });
}

// ---- what an object's state is

const condition = (o, type) => o.status?.conditions?.find((c) => c.type === type);

function adoptedState(o) {
  const health = o.status?.health?.status;
  const ready = condition(o, 'Ready');
  if (health === 'Unhealthy' || health === 'Degraded') return 'bad';
  if (ready?.status === 'True') return 'ok';
  if (ready?.reason === 'NotAccepted') return 'pending';
  if (ready?.status === 'False') return 'bad';
  return 'unknown';
}

function clusterState(o) {
  const ready = condition(o, 'Ready');
  if (ready?.status === 'True') return 'ok';
  if (o.status?.phase === 'ValidationError' || condition(o, 'Healthy')?.status === 'False') return 'bad';
  return o.status ? 'pending' : 'unknown';
}

function machineState(o) {
  const phase = o.status?.phase;
  if (condition(o, 'Ready')?.status === 'True') return 'ok';
  if (phase === 'Failed' || phase === 'Error') return 'bad';
  return phase ? 'pending' : 'unknown';
}

function serverState(o) {
  if (!o.spec?.accepted) return 'pending';
  const ready = condition(o, 'Ready');
  if (ready) return ready.status === 'True' ? 'ok' : 'bad';
  return o.status?.isClean || o.status?.inUse ? 'ok' : 'unknown';
}

/** why the object is not Ready: the condition's message (or reason), else the status message */
function whyNot(o, type = 'Ready') {
  const c = condition(o, type);
  if (c && c.status !== 'True') return c.message || c.reason || '';
  return o.status?.message ?? '';
}

// ---- drawing (DOM nodes only: no markup is built from the API's strings)

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return el;
}

const badge = (state, text) => h('span', { class: `badge state-${state}` }, text);
const sorted = (map) => [...map.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));

function row(resource, o, state, cells, extraClass = '') {
  const isSelected =
    selected?.resource === resource &&
    selected.name === o.metadata.name &&
    (selected.namespace ?? '') === (o.metadata.namespace ?? '');
  return h(
    'tr',
    {
      class: `state-${state} ${extraClass} ${isSelected ? 'selected' : ''}`.trim(),
      data: { kind: KINDS[resource].kind, name: o.metadata.name, namespace: o.metadata.namespace ?? '', state },
      tabindex: 0,
      onclick: () => select(resource, o),
      onkeydown: (ev) => ev.key === 'Enter' && select(resource, o),
    },
    cells.map((c) => h('td', {}, c)),
  );
}

function table(headings, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headings.map((t) => h('th', {}, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/** the section's content, or the refusal that keeps it empty */
function content(resources, build) {
  const refused = resources.filter((r) => problems.has(r));
  if (refused.length && resources.every((r) => store[r].size === 0))
    return h('p', { class: 'empty' }, `Not shown: ${refused.map((r) => problems.get(r)).join('; ')}`);
  return build();
}

function drawClusters() {
  const machines = sorted(store.machines);
  const rows = [];
  const readyOf = (o) => condition(o, 'Ready')?.status ?? 'Unknown';
  for (const kc of sorted(store.kubernetesclusters)) {
    const state = clusterState(kc);
    rows.push(
      row('kubernetesclusters', kc, state, [
        h('strong', {}, kc.metadata.name),
        kc.metadata.namespace,
        badge(state, kc.status?.phase ?? 'Unknown'),
        readyOf(kc),
        kc.status?.nodes?.[0]?.talosVersion ?? kc.spec?.talos?.version ?? '',
        kc.status?.nodes?.[0]?.kubernetesVersion ?? kc.spec?.topology?.version ?? '',
        whyNot(kc),
      ]),
    );
    const own = machines.filter(
      (m) => m.metadata.namespace === kc.metadata.namespace && m.metadata.labels?.[CLUSTER_LABEL] === kc.metadata.name,
    );
    for (const m of own) rows.push(machineRow(m, kc));
  }
  const loose = machines.filter(
    (m) => !store.kubernetesclusters.has(`${m.metadata.namespace}/${m.metadata.labels?.[CLUSTER_LABEL] ?? ''}`),
  );
  rows.push(...loose.map(machineRow));
  return table(
    ['Name', 'Namespace', 'Phase', 'Ready', 'Talos', 'Kubernetes', 'Why not ready'],
    rows,
    'No KubernetesClusters.',
  );
}

/** a Machine, with the versions its node runs as its cluster's status reports them */
function machineRow(m, kc) {
  const state = machineState(m);
  const role = m.metadata.labels?.[ROLE_LABEL] ?? '';
  const node = kc?.status?.nodes?.find((n) => n.machine === m.metadata.name);
  const addresses = (m.status?.publicIPAddresses ?? []).join(', ');
  return row(
    'machines',
    m,
    state,
    [
      `${m.metadata.name}${role ? ` (${role})` : ''}${addresses ? ` ${addresses}` : ''}`,
      m.metadata.namespace,
      badge(state, m.status?.phase ?? 'Unknown'),
      condition(m, 'Ready')?.status ?? 'Unknown',
      node?.talosVersion ?? m.status?.talosVersion ?? '',
      node?.kubernetesVersion ?? '',
      whyNot(m),
    ],
    'machine',
  );
}

function drawAdopted() {
  const rows = sorted(store.adoptedservers).map((o) => {
    const state = adoptedState(o);
    const t = o.spec?.talos ?? {};
    return row('adoptedservers', o, state, [
      h('strong', {}, o.metadata.name),
      o.metadata.namespace,
      t.endpoint ?? '',
      t.nodeType ?? '',
      badge(state, condition(o, 'Ready')?.status === 'True' ? 'Ready' : 'Not ready'),
      o.status?.health?.status ?? 'Unknown',
      o.status?.nodeInfo?.talosVersion ?? '',
      t.hostname ?? o.status?.nodeInfo?.hostname ?? '',
      whyNot(o),
    ]);
  });
  return table(
    ['Name', 'Namespace', 'Talos API', 'Type', 'Ready', 'Health', 'Talos', 'Hostname', 'Why not ready'],
    rows,
    'No AdoptedServers.',
  );
}

function drawServers() {
  const rows = sorted(store.servers).map((o) => {
    const state = serverState(o);
    return row('servers', o, state, [
      h('strong', {}, o.metadata.name),
      o.spec?.hostname ?? '',
      badge(state, o.spec?.accepted ? 'accepted' : 'not accepted'),
      o.status?.inUse ? 'yes' : 'no',
      o.status?.isClean ? 'yes' : 'no',
      o.status?.power ?? '',
    ]);
  });
  return table(['Name', 'Hostname', 'Accepted', 'Allocated', 'Clean', 'Power'], rows, 'No Servers.');
}

function drawDetail() {
  const box = document.getElementById('detail');
  const o = selected && store[selected.resource].get(`${selected.namespace ?? ''}/${selected.name}`);
  if (!o) {
    box.replaceChildren(
      h('p', { class: 'hint' }, 'Select a cluster, machine or server to see its conditions and events.'),
    );
    return;
  }
  const conditions = (o.status?.conditions ?? []).map((c) =>
    h(
      'tr',
      { class: `state-${conditionState(c)}` },
      [c.type, c.status, c.reason ?? '', c.message ?? '', when(c.lastTransitionTime)].map((t) => h('td', {}, t)),
    ),
  );
  const events = [...detail.events.values()]
    .sort((a, b) => eventTime(b).localeCompare(eventTime(a)))
    .map((e) =>
      h(
        'tr',
        { class: e.type === 'Warning' ? 'state-bad' : 'state-ok' },
        [e.type, e.reason, e.message, e.count ?? 1, when(eventTime(e))].map((t) => h('td', {}, t)),
      ),
    );
  box.replaceChildren(
    h(
      'h2',
      {},
      `${KINDS[selected.resource].kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`,
    ),
    h('h3', {}, 'Conditions'),
    table(['Type', 'Status', 'Reason', 'Message', 'Since'], conditions, 'No conditions reported yet.'),
    h('h3', {}, 'Events'),
    detail.problem
      ? h('p', { class: 'empty' }, `Not shown: ${detail.problem}`)
      : table(['Type', 'Reason', 'Message', 'Count', 'Last seen'], events, 'No events.'),
  );
}

/** a condition switched off by its spec (reason Disabled) is no fault */
const conditionState = (c) =>
  c.status === 'True' ? 'ok' : c.status === 'False' && c.reason !== 'Disabled' ? 'bad' : 'unknown';
/** an RFC 3339 time as "2026-01-02 03:04:05" (UTC) */
const when = (t) =>
  t
    ? String(t)
        .replace('T', ' ')
        .replace(/(\.\d+)?Z$/, '')
    : '';
const eventTime = (e) => e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';

let drawPending = false;
function draw() {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => {
    drawPending = false;
    document.getElementById('clusters').replaceChildren(content(['kubernetesclusters', 'machines'], drawClusters));
    document.getElementById('adoptedservers').replaceChildren(content(['adoptedservers'], drawAdopted));
    document.getElementById('servers').replaceChildren(content(['servers'], drawServers));
    document
      .getElementById('alerts')
      .replaceChildren(...[...problems].map(([r, m]) => h('div', { class: 'alert' }, `Cannot show ${r}: ${m}`)));
    drawDetail();
  }, 0);
}

function showConnection(live) {
  const el = document.getElementById('connection');
  el.textContent = live ? 'live' : 'not watching';
  el.classList.toggle('live', live);
}

// ---- detail: the selected object's events, followed while it is selected

function select(resource, o) {
  selected = { resource, namespace: o.metadata.namespace, name: o.metadata.name };
  const mine = { events: new Map(), problem: '' };
  detail = mine;
  const fields = [`involvedObject.name=${o.metadata.name}`, `involvedObject.kind=${KINDS[resource].kind}`];
  const ns = o.metadata.namespace ? `/namespaces/${encodeURIComponent(o.metadata.namespace)}` : '';
  // replaces the previous selection's feed
  addFeed('events', `${PROXY}/api/v1${ns}/events?fieldSelector=${encodeURIComponent(fields.join(','))}`, {
    reset(items) {
      mine.events = new Map(items.map((e) => [keyOf(e), e]));
      mine.problem = '';
      draw();
    },
    event(type, e) {
      if (type === 'DELETED') mine.events.delete(keyOf(e));
      else mine.events.set(keyOf(e), e);
      draw();
    },
    fail(message) {
      mine.problem = message;
      draw();
    },
    live() {
      mine.problem = '';
    },
  });
  draw();
  // after the drawing queued just before: bring the detail into view below the tables
  setTimeout(() => document.getElementById('detail').scrollIntoView({ block: 'nearest' }), 0);
}

// ---- the one write: adopt a node

async function adopt(form) {
  const f = new FormData(form);
  const value = (k) => String(f.get(k) ?? '').trim();
  const ns = value('namespace');
  const talos = { endpoint: value('endpoint'), nodeType: value('nodeType') };
  if (value('secretName'))
    talos.talosconfigSecretRef = {
      name: value('secretName'),
      ...(value('secretKey') ? { key: value('secretKey') } : {}),
    };
  const obj = {
    apiVersion: 'metal.sidero.dev/v1alpha2',
    kind: 'AdoptedServer',
    metadata: { name: value('name'), namespace: ns },
    spec: { talos, accepted: f.get('accepted') === 'on' },
  };
  const out = document.getElementById('adopt-result');
  out.className = '';
  out.textContent = 'Creating…';
  try {
    const res = await fetch(
      `${PROXY}${METAL}/namespaces/${encodeURIComponent(ns)}/adoptedservers?fieldValidation=Strict`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(obj),
      },
    );
    if (!res.ok) throw await refusal(res);
    out.className = 'done';
    out.textContent = `AdoptedServer ${ns}/${obj.metadata.name} created.`;
  } catch (e) {
    out.className = 'error';
    out.textContent = e.message;
  }
}

async function start() {
  const res = await fetch('/config.json');
  config = await res.json();
  document.getElementById('scope').textContent =
    `${config.namespace ? `namespace ${config.namespace}` : 'all namespaces'} · ${config.server}`;
  const form = document.getElementById('adopt');
  form.elements.namespace.value = config.namespace ?? config.defaultNamespace;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void adopt(form);
  });
  for (const resource of Object.keys(KINDS)) addKindFeed(resource);
  draw();
  await runFeeds(showConnection);
}

void start();
