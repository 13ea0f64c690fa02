// The order store behind the core's Store port: one SQLite table, the record as JSON plus
// the columns it is queried by, and a version for compare-and-set.
//
// Writes are group-committed: the inserts and updates asked for within one turn of the event
// loop run in one transaction, one fsync for all, and each promise resolves once that
// transaction is on disk. Reads see committed data; a compare-and-set on a stale version
// simply fails, and the core reads again.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class SqliteStore {
  constructor(path) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // A hook is answered 200 only once its record is on disk.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS orders (
        order_id   TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        next_at    INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version    INTEGER NOT NULL,
        data       TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS orders_due ON orders (next_at) WHERE next_at IS NOT NULL;
      CREATE INDEX IF NOT EXISTS orders_state ON orders (state, created_at);
      CREATE INDEX IF NOT EXISTS orders_created ON orders (created_at);
    `);
    this.q = {
      get: this.db.prepare('SELECT data, version FROM orders WHERE order_id = ?'),
      insert: this.db.prepare(`INSERT INTO orders (order_id, state, next_at, created_at, updated_at, version, data)
        VALUES (@orderId, @state, @nextAt, @createdAt, @updatedAt, 1, @data) ON CONFLICT (order_id) DO NOTHING`),
      update: this.db.prepare(`UPDATE orders SET state = @state, next_at = @nextAt, updated_at = @updatedAt,
        version = version + 1, data = @data WHERE order_id = @orderId AND version = @expected`),
      due: this.db.prepare(`SELECT data, version FROM orders WHERE next_at IS NOT NULL AND next_at <= ?
        AND (state = 'collection_pending') = ? ORDER BY next_at, created_at LIMIT ?`),
      list: this.db.prepare(`SELECT data, version FROM orders
        WHERE (@state IS NULL OR state = @state)
          AND (@like IS NULL OR order_id LIKE @like ESCAPE '\\' OR json_extract(data, '$.skyhubCode') LIKE @like ESCAPE '\\')
        ORDER BY created_at DESC, order_id DESC LIMIT @limit OFFSET @offset`),
      counts: this.db.prepare('SELECT state, COUNT(*) AS n FROM orders GROUP BY state'),
      ping: this.db.prepare('SELECT 1'),
      dueStats: this.db.prepare('SELECT COUNT(*) AS count, MIN(next_at) AS oldest FROM orders WHERE next_at IS NOT NULL AND next_at <= ?'),
    };
    this.pending = [];
    this.commitAll = this.db.transaction((batch) => {
      for (const w of batch) w.result = w.run();
    });
  }

  /** Queues a write for the next group commit; resolves to its result once durable. */
  write(run) {
    return new Promise((resolve, reject) => {
      this.pending.push({ run, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  flush() {
    const batch = this.pending;
    this.pending = [];
    try {
      this.commitAll(batch);
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    for (const w of batch) w.resolve(w.result);
  }

  get(orderId) {
    return this.q.get.get(orderId) ?? null;
  }
  insert(row) {
    return this.write(() => this.q.insert.run(row).changes === 1);
  }
  update(row, expected) {
    return this.write(() => this.q.update.run({ ...row, expected }).changes === 1);
  }
  due(now, limit, collection) {
    return this.q.due.all(now, collection ? 1 : 0, limit);
  }
  list(state, search, limit, offset) {
    // LIKE is case-insensitive for ASCII; % and _ in the search are matched literally
    const like = search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    return this.q.list.all({ state: state ?? null, like, limit, offset });
  }
  counts() {
    const out = {};
    for (const { state, n } of this.q.counts.all()) out[state] = n;
    return out;
  }
  dueStats(now) {
    return this.q.dueStats.get(now);
  }
  ping() {
    this.q.ping.get();
    return true;
  }
  close() {
    if (this.pending.length) this.flush();
    this.db.close();
  }
}

export function openStore(databaseUrl) {
  return new SqliteStore(databaseUrl.slice('sqlite:'.length));
}
