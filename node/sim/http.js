// Small helpers shared by the simulators.
import http from 'node:http';

export function json(res, status, value) {
  const body = value === undefined ? '' : JSON.stringify(value);
  res.writeHead(status, body ? { 'content-type': 'application/json' } : {});
  res.end(body);
}

export async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts `handler` on 127.0.0.1 (a free port unless given); resolves to {server, url, close}. */
export function listen(handler, port = 0) {
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    handler(req, res).catch((e) => {
      if (!res.headersSent) json(res, 500, { error: `simulator: ${e.message}` });
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      const close = () =>
        new Promise((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        });
      resolve({ server, url, close });
    });
  });
}

/** A small seeded generator (mulberry32): chaos runs are repeatable. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random faults: each request draws once; `rates` maps an outcome to its probability:
 * a status code (`500`, `429`, `503`, `404`), `slow` (answered after `slowMs`, still processed)
 * or `reset` (the connection is cut before processing).
 */
export function chaosFault(rates, random, slowMs) {
  let r = random();
  for (const [what, p] of Object.entries(rates)) {
    if (r < p) {
      if (what === 'slow') return { delayMs: slowMs };
      if (what === 'reset') return { reset: true };
      return { status: Number(what), body: JSON.stringify({ error: `chaos ${what}` }) };
    }
    r -= p;
  }
  return null;
}

/**
 * Injected faults: `faults.add(match, {status, body, times, delayMs, reset})` makes the next
 * `times` requests whose "METHOD path" contains `match` fail that way.
 */
export class Faults {
  constructor() {
    this.rules = [];
  }
  add(match, fault) {
    this.rules.push({ match, times: 1, ...fault });
  }
  take(method, path) {
    const key = `${method} ${path}`;
    const rule = this.rules.find((r) => r.times > 0 && key.includes(r.match));
    if (!rule) return null;
    rule.times -= 1;
    return rule;
  }
  /** Applies a fault to the response; true when the request is answered by it. */
  async apply(req, res) {
    const f = this.take(req.method, decodeURIComponent(req.url)) ?? this.random?.();
    if (!f) return false;
    this.injected = (this.injected ?? 0) + 1;
    if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f.reset) {
      req.socket.destroy();
      return true;
    }
    if (!f.status) return false;
    res.writeHead(f.status, { 'content-type': f.contentType || 'application/json' });
    res.end(f.body ?? JSON.stringify({ error: `injected ${f.status}` }));
    return true;
  }
}
