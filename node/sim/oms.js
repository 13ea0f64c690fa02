// A VTEX OMS simulator: GET /api/oms/pvt/orders/{orderId} with the appKey/appToken headers.
import { json, listen, Faults, rng, chaosFault } from './http.js';

export async function startOms(opts = {}) {
  const o = { appKey: 'vtexappkey-sandbox', appToken: 'sandbox-app-token', port: 0, ...opts };
  const orders = new Map();
  const log = [];
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
    const m = req.method === 'GET' && path.match(/^\/api\/oms\/pvt\/orders\/([^/]+)$/);
    if (!m) return reply(404, { error: { code: '1', message: 'Not found' } });
    const order = orders.get(m[1]) ?? o.fallback?.(m[1]);
    if (!order) return reply(404, { error: { code: '1', message: `Order ${m[1]} not found` } });
    return reply(200, order);
  }

  const srv = await listen(handle, o.port);
  return { ...srv, options: o, orders, log, faults, setOrder: (order) => orders.set(order.orderId, order) };
}
