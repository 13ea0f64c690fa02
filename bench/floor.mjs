// The floor for the hook benchmark: a minimal Node `http` server that parses the body and
// does one SQLite upsert per request, with the same durability settings as the service.
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../node/package.json', import.meta.url));
const Database = require('better-sqlite3');
const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS hooks (order_id TEXT PRIMARY KEY, n INTEGER NOT NULL, at INTEGER NOT NULL)');
const upsert = db.prepare('INSERT INTO hooks (order_id, n, at) VALUES (?, 1, ?) ON CONFLICT (order_id) DO UPDATE SET n = n + 1, at = excluded.at');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      const { OrderId } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      upsert.run(String(OrderId), Date.now());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } catch {
      res.writeHead(400);
      res.end();
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
