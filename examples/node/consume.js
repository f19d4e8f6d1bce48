#!/usr/bin/env node
// Follow a Basalt partition over gRPC (RecordService.SubscribeRecords: a server stream that keeps
// delivering records as they are committed).
//   node examples/node/consume.js --topic demo [--partition 0] [--from earliest|latest|N] [--count N]
// Prints one line per record: partition, offset, key, value, headers (k=v,...); exits after --count.
'use strict';
const { recordService } = require('./basalt');

const a = { partition: 0, from: 'earliest', count: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
if (!a.topic) {
  console.error('usage: consume.js --topic T [--partition P] [--from earliest|latest|OFFSET] [--count N] [--address host:port]');
  process.exit(2);
}
const offset = a.from === 'earliest' ? '-2' : a.from === 'latest' ? '-1' : String(a.from);
const count = Number(a.count);
const client = recordService(a.address);
const stream = client.subscribeRecords({ topic: a.topic, partition: Number(a.partition), offset, max_wait_ms: 1000 });
let seen = 0;
stream.on('data', (msg) => {
  if (msg.error_code !== 'NONE') { console.error(`subscription ended: ${msg.error_code}: ${msg.error_message}`); process.exit(1); }
  for (const r of msg.records) {
    const headers = r.headers.map((h) => `${h.key}=${h.value ? h.value.toString() : ''}`).join(',');
    console.log(`${a.partition}\t${r.offset}\t${r.key ? r.key.toString() : ''}\t${r.value ? r.value.toString() : ''}\t${headers}`);
    seen++;
    if (count && seen >= count) { stream.cancel(); client.close(); process.exit(0); }
  }
});
stream.on('error', (err) => {
  if (err.code === 1) return; // CANCELLED: we ended it
  console.error(`subscription failed: ${err.message}`);
  process.exit(1);
});
