// A SkyHub simulator, faithful to reference/skyhub-api.md where it is verified and to its
// stated choices where it is not: the three auth headers, per-class rate limits counted on
// arrival (429 with {"error"}), {"error"} bodies, 422 on business-rule errors, the delay
// before an invoiced B2W Entrega order is offered in to_group, grouping before collectables.
import { json, readBody, listen, Faults, rng, chaosFault } from './http.js';

const PAGE = 20;

export function remoteCode(code) {
  const i = code.indexOf('-');
  if (i > 0 && !/^\d+$/.test(code.slice(0, i))) return code.slice(i + 1);
  return code;
}

function requestClass(method, path) {
  if (path.startsWith('/shipments/')) return `shipments_${method}`;
  if (path === '/orders' && method === 'GET') return 'orders_list';
  if (path.startsWith('/orders')) return method === 'GET' ? 'orders_get' : 'orders_write';
  return 'other';
}

/** The NF-e key of an invoice request: JSON `invoice.key`, or the XML of a multipart one. */
function invoiceKey(contentType, body) {
  if ((contentType || '').startsWith('multipart/form-data')) {
    const m = body.match(/<chNFe>(\d{44})<\/chNFe>/) || body.match(/Id="NFe(\d{44})"/);
    const vol = body.match(/name="volume_qty"\r\n\r\n([^\r]*)\r\n/);
    const file = /name="file"; filename="[^"]*"\r\nContent-Type: text\/xml/.test(body);
    return { key: m && m[1], volumeQty: vol && vol[1], xml: file, multipart: true };
  }
  const v = JSON.parse(body);
  return { key: v?.invoice?.key, volumeQty: v?.invoice?.volume_qty, status: v?.status, xml: false, multipart: false };
}

export async function startSkyhub(opts = {}) {
  const o = {
    credentials: { email: 'sandbox@b2w-coleta.local', apiKey: 'sandbox-api-key', accountManagerKey: 'sandbox-am-key' },
    // requests per second per class, as SkyHub documents them
    limits: { orders_get: 1, orders_list: 1, orders_write: 9, shipments_GET: 9, shipments_POST: 9 },
    windowMs: 1000,
    processingDelayMs: 300, // invoice → label → offered in to_group
    port: 0,
    chaos: null, // {rates: {500: 0.2, 429: 0.1, slow: 0.05, reset: 0.02}, slowMs, seed}
    ...opts,
  };
  const orders = new Map(); // code → order
  const plps = [];
  const log = []; // every request: {method, path, status, at}
  const arrivals = {}; // class → arrival times
  const faults = new Faults();
  if (o.chaos) {
    const random = rng(o.chaos.seed ?? 1);
    faults.random = () => chaosFault(o.chaos.rates, random, o.chaos.slowMs ?? 1000);
  }
  const stats = { invoices: [], groups: [], confirms: [], tooMany: 0, unauthorized: 0 };

  function limited(cls, now) {
    const limit = o.limits[cls];
    if (!limit) return false;
    const a = (arrivals[cls] ||= []);
    while (a.length && a[0] <= now - o.windowMs) a.shift();
    if (a.length >= limit) return true;
    a.push(now);
    return false;
  }

  function listing(filter, offset) {
    const all = [...orders.values()].filter(filter);
    const start = (Math.max(1, offset) - 1) * PAGE;
    return all.slice(start, start + PAGE);
  }

  // A listing entry, as to_group and collectables show one.
  const listed = (ord) => ({ code: remoteCode(ord.code), customer: ord.customer?.name ?? 'Cliente', value: ord.total_ordered ?? 0 });

  // The codes a group or confirm request names, and the orders they are; or the error to answer.
  function namedOrders(body, field) {
    let codes;
    try {
      codes = JSON.parse(body)[field];
    } catch {
      return { error: [400, 'JSON inválido'] };
    }
    if (!Array.isArray(codes) || codes.length === 0) return { error: [422, `${field} é obrigatório`] };
    const found = codes.map((rc) => [...orders.values()].find((ord) => remoteCode(ord.code) === rc));
    return { codes, found };
  }

  const entrega = (ord) => /^b2wentrega/.test(ord.calculation_type || '');
  const offeredToGroup = (ord, now) =>
    entrega(ord) && ord.invoicedAt !== undefined && now >= ord.invoicedAt + o.processingDelayMs && !ord.plp &&
    ord.status.code === 'order_invoiced';

  async function handle(req, res) {
    const now = Date.now();
    const url = new URL(req.url, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const entry = { method: req.method, path, query: url.search, at: now, status: 0 };
    log.push(entry);
    const reply = (status, body) => {
      entry.status = status;
      json(res, status, body);
    };
    const h = req.headers;
    const c = o.credentials;
    if (h['x-user-email'] !== c.email || h['x-api-key'] !== c.apiKey || h['x-accountmanager-key'] !== c.accountManagerKey) {
      stats.unauthorized += 1;
      return reply(401, { error: 'Invalid credentials: X-User-Email, X-Api-Key and X-Accountmanager-Key are required' });
    }
    if (limited(requestClass(req.method, url.pathname), now)) {
      stats.tooMany += 1;
      return reply(429, { error: 'Too many requests' });
    }
    // The whole body is read first: a request whose client goes away is still processed.
    const body = await readBody(req);
    if (await faults.apply(req, res)) {
      entry.status = res.statusCode || 'reset';
      return;
    }

    let m;
    if (req.method === 'GET' && path === '/orders') {
      const page = Math.max(1, Number(url.searchParams.get('page') || 1));
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') || 30)));
      const statuses = url.searchParams.getAll('filters[statuses][]');
      const all = [...orders.values()].filter((ord) => !statuses.length || statuses.includes(ord.status.code));
      const visible = all.slice((page - 1) * perPage, page * perPage).map(({ invoicedAt, plp, requested, ...v }) => v);
      return reply(200, { total: all.length, orders: visible });
    }
    if (req.method === 'GET' && (m = path.match(/^\/orders\/([^/]+)$/))) {
      const ord = orders.get(m[1]);
      if (!ord) return reply(404, { error: `Pedido ${m[1]} não encontrado` });
      const { invoicedAt, plp, requested, ...visible } = ord;
      return reply(200, visible);
    }
    if (req.method === 'POST' && (m = path.match(/^\/orders\/([^/]+)\/invoice$/))) {
      const ord = orders.get(m[1]);
      if (!ord) return reply(404, { error: `Pedido ${m[1]} não encontrado` });
      let inv;
      try {
        inv = invoiceKey(h['content-type'], body);
      } catch {
        return reply(400, { error: 'JSON inválido' });
      }
      if (!inv.key || !/^\d{44}$/.test(inv.key)) return reply(422, { error: 'Chave da nota fiscal inválida' });
      if (!['payment_received', 'order_invoiced'].includes(ord.status.code)) {
        return reply(422, { error: `Transição de status inválida: ${ord.status.code} → order_invoiced` });
      }
      stats.invoices.push({ code: ord.code, ...inv, at: now });
      ord.invoices.push({ key: inv.key, number: inv.key.slice(25, 34), line: inv.key.slice(22, 25), issue_date: null });
      ord.status = { code: 'order_invoiced', label: 'Pagamento Faturado (SkyHub)', type: 'INVOICED' };
      ord.invoicedAt ??= now;
      entry.status = 201;
      res.writeHead(201);
      return res.end();
    }
    if (req.method === 'GET' && path === '/shipments/b2w/to_group') {
      const offset = Number(url.searchParams.get('offset') || 1);
      const page = listing((ord) => offeredToGroup(ord, now), offset).map((ord) => ({
        ...listed(ord),
        shipping: ord.calculation_type === 'b2wentregadirect' ? 'DIRECT' : 'CORREIOS',
      }));
      return reply(200, { orders: page });
    }
    if (req.method === 'POST' && path === '/shipments/b2w') {
      const { codes, found, error } = namedOrders(body, 'order_remote_codes');
      if (error) return reply(error[0], { error: error[1] });
      if (codes.length > 25) return reply(422, { error: 'O limite de pedidos para agrupamento é 25' });
      const bad = codes.filter((rc, i) => !found[i] || !offeredToGroup(found[i], now));
      if (bad.length) return reply(422, { error: `Pedidos não disponíveis para agrupamento: ${bad.join(', ')}` });
      const id = String(98945320 + plps.length);
      const kinds = new Set(found.map((ord) => ord.calculation_type));
      plps.push({ id, type: kinds.has('b2wentregadirect') ? 'DIRECT' : 'CORREIOS', orders: codes.map((code) => ({ code })) });
      for (const ord of found) ord.plp = id;
      stats.groups.push({ id, codes, at: now });
      return reply(201, { message: `Plp ${id} agrupada com sucesso.` });
    }
    if (req.method === 'GET' && path === '/shipments/b2w/view') {
      const plp = plps.find((p) => p.id === url.searchParams.get('plp_id'));
      if (!plp) return reply(404, { error: 'PLP não encontrada' });
      if ((h.accept || '').includes('application/pdf')) {
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/pdf' });
        // a minimal PDF: the bytes a printer gets, binary included
        return res.end(Buffer.concat([Buffer.from(`%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Title (PLP ${plp.id}) >> endobj\n`, 'latin1'), Buffer.from([0, 255, 128, 10]), Buffer.from('%%EOF\n')]));
      }
      return reply(200, { plp: { id: plp.id, tpAgrupamento: 'PLP' }, docsExternos: plp.orders.map((o) => ({ codigo: o.code, qtVolumes: 1 })) });
    }
    if (req.method === 'GET' && path === '/shipments/b2w') {
      return reply(200, { plp: plps.map((p) => ({ ...p, expiration_date: '2099-12-31' })) });
    }
    if (req.method === 'GET' && path === '/shipments/b2w/collectables') {
      const requested = url.searchParams.get('requested');
      if (requested !== 'true' && requested !== 'false') return reply(400, { error: 'O parâmetro requested é obrigatório' });
      const offset = Number(url.searchParams.get('offset') || 1);
      const want = requested === 'true';
      const page = listing(
        (ord) => ord.calculation_type === 'b2wentregadirect' && ord.plp && Boolean(ord.requested) === want,
        offset,
      ).map(listed);
      return reply(200, { orders: page });
    }
    if (req.method === 'POST' && path === '/shipments/b2w/confirm_collection') {
      const { codes, found, error } = namedOrders(body, 'order_codes');
      if (error) return reply(error[0], { error: error[1] });
      const bad = codes.filter((rc, i) => !found[i] || !found[i].plp || found[i].calculation_type !== 'b2wentregadirect');
      if (bad.length) return reply(422, { error: `Pedidos não disponíveis para coleta: ${bad.join(', ')}` });
      for (const ord of found) ord.requested = true;
      stats.confirms.push({ codes, at: now });
      return reply(201, {});
    }
    return reply(404, { error: `Rota não encontrada: ${req.method} ${path}` });
  }

  const srv = await listen(handle, o.port);
  return {
    ...srv,
    options: o,
    orders,
    plps,
    log,
    faults,
    stats,
    /** Adds an approved order as SkyHub holds it. */
    addOrder(code, calculationType, extra = {}) {
      orders.set(code, {
        code,
        channel: code.split('-')[0],
        status: { code: 'payment_received', label: 'Aprovado (SkyHub)', type: 'APPROVED' },
        calculation_type: calculationType,
        shipping_method: calculationType === 'b2wentregadirect' ? 'Direct' : calculationType ? 'Correios PAC' : 'Transportadora',
        invoices: [],
        shipments: [],
        customer: { name: 'Cliente Teste' },
        total_ordered: 99.9,
        ...extra,
      });
    },
    /** Requests per class in any sliding window: the highest count seen. */
    peakPerWindow(cls, windowMs = o.windowMs) {
      const times = log.filter((e) => requestClass(e.method, e.path) === cls).map((e) => e.at);
      let peak = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i] - times[j] >= windowMs) j++;
        peak = Math.max(peak, i - j + 1);
      }
      return peak;
    },
  };
}
