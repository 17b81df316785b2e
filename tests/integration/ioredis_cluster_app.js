// ioredis_cluster_app.js PORT: an ioredis Cluster client (the npm client's
// Redis Cluster support) against a cachenode cluster, seeded with one node:
// it discovers the others from CLUSTER SLOTS, writes and reads keys across
// every shard, runs hash-tag multi-key commands and a pipeline within one
// slot, and reads from replicas (scaleReads). Prints "ok cluster"; any
// failure exits 1 with the reason. test_cluster_node.py runs it.
'use strict';
const assert = require('assert');
const Redis = require('ioredis');

const port = Number(process.argv[2]);

async function main() {
  const cluster = new Redis.Cluster([{ host: '127.0.0.1', port }],
    { scaleReads: 'master', redisOptions: { maxRetriesPerRequest: 2 } });
  try {
    for (let i = 0; i < 200; i++) await cluster.set(`io:${i}`, String(i));
    for (let i = 0; i < 200; i++) assert.strictEqual(await cluster.get(`io:${i}`), String(i));
    assert.strictEqual(await cluster.mset('{io}a', '1', '{io}b', '2'), 'OK');
    assert.deepStrictEqual(await cluster.mget('{io}a', '{io}b'), ['1', '2']);
    await cluster.sadd('{io}s1', 'x', 'y');
    await cluster.sadd('{io}s2', 'y', 'z');
    assert.strictEqual(await cluster.sunionstore('{io}u', '{io}s1', '{io}s2'), 3);
    const piped = await cluster.pipeline().set('{io}p', 1).incr('{io}p').get('{io}p').exec();
    assert.deepStrictEqual(piped, [[null, 'OK'], [null, 2], [null, '2']]);
    const tx = await cluster.multi().incr('{io}p').get('{io}p').exec();
    assert.deepStrictEqual(tx, [[null, 3], [null, '3']]);
    await assert.rejects(cluster.mset('a', '1', 'b', '2'), /CROSSSLOT/);
    const script = "return redis.call('incr', KEYS[1])";
    assert.strictEqual(await cluster.eval(script, 1, '{io}n'), 1);
    const nodes = cluster.nodes('master');
    assert.strictEqual(nodes.length, 3);
  } finally {
    cluster.disconnect();
  }
  const reader = new Redis.Cluster([{ host: '127.0.0.1', port }], { scaleReads: 'slave' });
  try {
    // the replicas may lag the writes above for a moment
    for (let tries = 0; ; tries++) {
      const v = await reader.get('io:7');
      if (v === '7') break;
      assert.ok(tries < 100, `replica read returned ${v}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    reader.disconnect();
  }
  console.log('ok cluster');
}

main().then(() => process.exit(0), (e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
