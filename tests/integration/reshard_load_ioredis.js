// reshard_load_ioredis.js STOPFILE AUTH HOST:PORT...: an ioredis Cluster
// client (the npm client's Redis Cluster support) that keeps a mixed load
// on a cluster while test_controller_resharding.py reshards it: SET of
// io:<i>, GET of an earlier key (checked), every 5th round an MSET/MGET of
// two hash-tagged keys, every 7th a pipeline of a SET and an INCR in one
// slot. It stops when STOPFILE exists and prints one JSON line:
// {"acked": n, "tagged": n, "counter": n, "errors": [...]}: io:0..acked-1
// and {io<j>}a/b for j < tagged were acknowledged, {io}counter holds
// counter. An error is anything the client gave the application (a
// redirect it followed is not one).
'use strict';
const fs = require('fs');
const Redis = require('ioredis');

const [stopFile, password, ...seeds] = process.argv.slice(2);
const MAX_ERRORS = 20;

function startupNodes() {
  return seeds.map((s) => {
    const at = s.lastIndexOf(':');
    return { host: s.slice(0, at), port: Number(s.slice(at + 1)) };
  });
}

async function round(cluster, state) {
  const i = state.acked;
  await cluster.set(`io:${i}`, `v${i}`);
  state.acked++;
  const j = Math.floor(Math.random() * state.acked);
  const got = await cluster.get(`io:${j}`);
  if (got !== `v${j}`) throw new Error(`io:${j} read ${got}, want v${j}`);
  if (i % 5 === 0) {
    const t = state.tagged;
    await cluster.mset(`{io${t}}a`, `a${t}`, `{io${t}}b`, `b${t}`);
    state.tagged++;
    const both = await cluster.mget(`{io${t}}a`, `{io${t}}b`);
    if (both[0] !== `a${t}` || both[1] !== `b${t}`) throw new Error(`{io${t}} read ${both}`);
  }
  if (i % 7 === 0) {
    const res = await cluster.pipeline().set('{io}last', String(i)).incr('{io}counter').exec();
    for (const [err] of res) if (err) throw err;
    state.counter++;
  }
}

async function main() {
  const cluster = new Redis.Cluster(startupNodes(), {
    redisOptions: { password },
    // redirects and a shard's failover are retried inside the client
    maxRedirections: 64,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
  });
  const state = { acked: 0, tagged: 0, counter: 0, errors: [] };
  while (!fs.existsSync(stopFile)) {
    try {
      await round(cluster, state);
    } catch (e) {
      state.errors.push(String(e && e.message ? e.message : e));
      if (state.errors.length >= MAX_ERRORS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  cluster.disconnect();
  console.log(JSON.stringify({ acked: state.acked, tagged: state.tagged, counter: state.counter,
    errors: state.errors }));
}

main().then(() => process.exit(0), (e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
