#!/usr/bin/env node
// A consumer group member over gRPC: GroupService's heartbeat protocol (KIP-848, docs/api.md
// "Consumer groups from any language") for membership, RecordService.FetchRecords to read the
// partitions it is assigned, OffsetCommit of what it printed.
//   node examples/node/group-consume.js --group G --topic T [--address host:port] [--session-timeout-ms 45000]
// Prints one line per record on stdout (partition, offset, key, value, headers k=v,...) and each
// assignment change on stderr ("# assigned T-0,T-2", "# revoked T-1", "# lost ..."). SIGTERM or
// SIGINT: stop reading, commit, leave the group, exit 0.
'use strict';
const crypto = require('crypto');
const { recordService, groupService, unary, address } = require('./basalt');

const a = { address: address(), 'session-timeout-ms': '45000' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
if (!a.group || !a.topic) {
  console.error('usage: group-consume.js --group G --topic T [--address host:port] [--session-timeout-ms MS]');
  process.exit(2);
}
const SESSION_TIMEOUT_MS = Number(a['session-timeout-ms']);
const RETRY_MS = 200;
const records = recordService(a.address); // any broker routes a fetch to the partition's leader
const bootstrapGroups = groupService(a.address); // any broker answers FindCoordinator
const memberId = crypto.randomUUID();      // ours for the life of the process, kept across rejoins
let coordinator = null;                    // GroupService client on the group's coordinator
let epoch = 0;
let lastAnsweredSentAt = Date.now();
let timer = null;
let stopping = false;
// partition -> { position (string offset or null), revoking, loop (promise of the fetch loop) }.
// A partition is in here from the moment we start taking it until its revocation was committed:
// heartbeats report exactly these as owned, so the coordinator never moves one we may still read.
const owned = new Map();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const names = (ps) => ps.map((p) => `${a.topic}-${p}`).join(',');

async function coordinatorClient() {
  if (!coordinator) {
    const r = await unary(bootstrapGroups, 'findCoordinator', { group_id: a.group });
    if (r.error_code !== 'NONE') throw new Error(`${r.error_code}: ${r.error_message}`);
    coordinator = groupService(`${r.host}:${r.port}`);
  }
  return coordinator;
}

// Commits run one at a time, in order: an older commit must never land after a newer one (the
// next owner of a revoked partition would re-read records).
let commits = Promise.resolve(true);
function commit(partition, position) {
  commits = commits.then(() => commitNow(partition, position), () => commitNow(partition, position));
  return commits;
}

async function commitNow(partition, position) {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const r = await unary(await coordinatorClient(), 'offsetCommit', {
        group_id: a.group, member_id: memberId, member_epoch: epoch,
        partitions: [{ topic: a.topic, partition, offset: position, leader_epoch: -1, metadata: '' }],
      });
      if (r.error_code === 'NONE') return true;
      if (r.error_code === 'STALE_MEMBER_EPOCH' || r.error_code === 'UNKNOWN_MEMBER_ID') return false; // fenced: lost
      if (r.error_code !== 'NOT_COORDINATOR' && !r.error_code.startsWith('COORDINATOR_') && r.error_code !== 'REQUEST_TIMED_OUT') {
        throw new Error(`commit: ${r.error_code}: ${r.error_message}`);
      }
    } catch (err) {
      if (err.message.startsWith('commit:')) throw err;
    }
    coordinator = null;
    await sleep(RETRY_MS);
  }
  return false;
}

// The committed offset of a partition we just got, or '-2' (the oldest record) when none.
async function committedOffset(partition, state) {
  while (!state.revoking) {
    try {
      const c = await unary(await coordinatorClient(), 'offsetFetch', {
        group_id: a.group, partitions: [{ topic: a.topic, partitions: [partition] }],
      });
      if (c.error_code === 'NONE') {
        const found = c.partitions.find((p) => p.partition === partition);
        return found && found.offset !== '-1' ? found.offset : '-2';
      }
    } catch (err) {
      // retried below
    }
    coordinator = null;
    await sleep(RETRY_MS);
  }
  return null;
}

async function fetchLoop(partition, state) {
  state.position = await committedOffset(partition, state);
  while (!state.revoking && owned.get(partition) === state) {
    let r;
    try {
      r = await unary(records, 'fetchRecords', { topic: a.topic, partition, offset: state.position, max_wait_ms: 500 });
    } catch (err) {
      await sleep(RETRY_MS);
      continue;
    }
    if (state.revoking || owned.get(partition) !== state) return; // revoked meanwhile: these are the next owner's
    if (r.error_code === 'OFFSET_OUT_OF_RANGE') { state.position = '-2'; continue; }
    if (r.error_code !== 'NONE') { await sleep(RETRY_MS); continue; }
    for (const rec of r.records) {
      const headers = rec.headers.map((h) => `${h.key}=${h.value ? h.value.toString() : ''}`).join(',');
      console.log(`${partition}\t${rec.offset}\t${rec.key ? rec.key.toString() : ''}\t${rec.value ? rec.value.toString() : ''}\t${headers}`);
    }
    state.position = r.next_offset;
  }
}

// Every second, commit the positions that moved (what was printed), so a crash re-reads little.
const lastCommitted = new Map();
setInterval(() => {
  if (stopping || epoch <= 0) return;
  for (const [p, s] of owned) {
    if (!s.revoking && s.position !== null && s.position !== '-2' && lastCommitted.get(p) !== s.position) {
      lastCommitted.set(p, s.position);
      commit(p, s.position).catch((err) => fail(err));
    }
  }
}, 1000).unref();

function take(partitions) {
  for (const p of partitions) {
    const state = { position: null, revoking: false };
    owned.set(p, state); // reported as owned from now on
    state.loop = fetchLoop(p, state).catch((err) => { console.error(`# partition ${p}: ${err.message}`); });
  }
  console.error(`# assigned ${names(partitions)}`);
}

async function revoke(partitions) {
  for (const p of partitions) owned.get(p).revoking = true;
  await Promise.all(partitions.map(async (p) => {
    const state = owned.get(p);
    await state.loop; // the in-flight fetch ends; nothing is printed after this
    if (owned.get(p) !== state) return; // lost meanwhile: not ours to commit any more
    if (state.position !== null && state.position !== '-2') await commit(p, state.position);
    lastCommitted.delete(p);
    if (owned.get(p) === state) owned.delete(p); // the next heartbeat confirms the revocation
  }));
  console.error(`# revoked ${names(partitions)}`);
}

function lose(why) {
  const ps = [...owned.keys()];
  for (const s of owned.values()) s.revoking = true;
  owned.clear(); // no commit: another member may own them already
  epoch = 0;
  if (ps.length) console.error(`# lost ${names(ps)} (${why})`);
}

function reconcile(assignment) {
  const wanted = new Set();
  for (const t of assignment ? assignment.topics : []) if (t.topic === a.topic) t.partitions.forEach((p) => wanted.add(p));
  const revoked = [...owned.entries()].filter(([p, s]) => !wanted.has(p) && !s.revoking).map(([p]) => p);
  const added = [...wanted].filter((p) => !owned.has(p));
  if (added.length) take(added);
  if (revoked.length) revoke(revoked).then(() => schedule(0), (err) => fail(err));
}

// One heartbeat at a time: answers to two concurrent ones could arrive out of order, and an older
// assignment applied after a newer one would take back a partition we already gave up.
let inFlight = false;
let again = false;

async function heartbeat() {
  timer = null;
  if (stopping || inFlight) return;
  inFlight = true;
  again = false;
  let next;
  try {
    next = await heartbeatOnce();
  } finally {
    inFlight = false;
  }
  schedule(again ? 0 : next);
}

// Sends one heartbeat and applies its answer; returns when to send the next (ms).
async function heartbeatOnce() {
  if (epoch > 0 && Date.now() - lastAnsweredSentAt > SESSION_TIMEOUT_MS) lose('no heartbeat answered for a session timeout');
  const sentAt = Date.now();
  const request = {
    group_id: a.group, member_id: memberId, member_epoch: epoch, rebalance_timeout_ms: 60000,
    subscription: { topic_names: [a.topic], topic_regex: '' },
    owned: { topics: owned.size ? [{ topic: a.topic, partitions: [...owned.keys()].sort((x, y) => x - y) }] : [] },
  };
  let r;
  try {
    r = await unary(await coordinatorClient(), 'consumerGroupHeartbeat', request, 10000);
  } catch (err) {
    coordinator = null;
    return RETRY_MS;
  }
  if (stopping || request.member_epoch !== epoch) return 0; // lost meanwhile: this answer is stale
  switch (r.error_code) {
    case 'NONE':
      lastAnsweredSentAt = sentAt;
      epoch = r.member_epoch;
      reconcile(r.assignment);
      return r.heartbeat_interval_ms;
    case 'FENCED_MEMBER_EPOCH':
    case 'UNKNOWN_MEMBER_ID':
      lose(r.error_code);
      return 0;
    case 'NOT_COORDINATOR':
    case 'COORDINATOR_NOT_AVAILABLE':
    case 'COORDINATOR_LOAD_IN_PROGRESS':
    case 'REQUEST_TIMED_OUT':
      coordinator = null;
      return RETRY_MS;
    default:
      return fail(new Error(`heartbeat: ${r.error_code}: ${r.error_message}`));
  }
}

// The next heartbeat in ms; 0 = as soon as the one in flight (if any) is answered.
function schedule(ms) {
  if (stopping) return;
  if (inFlight) {
    if (ms === 0) again = true;
    return;
  }
  if (timer) clearTimeout(timer);
  timer = setTimeout(heartbeat, ms);
}

function fail(err) {
  console.error(`group-consume failed: ${err.message}`);
  process.exit(1);
}

async function leave() {
  if (stopping) return;
  stopping = true;
  if (timer) clearTimeout(timer);
  const ps = [...owned.keys()];
  if (ps.length) await revoke(ps);
  try {
    await unary(await coordinatorClient(), 'consumerGroupHeartbeat', { group_id: a.group, member_id: memberId, member_epoch: -1 }, 5000);
  } catch (err) {
    // the session timeout removes us anyway
  }
  process.exit(0);
}

process.on('SIGTERM', leave);
process.on('SIGINT', leave);
schedule(0);
