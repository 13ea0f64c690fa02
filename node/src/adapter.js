// Node's `http` request body, bounded, and JSON answers of the host itself. Bodies over
// `maxBody` are refused with 413 while streaming, before they are held in memory.

export class BodyTooLarge extends Error {}

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

export function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
