// A VTEX OMS simulator: GET /api/oms/pvt/orders/{orderId} with the appKey/appToken headers.
import { json, readBody, listen, Faults, rng, chaosFault } from './http.js';

export async function startOms(opts = {}) {
  const o = { appKey: 'vtexappkey-sandbox', appToken: 'sandbox-app-token', port: 0, ...opts };
  const orders = new Map();
  const log = [];
  // The Orders Feed v3 hook configuration (one per app key), as VTEX keeps it.
  const hookState = { config: null };
  const faults = new Faults();
  if (o.chaos) {
    const random = rng(o.chaos.seed ?? 2);
    faults.random = () => chaosFault(o.chaos.rates, random, o.chaos.slowMs ?? 1000);
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const entry = { method: req.method, path, at: Date.now(), status: 0 };
    log.push(entry);
    const reply = (status, body) => {
      entry.status = status;
      json(res, status, body);
    };
    if (req.headers['x-vtex-api-appkey'] !== o.appKey || req.headers['x-vtex-api-apptoken'] !== o.appToken) {
      return reply(401, { error: { code: '1', message: 'Unauthorized' } });
    }
    if (await faults.apply(req, res)) {
      entry.status = res.statusCode || 'reset';
      return;
    }
    if (path === '/api/orders/hook/config') return hookConfig(req, reply);
    if (req.method === 'GET' && path === '/api/oms/pvt/orders') return listOrders(url, reply);
    const m = req.method === 'GET' && path.match(/^\/api\/oms\/pvt\/orders\/([^/]+)$/);
    if (!m) return reply(404, { error: { code: '1', message: 'Not found' } });
    const order = orders.get(m[1]) ?? o.fallback?.(m[1]);
    if (!order) return reply(404, { error: { code: '1', message: `Order ${m[1]} not found` } });
    return reply(200, order);
  }

  // GET /api/oms/pvt/orders?f_creationDate=creationDate:[A TO B]&f_status=…&per_page=&page=
  function listOrders(url, reply) {
    const range = (url.searchParams.get('f_creationDate') || '').match(/^creationDate:\[(.+) TO (.+)\]$/);
    const status = url.searchParams.get('f_status');
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') || 15));
    const page = Math.max(1, Number(url.searchParams.get('page') || 1));
    const all = [...orders.values()].filter((ord) => {
      if (status && ord.status !== status) return false;
      if (!range) return true;
      const t = Date.parse(ord.creationDate);
      return t >= Date.parse(range[1]) && t <= Date.parse(range[2]);
    });
    const list = all.slice((page - 1) * perPage, page * perPage).map((ord) => ({ orderId: ord.orderId, creationDate: ord.creationDate, status: ord.status }));
    return reply(200, { list, paging: { total: all.length, pages: Math.max(1, Math.ceil(all.length / perPage)), currentPage: page, perPage } });
  }

  // VTEX pings the hook URL while saving, and keeps the configuration only on a 200.
  async function hookConfig(req, reply) {
    if (req.method === 'GET') return hookState.config ? reply(200, hookState.config) : reply(404, { error: { message: 'Hook not found' } });
    if (req.method === 'DELETE') {
      hookState.config = null;
      return reply(200, {});
    }
    if (req.method !== 'POST') return reply(405, { error: { message: 'Method not allowed' } });
    let cfg;
    try {
      cfg = JSON.parse(await readBody(req));
    } catch {
      return reply(400, { error: { message: 'Invalid JSON' } });
    }
    if (!cfg?.filter || !cfg?.hook?.url || typeof cfg.hook.headers !== 'object') return reply(400, { error: { message: 'filter, hook.url and hook.headers are required' } });
    if (cfg.filter.status && (cfg.filter.expression || cfg.filter.disableSingleFire !== undefined)) return reply(409, { error: { message: 'status and expression are exclusive' } });
    try {
      const ping = await fetch(cfg.hook.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hookConfig":"ping"}', signal: AbortSignal.timeout(5000) });
      if (ping.status !== 200) return reply(400, { error: { message: 'Unable to check address' } });
    } catch {
      return reply(400, { error: { message: 'Unable to check address' } });
    }
    hookState.config = { ...cfg, origin: { account: 'sandbox', key: o.appKey } };
    return reply(200, hookState.config);
  }

  const srv = await listen(handle, o.port);
  return { ...srv, options: o, orders, log, faults, hookState, setOrder: (order) => orders.set(order.orderId, order) };
}
