#!/usr/bin/env node
// Writes the seeds of test/fixtures/dbt/jaffle/: 100 customers, 99 orders and their payments
// (amounts in cents). A fixed-seed generator, so running it again writes the same files.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEEDS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/dbt/jaffle/seeds');

// mulberry32: small, fast and the same on every machine.
let state = 20180101;
function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (weighted) => {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let r = random() * total;
  for (const [value, w] of weighted) if ((r -= w) < 0) return value;
  return weighted[weighted.length - 1][0];
};

const FIRST = ['Ada', 'Bruno', 'Chiara', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Keiko', 'Lars', 'Maya', 'Nils',
  'Olga', 'Pavel', 'Quinn', 'Rosa', 'Soren', 'Tamsin', 'Umar', 'Vera', 'Wim', 'Xenia', 'Yusuf', 'Zofia'];
const INITIALS = 'ABCDEFGHJKLMNOPRSTVW';

const customers = ['id,first_name,last_name'];
for (let id = 1; id <= 100; id++) customers.push(`${id},${FIRST[between(0, FIRST.length - 1)]},${INITIALS[between(0, INITIALS.length - 1)]}.`);

const orders = ['id,user_id,order_date,status'];
const payments = ['id,order_id,payment_method,amount'];
const METHODS = [['credit_card', 50], ['bank_transfer', 20], ['coupon', 15], ['gift_card', 15]];
let day = Date.UTC(2018, 0, 1);
let paymentId = 1;
for (let id = 1; id <= 99; id++) {
  day += between(0, 2) * 86_400_000;
  const date = new Date(day).toISOString().slice(0, 10);
  // Recent orders are still on their way; older ones were mostly received, a few sent back.
  const status = id > 92 ? pick([['placed', 3], ['shipped', 2]])
    : id > 85 ? pick([['shipped', 3], ['completed', 2], ['return_pending', 1]])
    : pick([['completed', 10], ['returned', 2], ['return_pending', 1]]);
  orders.push(`${id},${between(1, 100)},${date},${status}`);
  const parts = random() < 0.12 ? between(2, 3) : 1;
  for (let p = 0; p < parts; p++) {
    const method = p > 0 ? pick([['coupon', 1], ['gift_card', 1]]) : pick(METHODS);
    const cents = between(0, 30) * 100 + (random() < 0.2 ? between(1, 99) : 0);
    payments.push(`${paymentId++},${id},${method},${cents}`);
  }
}

writeFileSync(join(SEEDS, 'raw_customers.csv'), customers.join('\n') + '\n');
writeFileSync(join(SEEDS, 'raw_orders.csv'), orders.join('\n') + '\n');
writeFileSync(join(SEEDS, 'raw_payments.csv'), payments.join('\n') + '\n');
console.log(`wrote ${customers.length - 1} customers, ${orders.length - 1} orders, ${payments.length - 1} payments to ${SEEDS}`);
