#!/usr/bin/env node
// Produce records to a Basalt topic over gRPC (RecordService.ProduceRecords).
//   node examples/node/produce.js --topic demo [--count 10] [--key-prefix k] [--batch 100] [--address 127.0.0.1:9400]
// Prints one line per acknowledged record: partition, offset, key, value.
'use strict';
const { recordService } = require('./basalt');

function args() {
  const a = { count: 10 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    a[argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[i + 1];
  }
  if (!a.topic) {
    console.error('usage: produce.js --topic T [--count N] [--key-prefix P] [--batch RECORDS] [--address host:port]');
    process.exit(2);
  }
  a.count = Number(a.count);
  return a;
}

const a = args();
const batch = Number(a.batch || 100); // records per request: a request is one message, bounded by the broker
const client = recordService(a.address);

function produce(records) {
  return new Promise((resolve, reject) => {
    client.produceRecords({ topic: a.topic, records }, { deadline: Date.now() + 30000 }, (err, resp) => {
      if (err) return reject(new Error(err.message));
      if (resp.error_code !== 'NONE') return reject(new Error(`${resp.error_code}: ${resp.error_message}`));
      resolve(resp);
    });
  });
}

async function main() {
  for (let sent = 0; sent < a.count; sent += batch) {
    const records = [];
    for (let i = sent; i < Math.min(a.count, sent + batch); i++) {
      const r = { value: Buffer.from(`node-${i}`), headers: [{ key: 'source', value: Buffer.from('node') }] };
      if (a.keyPrefix !== undefined) r.key = Buffer.from(`${a.keyPrefix}-${i}`);
      records.push(r);
    }
    const resp = await produce(records);
    const lines = [];
    for (const p of resp.partitions) {
      if (p.error_code !== 'NONE') throw new Error(`partition ${p.partition}: ${p.error_code}: ${p.error_message}`);
      p.record_indexes.forEach((idx, j) => {
        const r = records[idx];
        lines.push(`${p.partition}\t${BigInt(p.base_offset) + BigInt(j)}\t${r.key ? r.key.toString() : ''}\t${r.value.toString()}`);
      });
    }
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  }
  client.close();
}

main().catch((err) => { console.error(`produce failed: ${err.message}`); process.exit(1); });
