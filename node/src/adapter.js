// Node's `http` to Web-standard Request/Response and back, so the core sees the same
// objects on Node as on an edge runtime. Bodies over `maxBody` are refused with 413
// while streaming, before they are held in memory.

export class BodyTooLarge extends Error {}

export async function toRequest(req, maxBody) {
  const url = `http://${req.headers.host || 'localhost'}${req.url}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  const init = { method: req.method, headers };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const declared = Number(req.headers['content-length'] || 0);
    if (declared > maxBody) throw new BodyTooLarge();
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > maxBody) throw new BodyTooLarge();
      chunks.push(chunk);
    }
    init.body = Buffer.concat(chunks);
  }
  return new Request(url, init);
}

/** The body of a Node request as text; `BodyTooLarge` past `maxBody` bytes. */
export async function readBody(req, maxBody) {
  if (req.method === 'GET' || req.method === 'HEAD') return '';
  if (Number(req.headers['content-length'] || 0) > maxBody) throw new BodyTooLarge();
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBody) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function writeResponse(res, response) {
  const headers = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const body = Buffer.from(await response.arrayBuffer());
  headers['content-length'] = body.length;
  res.writeHead(response.status, headers);
  res.end(body);
}

export function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
