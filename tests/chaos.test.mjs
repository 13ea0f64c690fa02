// The short chaos run of `make test`: 60 orders, two SIGKILLs, random upstream faults.
// `make chaos` runs the long one (tests/chaos.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './chaos.mjs';

test('under random faults and kills: nothing lost, nothing doubled, nothing wrongful', async () => {
  const f = await runChaos({ orders: 60, kills: 2, seed: 7, drainMs: 90000 });
  assert.deepEqual(f.lost_orders, []);
  assert.equal(f.lost, 0);
  assert.equal(f.duplicate_invoices, 0);
  assert.equal(f.duplicate_pickups, 0);
  assert.equal(f.wrongful_effects, 0);
  assert.equal(f.ineligible_in_wrong_state, 0);
  assert.equal(f.kills, 2);
  assert.equal(f.secrets_in_logs, 0);
  assert.ok(f.log_lines > 100);
  assert.ok(f.skyhub_faults_injected > 20, `only ${f.skyhub_faults_injected} SkyHub faults injected`);
  assert.ok(f.oms_faults_injected > 0);
});
