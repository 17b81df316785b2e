// ioredis_app.js PORT: what a Node.js application does with ioredis (the npm
// client), run against one node: pipelines, MULTI, Lua scripts defined with
// defineCommand (EVALSHA, falling back to EVAL on NOSCRIPT) for a token
// bucket and a BullMQ-style job move, and pub/sub with channels and patterns.
// Prints one "ok <scenario>" line per scenario; any failure exits 1 with the
// reason. test_ioredis.py runs it.
'use strict';
const assert = require('assert');
const Redis = require('ioredis');

const port = Number(process.argv[2]);
const options = { port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableOfflineQueue: true };

async function pipelinesAndTransactions(r) {
  const piped = await r.pipeline().set('p:a', 1).incr('p:a').hset('p:h', 'f', 'v').zadd('p:z', 5, 'm')
    .hgetall('p:h').exec();
  assert.deepStrictEqual(piped.map(([err, v]) => [err, v]), [[null, 'OK'], [null, 2], [null, 1], [null, 1],
    [null, { f: 'v' }]]);
  const tx = await r.multi().incr('p:a').rpush('p:l', 'x', 'y').lrange('p:l', 0, -1).exec();
  assert.deepStrictEqual(tx, [[null, 3], [null, 2], [null, ['x', 'y']]]);
  // a command's error inside EXEC belongs to that command; the others ran
  const mixed = await r.multi().set('p:k', 'v').lpush('p:k', 'x').get('p:k').exec();
  assert.deepStrictEqual(mixed[0], [null, 'OK']);
  assert.match(mixed[1][0].message, /^WRONGTYPE /);
  assert.deepStrictEqual(mixed[2], [null, 'v']);
}

// A token bucket as rate limiters write it: refill by elapsed time, take one.
const TOKEN_BUCKET = `
local capacity = tonumber(ARGV[1])
local refill_per_ms = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * refill_per_ms)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return {allowed, tostring(tokens)}`;

// A BullMQ-style move: the next waiting job becomes active, with its state
// recorded in the job's hash and a lock with a TTL.
const MOVE_TO_ACTIVE = `
local id = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
if not id then return false end
local job = KEYS[3] .. id
redis.call('HSET', job, 'processedOn', ARGV[1], 'state', 'active')
redis.call('SET', job .. ':lock', ARGV[2], 'PX', 30000)
redis.call('ZADD', KEYS[4], ARGV[1], id)
return {id, redis.call('HGET', job, 'name')}`;

async function luaScripts(r) {
  await r.script('FLUSH');
  r.defineCommand('takeToken', { numberOfKeys: 1, lua: TOKEN_BUCKET });
  r.defineCommand('moveToActive', { numberOfKeys: 4, lua: MOVE_TO_ACTIVE });
  let allowed = 0;
  for (let i = 0; i < 15; i++) {
    const [ok] = await r.takeToken('bucket:user1', 10, 0, 1000);
    allowed += ok;
  }
  assert.strictEqual(allowed, 10, 'a bucket of 10 with no refill allows 10 of 15');
  const [ok, left] = await r.takeToken('bucket:user1', 10, 0.001, 3000); // 2 s later: 2 tokens
  assert.deepStrictEqual([ok, left], [1, '1']);
  assert.ok((await r.pttl('bucket:user1')) > 0);

  for (const id of ['1', '2', '3']) {
    await r.hset(`job:${id}`, 'name', `email-${id}`, 'state', 'waiting');
    await r.lpush('q:wait', id);
  }
  const moved = [];
  for (let i = 0; i < 4; i++) moved.push(await r.moveToActive('q:wait', 'q:active', 'job:', 'q:started', 1700, 'tok'));
  assert.deepStrictEqual(moved, [['1', 'email-1'], ['2', 'email-2'], ['3', 'email-3'], null]);
  assert.deepStrictEqual(await r.lrange('q:active', 0, -1), ['3', '2', '1']);
  assert.strictEqual(await r.hget('job:2', 'state'), 'active');
  assert.strictEqual(await r.zcard('q:started'), 3);
  // the script is cached: EVALSHA works on a fresh connection too
  const sha = (await r.script('LOAD', MOVE_TO_ACTIVE));
  const other = new Redis(options);
  try {
    assert.deepStrictEqual(await other.script('EXISTS', sha), [1]);
    await assert.rejects(other.eval("return redis.call('nosuchcommand')", 0), /Unknown Redis command/);
  } finally {
    other.disconnect();
  }
}

function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

async function pubsub(r) {
  const sub = new Redis(options);
  const got = [];
  try {
    sub.on('message', (channel, message) => got.push(['message', channel, message]));
    sub.on('pmessage', (pattern, channel, message) => got.push(['pmessage', pattern, channel, message]));
    assert.strictEqual(await sub.subscribe('news', 'alerts'), 2);
    assert.strictEqual(await sub.psubscribe('metrics.*'), 3);
    assert.deepStrictEqual(await r.pubsub('NUMSUB', 'news', 'nobody'), ['news', 1, 'nobody', 0]);
    for (let i = 0; i < 100; i++) assert.strictEqual(await r.publish('news', `n${i}`), 1);
    assert.strictEqual(await r.publish('metrics.cpu', '42'), 1);
    assert.strictEqual(await r.publish('elsewhere', 'x'), 0);
    await waitFor(() => got.length === 101, 5000, '101 messages');
    assert.deepStrictEqual(got.slice(0, 2), [['message', 'news', 'n0'], ['message', 'news', 'n1']]);
    assert.deepStrictEqual(got[99], ['message', 'news', 'n99']);
    assert.deepStrictEqual(got[100], ['pmessage', 'metrics.*', 'metrics.cpu', '42']);
    await sub.unsubscribe('news', 'alerts');
    await sub.punsubscribe('metrics.*');
    assert.strictEqual(await sub.ping(), 'PONG'); // out of subscribed mode again
  } finally {
    sub.disconnect();
  }
}

async function main() {
  const r = new Redis(options);
  try {
    await r.flushall();
    for (const [name, fn] of [['pipelines_and_transactions', pipelinesAndTransactions],
      ['lua_scripts', luaScripts], ['pubsub', pubsub]]) {
      await fn(r);
      console.log(`ok ${name}`);
    }
  } finally {
    r.disconnect();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
