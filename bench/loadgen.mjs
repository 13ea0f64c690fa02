// An open-loop load generator: offers `rate` requests a second for `seconds`, whatever the
// server's pace, over keep-alive connections, and records each request's latency.
import http from 'node:http';

export async function offer({ url, rate, seconds, body, headers = {} }) {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies = [];
  let errors = 0;
  let sent = 0;
  const one = (i) =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const data = body(i);
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            if (res.statusCode !== 200) errors += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(data);
    });
  const total = rate * seconds;
  const pending = [];
  const start = performance.now();
  // every 5 ms, send what the schedule says is due by now
  await new Promise((done) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) pending.push(one(sent++));
      if (sent >= total) {
        clearInterval(timer);
        done();
      }
    }, 5);
  });
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { sent, errors, p50: q(0.5), p99: q(0.99), max: latencies.at(-1), seconds: (performance.now() - start) / 1000 };
}
