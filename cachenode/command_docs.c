/* command_docs.c: the documentary data COMMAND DOCS adds to the command
 * tables (argument trees, history, doc flags, deprecation), one entry per
 * full command name, with the parser of the argument notation and the reply.
 * The values are Redis 7.0's documented ones; redis-cli builds its hints
 * from them.
 *
 * Argument notation: arguments separated by spaces, in command-line order.
 *
 *     type:name[=TOKEN][marks]   an argument: "key:key@0", "integer:count=COUNT?"
 *     TOKEN[marks]               a pure-token named after its token in lower
 *                                case: "NX", "GET?"
 *     oneof:name (args)          a choice, or a block (sequence) of arguments
 *     block:name (args)
 *
 * A token made of other characters than letters, digits and '-' is quoted:
 * "pure-token:auto_id='*'" (XADD's '*', '=', '~', XGROUP's '$').
 *
 * types: string integer double key pattern unix-time pure-token oneof block.
 * marks: ? optional, * multiple, + multiple_token, @N key_spec_index N (every
 * key has one; a pattern may, as SORT's BY and GET patterns do, whose keys
 * derive from them; no other type). Attributes follow an argument as words of
 * their own, before its group if it has one: since=VERSION,
 * deprecated=VERSION, as in "oneof:condition? since=2.6.12 (NX XX)". A name
 * may contain ':' (the type ends at the first one): "string:ip:port=ADDR?".
 *
 * A command with nothing to add (no arguments, history or flags) has no
 * entry. tests/unit/test_command_docs.c parses every entry; at reply time a
 * malformed one is logged and its arguments left out, so the map's length
 * stays right. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "command_docs.h"
#include "log.h"

/* Shared by several entries. */
#define FLUSH_ARGS "oneof:async? (ASYNC since=4.0.0 SYNC since=6.2.0)"
#define FLUSH_HISTORY "4.0.0 Added the `ASYNC` flushing mode modifier.\n" \
                      "6.2.0 Added the `SYNC` flushing mode modifier."
#define EXPIRE_CONDITION "oneof:condition? since=7.0.0 (NX XX GT LT)"
#define EXPIRE_HISTORY "7.0.0 Added options: `NX`, `XX`, `GT` and `LT`."
#define PUSH_HISTORY(v) v " Accepts multiple `element` arguments."
#define POP_HISTORY "6.2.0 Added the `count` argument."
#define BLOCKING_TIMEOUT_HISTORY "6.0.0 `timeout` is interpreted as a double instead of an integer."
#define LMOVE_ARGS "key:source@0 key:destination@1 oneof:wherefrom (LEFT RIGHT) oneof:whereto (LEFT RIGHT)"
#define MPOP_ARGS "integer:numkeys key:key@0* oneof:where (LEFT RIGHT) integer:count=COUNT?"
#define SORT_ARGS "key:key@0 pattern:pattern=BY@1? block:offset_count=LIMIT? (integer:offset integer:count) " \
                  "pattern:pattern=GET@1?*+ oneof:order? (ASC DESC) pure-token:sorting=ALPHA?"
#define GEO_UNITS "oneof:unit (M KM FT MI)"
#define GEO_SEARCH_ARGS "oneof:from (string:member=FROMMEMBER block:longitude_latitude=FROMLONLAT " \
                        "(double:longitude double:latitude)) oneof:by (block:circle (double:radius=BYRADIUS " \
                        GEO_UNITS ") block:box (double:width=BYBOX double:height " GEO_UNITS ")) " \
                        "oneof:order? (ASC DESC) block:count? (integer:count=COUNT ANY?)"
#define GEO_UNIT_HISTORY "7.0.0 Added support for uppercase unit names."
/* GEORADIUS's options after the center; any_since is GEORADIUS's "since" of ANY. */
#define GEO_RADIUS_TAIL(any_since) "double:radius " GEO_UNITS " WITHCOORD? WITHDIST? WITHHASH? " \
                                   "block:count? (integer:count=COUNT ANY?" any_since ") oneof:order? (ASC DESC)"
#define GEO_STORE_ARGS "key:key=STORE@1? key:key=STOREDIST@2?"
#define EVAL_ARGS(first) "string:" first " integer:numkeys key:key?*@0 string:arg?*"
#define REPLICAOF_ARGS "oneof:args (block:host-port (string:host integer:port) block:no-one (NO ONE))"

#define XTRIM_INNER "oneof:strategy (MAXLEN MINID since=6.2.0) " \
                    "oneof:operator? (pure-token:equal='=' pure-token:approximately='~') " \
                    "string:threshold integer:count=LIMIT? since=6.2.0"
#define XGROUP_ID "oneof:id (string:id pure-token:new_id='$')"

static const struct command_doc docs[] = {
    /* strings */
    {.name = "get", .args = "key:key@0"},
    {.name = "set",
     .args = "key:key@0 string:value "
             "oneof:condition? since=2.6.12 (NX XX) "
             "GET? since=6.2.0 "
             "oneof:expiration? (integer:seconds=EX since=2.6.12 integer:milliseconds=PX since=2.6.12 "
             "unix-time:unix-time-seconds=EXAT since=6.2.0 "
             "unix-time:unix-time-milliseconds=PXAT since=6.2.0 KEEPTTL since=6.0.0)",
     .history = "2.6.12 Added the `EX`, `PX`, `NX` and `XX` options.\n"
                "6.0.0 Added the `KEEPTTL` option.\n"
                "6.2.0 Added the `GET`, `EXAT` and `PXAT` option.\n"
                "7.0.0 Allowed the `NX` and `GET` options to be used together."},
    {.name = "setnx", .args = "key:key@0 string:value"},
    {.name = "setex", .args = "key:key@0 integer:seconds string:value"},
    {.name = "psetex", .args = "key:key@0 integer:milliseconds string:value"},
    {.name = "getset", .args = "key:key@0 string:value", .doc_flags = DOC_DEPRECATED,
     .deprecated_since = "6.2.0", .replaced_by = "`SET` with the `!GET` argument"},
    {.name = "getdel", .args = "key:key@0"},
    {.name = "getex",
     .args = "key:key@0 "
             "oneof:expiration? (integer:seconds=EX integer:milliseconds=PX "
             "unix-time:unix-time-seconds=EXAT unix-time:unix-time-milliseconds=PXAT PERSIST)"},
    {.name = "mget", .args = "key:key@0*"},
    {.name = "mset", .args = "block:key_value* (key:key@0 string:value)"},
    {.name = "msetnx", .args = "block:key_value* (key:key@0 string:value)"},
    {.name = "append", .args = "key:key@0 string:value"},
    {.name = "strlen", .args = "key:key@0"},
    {.name = "getrange", .args = "key:key@0 integer:start integer:end"},
    {.name = "substr", .args = "key:key@0 integer:start integer:end", .doc_flags = DOC_DEPRECATED,
     .deprecated_since = "2.0.0", .replaced_by = "`GETRANGE`"},
    {.name = "setrange", .args = "key:key@0 integer:offset string:value"},
    {.name = "incr", .args = "key:key@0"},
    {.name = "decr", .args = "key:key@0"},
    {.name = "incrby", .args = "key:key@0 integer:increment"},
    {.name = "decrby", .args = "key:key@0 integer:decrement"},
    {.name = "incrbyfloat", .args = "key:key@0 double:increment"},
    {.name = "lcs", .args = "key:key1@0 key:key2@0 LEN? IDX? integer:len=MINMATCHLEN? WITHMATCHLEN?"},

    /* hashes */
    {.name = "hset", .args = "key:key@0 block:field_value* (string:field string:value)",
     .history = "4.0.0 Accepts multiple `field` and `value` arguments."},
    {.name = "hsetnx", .args = "key:key@0 string:field string:value"},
    {.name = "hget", .args = "key:key@0 string:field"},
    {.name = "hmget", .args = "key:key@0 string:field*"},
    {.name = "hmset", .args = "key:key@0 block:field_value* (string:field string:value)",
     .doc_flags = DOC_DEPRECATED, .deprecated_since = "4.0.0",
     .replaced_by = "`HSET` with multiple field-value pairs"},
    {.name = "hdel", .args = "key:key@0 string:field*",
     .history = "2.4.0 Accepts multiple `field` arguments."},
    {.name = "hlen", .args = "key:key@0"},
    {.name = "hstrlen", .args = "key:key@0 string:field"},
    {.name = "hexists", .args = "key:key@0 string:field"},
    {.name = "hkeys", .args = "key:key@0"},
    {.name = "hvals", .args = "key:key@0"},
    {.name = "hgetall", .args = "key:key@0"},
    {.name = "hincrby", .args = "key:key@0 string:field integer:increment"},
    {.name = "hincrbyfloat", .args = "key:key@0 string:field double:increment"},
    {.name = "hrandfield", .args = "key:key@0 block:options? (integer:count WITHVALUES?)"},
    {.name = "hscan", .args = "key:key@0 integer:cursor pattern:pattern=MATCH? integer:count=COUNT?"},

    /* sets */
    {.name = "sadd", .args = "key:key@0 string:member*", .history = "2.4.0 Accepts multiple `member` arguments."},
    {.name = "srem", .args = "key:key@0 string:member*", .history = "2.4.0 Accepts multiple `member` arguments."},
    {.name = "scard", .args = "key:key@0"},
    {.name = "sismember", .args = "key:key@0 string:member"},
    {.name = "smismember", .args = "key:key@0 string:member*"},
    {.name = "smembers", .args = "key:key@0"},
    {.name = "srandmember", .args = "key:key@0 integer:count? since=2.6.0",
     .history = "2.6.0 Added the optional `count` argument."},
    {.name = "spop", .args = "key:key@0 integer:count? since=3.2.0", .history = "3.2.0 Added the `count` argument."},
    {.name = "smove", .args = "key:source@0 key:destination@1 string:member"},
    {.name = "sinter", .args = "key:key@0*"},
    {.name = "sintercard", .args = "integer:numkeys key:key@0* integer:limit=LIMIT?"},
    {.name = "sinterstore", .args = "key:destination@0 key:key@1*"},
    {.name = "sunion", .args = "key:key@0*"},
    {.name = "sunionstore", .args = "key:destination@0 key:key@1*"},
    {.name = "sdiff", .args = "key:key@0*"},
    {.name = "sdiffstore", .args = "key:destination@0 key:key@1*"},
    {.name = "sscan", .args = "key:key@0 integer:cursor pattern:pattern=MATCH? integer:count=COUNT?"},

    /* lists */
    {.name = "lpush", .args = "key:key@0 string:element*", .history = PUSH_HISTORY("2.4.0")},
    {.name = "rpush", .args = "key:key@0 string:element*", .history = PUSH_HISTORY("2.4.0")},
    {.name = "lpushx", .args = "key:key@0 string:element*", .history = PUSH_HISTORY("4.0.0")},
    {.name = "rpushx", .args = "key:key@0 string:element*", .history = PUSH_HISTORY("4.0.0")},
    {.name = "lpop", .args = "key:key@0 integer:count? since=6.2.0", .history = POP_HISTORY},
    {.name = "rpop", .args = "key:key@0 integer:count? since=6.2.0", .history = POP_HISTORY},
    {.name = "llen", .args = "key:key@0"},
    {.name = "lindex", .args = "key:key@0 integer:index"},
    {.name = "lset", .args = "key:key@0 integer:index string:element"},
    {.name = "lrange", .args = "key:key@0 integer:start integer:stop"},
    {.name = "ltrim", .args = "key:key@0 integer:start integer:stop"},
    {.name = "lrem", .args = "key:key@0 integer:count string:element"},
    {.name = "linsert", .args = "key:key@0 oneof:where (BEFORE AFTER) string:pivot string:element"},
    {.name = "lpos",
     .args = "key:key@0 string:element integer:rank=RANK? integer:num-matches=COUNT? integer:len=MAXLEN?"},
    {.name = "lmove", .args = LMOVE_ARGS},
    {.name = "rpoplpush", .args = "key:source@0 key:destination@1", .doc_flags = DOC_DEPRECATED,
     .deprecated_since = "6.2.0", .replaced_by = "`LMOVE` with the `RIGHT` and `LEFT` arguments"},
    {.name = "lmpop", .args = MPOP_ARGS},
    {.name = "blpop", .args = "key:key@0* double:timeout", .history = BLOCKING_TIMEOUT_HISTORY},
    {.name = "brpop", .args = "key:key@0* double:timeout", .history = BLOCKING_TIMEOUT_HISTORY},
    {.name = "blmove", .args = LMOVE_ARGS " double:timeout"},
    {.name = "brpoplpush", .args = "key:source@0 key:destination@1 double:timeout",
     .history = BLOCKING_TIMEOUT_HISTORY, .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0",
     .replaced_by = "`BLMOVE` with the `RIGHT` and `LEFT` arguments"},
    {.name = "blmpop", .args = "double:timeout " MPOP_ARGS},

    /* sorted sets */
    {.name = "zadd", .args = "key:key@0 oneof:condition? since=3.0.2 (NX XX) oneof:comparison? since=6.2.0 (GT LT) pure-token:change=CH? since=3.0.2 pure-token:increment=INCR? since=3.0.2 block:score_member* (double:score string:member)", .history = "2.4.0 Accepts multiple elements.\n3.0.2 Added the `XX`, `NX`, `CH` and `INCR` options.\n6.2.0 Added the `GT` and `LT` options."},
    {.name = "zincrby", .args = "key:key@0 integer:increment string:member"},
    {.name = "zrem", .args = "key:key@0 string:member*", .history = "2.4.0 Accepts multiple elements."},
    {.name = "zcard", .args = "key:key@0"},
    {.name = "zscore", .args = "key:key@0 string:member"},
    {.name = "zmscore", .args = "key:key@0 string:member*"},
    {.name = "zrank", .args = "key:key@0 string:member"},
    {.name = "zrevrank", .args = "key:key@0 string:member"},
    {.name = "zrange", .args = "key:key@0 string:start string:stop oneof:sortby? since=6.2.0 (BYSCORE BYLEX) REV? since=6.2.0 block:offset_count=LIMIT? since=6.2.0 (integer:offset integer:count) WITHSCORES?", .history = "6.2.0 Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options."},
    {.name = "zrangestore", .args = "key:dst@0 key:src@1 string:min string:max oneof:sortby? (BYSCORE BYLEX) REV? block:offset_count=LIMIT? (integer:offset integer:count)"},
    {.name = "zrevrange", .args = "key:key@0 integer:start integer:stop WITHSCORES?", .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0", .replaced_by = "`ZRANGE` with the `REV` argument"},
    {.name = "zrangebyscore", .args = "key:key@0 double:min double:max WITHSCORES? since=2.0.0 block:offset_count=LIMIT? (integer:offset integer:count)", .history = "2.0.0 Added the `WITHSCORES` modifier.", .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0", .replaced_by = "`ZRANGE` with the `BYSCORE` argument"},
    {.name = "zrevrangebyscore", .args = "key:key@0 double:max double:min WITHSCORES? block:offset_count=LIMIT? (integer:offset integer:count)", .history = "2.1.6 `min` and `max` can be exclusive.", .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0", .replaced_by = "`ZRANGE` with the `REV` and `BYSCORE` arguments"},
    {.name = "zrangebylex", .args = "key:key@0 string:min string:max block:offset_count=LIMIT? (integer:offset integer:count)", .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0", .replaced_by = "`ZRANGE` with the `BYLEX` argument"},
    {.name = "zrevrangebylex", .args = "key:key@0 string:max string:min block:offset_count=LIMIT? (integer:offset integer:count)", .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0", .replaced_by = "`ZRANGE` with the `REV` and `BYLEX` arguments"},
    {.name = "zcount", .args = "key:key@0 double:min double:max"},
    {.name = "zlexcount", .args = "key:key@0 string:min string:max"},
    {.name = "zremrangebyrank", .args = "key:key@0 integer:start integer:stop"},
    {.name = "zremrangebyscore", .args = "key:key@0 double:min double:max"},
    {.name = "zremrangebylex", .args = "key:key@0 string:min string:max"},
    {.name = "zpopmin", .args = "key:key@0 integer:count?"},
    {.name = "zpopmax", .args = "key:key@0 integer:count?"},
    {.name = "bzpopmin", .args = "key:key*@0 double:timeout", .history = "6.0.0 `timeout` is interpreted as a double instead of an integer."},
    {.name = "bzpopmax", .args = "key:key*@0 double:timeout", .history = "6.0.0 `timeout` is interpreted as a double instead of an integer."},
    {.name = "zmpop", .args = "integer:numkeys key:key*@0 oneof:where (MIN MAX) integer:count=COUNT?"},
    {.name = "bzmpop", .args = "double:timeout integer:numkeys key:key*@0 oneof:where (MIN MAX) integer:count=COUNT?"},
    {.name = "zrandmember", .args = "key:key@0 block:options? (integer:count WITHSCORES?)"},
    {.name = "zunion", .args = "integer:numkeys key:key*@0 integer:weight=WEIGHTS?* oneof:aggregate=AGGREGATE? (SUM MIN MAX) WITHSCORES?"},
    {.name = "zunionstore", .args = "key:destination@0 integer:numkeys key:key*@1 integer:weight=WEIGHTS?* oneof:aggregate=AGGREGATE? (SUM MIN MAX)"},
    {.name = "zinter", .args = "integer:numkeys key:key*@0 integer:weight=WEIGHTS?* oneof:aggregate=AGGREGATE? (SUM MIN MAX) WITHSCORES?"},
    {.name = "zinterstore", .args = "key:destination@0 integer:numkeys key:key*@1 integer:weight=WEIGHTS?* oneof:aggregate=AGGREGATE? (SUM MIN MAX)"},
    {.name = "zintercard", .args = "integer:numkeys key:key*@0 integer:limit=LIMIT?"},
    {.name = "zdiff", .args = "integer:numkeys key:key*@0 WITHSCORES?"},
    {.name = "zdiffstore", .args = "key:destination@0 integer:numkeys key:key*@1"},
    {.name = "zscan", .args = "key:key@0 integer:cursor pattern:pattern=MATCH? integer:count=COUNT?"},

    /* keyspace */
    {.name = "del", .args = "key:key@0*"},
    {.name = "unlink", .args = "key:key@0*"},
    {.name = "exists", .args = "key:key@0*", .history = "3.0.3 Accepts multiple `key` arguments."},
    {.name = "type", .args = "key:key@0"},
    {.name = "touch", .args = "key:key@0*"},
    {.name = "rename", .args = "key:key@0 key:newkey@1"},
    {.name = "renamenx", .args = "key:key@0 key:newkey@1",
     .history = "3.2.0 The command no longer returns an error when source and destination names are the same."},
    {.name = "copy", .args = "key:source@0 key:destination@1 integer:destination-db=DB? REPLACE?"},
    {.name = "move", .args = "key:key@0 integer:db"},
    {.name = "keys", .args = "pattern:pattern"},
    {.name = "scan",
     .args = "integer:cursor pattern:pattern=MATCH? integer:count=COUNT? string:type=TYPE? since=6.0.0",
     .history = "6.0.0 Added the `TYPE` subcommand."},
    {.name = "flushdb", .args = FLUSH_ARGS, .history = FLUSH_HISTORY},
    {.name = "flushall", .args = FLUSH_ARGS, .history = FLUSH_HISTORY},
    {.name = "object|encoding", .args = "key:key@0"},
    {.name = "object|freq", .args = "key:key@0"},
    {.name = "object|idletime", .args = "key:key@0"},
    {.name = "object|refcount", .args = "key:key@0"},
    {.name = "sort", .args = SORT_ARGS " key:destination=STORE@2?"},
    {.name = "sort_ro", .args = SORT_ARGS},
    {.name = "dump", .args = "key:key@0"},
    {.name = "restore",
     .args = "key:key@0 integer:ttl string:serialized-value REPLACE? since=3.0.0 ABSTTL? since=5.0.0 "
             "integer:seconds=IDLETIME? since=5.0.0 integer:frequency=FREQ? since=5.0.0",
     .history = "3.0.0 Added the `REPLACE` modifier.\n"
                "5.0.0 Added the `ABSTTL` modifier.\n"
                "5.0.0 Added the `IDLETIME` and `FREQ` options."},
    {.name = "memory|usage", .args = "key:key@0 integer:count=SAMPLES?"},

    /* transactions */
    {.name = "watch", .args = "key:key@0*"},
    /* pub/sub */
    {.name = "subscribe", .args = "string:channel*"},
    {.name = "unsubscribe", .args = "string:channel?*"},
    {.name = "psubscribe", .args = "block:pattern* (pattern:pattern)"},
    {.name = "punsubscribe", .args = "pattern:pattern?*"},
    {.name = "publish", .args = "string:channel string:message"},
    {.name = "ssubscribe", .args = "string:shardchannel*"},
    {.name = "sunsubscribe", .args = "string:shardchannel?*"},
    {.name = "spublish", .args = "string:shardchannel string:message"},
    {.name = "pubsub|channels", .args = "pattern:pattern?"},
    {.name = "pubsub|numsub", .args = "string:channel?*"},
    {.name = "pubsub|shardchannels", .args = "pattern:pattern?"},
    {.name = "pubsub|shardnumsub", .args = "string:shardchannel?*"},

    /* expiry */
    {.name = "expire", .args = "key:key@0 integer:seconds " EXPIRE_CONDITION, .history = EXPIRE_HISTORY},
    {.name = "pexpire", .args = "key:key@0 integer:milliseconds " EXPIRE_CONDITION, .history = EXPIRE_HISTORY},
    {.name = "expireat", .args = "key:key@0 unix-time:unix-time-seconds " EXPIRE_CONDITION,
     .history = EXPIRE_HISTORY},
    {.name = "pexpireat", .args = "key:key@0 unix-time:unix-time-milliseconds " EXPIRE_CONDITION,
     .history = EXPIRE_HISTORY},
    {.name = "ttl", .args = "key:key@0", .history = "2.8.0 Added the -2 reply."},
    {.name = "pttl", .args = "key:key@0", .history = "2.8.0 Added the -2 reply."},
    {.name = "expiretime", .args = "key:key@0"},
    {.name = "pexpiretime", .args = "key:key@0"},
    {.name = "persist", .args = "key:key@0"},

    /* connection */
    {.name = "ping", .args = "string:message?"},
    {.name = "echo", .args = "string:message"},
    {.name = "select", .args = "integer:index"},
    {.name = "hello",
     .args = "block:arguments? (integer:protover "
             "block:username_password=AUTH? (string:username string:password) "
             "string:clientname=SETNAME?)",
     .history = "6.2.0 `protover` made optional; when called without arguments the command reports "
                "the current connection's context."},
    {.name = "auth", .args = "string:username? since=6.0.0 string:password",
     .history = "6.0.0 Added ACL style (username and password)."},
    {.name = "client|setname", .args = "string:connection-name"},
    {.name = "client|tracking",
     .args = "oneof:status (ON OFF) integer:client-id=REDIRECT? string:prefix=PREFIX?*+ BCAST? OPTIN? OPTOUT? NOLOOP?"},
    {.name = "client|caching", .args = "oneof:mode (YES NO)"},
    /* Redis 7.2's CLIENT SETINFO: redis 7.0 has no such command */
    {.name = "client|setinfo", .args = "oneof:attr (string:libname=lib-name string:libver=lib-ver)"},
    {.name = "client|list",
     .args = "oneof:normal_master_replica_pubsub=TYPE? since=5.0.0 (NORMAL MASTER REPLICA PUBSUB) "
             "block:id=ID? since=6.2.0 (integer:client-id*)",
     .history = "2.8.12 Added unique client `id` field.\n"
                "5.0.0 Added optional `TYPE` filter.\n"
                "6.0.0 Added `user` field.\n"
                "6.2.0 Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter.\n"
                "7.0.0 Added `resp`, `multi-mem`, `rbs` and `rbp` fields.\n"
                "7.0.3 Added `ssub` field."},
    {.name = "client|kill",
     .args = "oneof:filter ("
             "string:ip:port deprecated=2.8.12 "
             "oneof:new-format* ("
             "integer:client-id=ID? since=2.8.12 "
             "oneof:normal_master_slave_pubsub=TYPE? since=2.8.12 "
             "(NORMAL MASTER since=3.2.0 SLAVE REPLICA since=5.0.0 PUBSUB) "
             "string:username=USER? string:ip:port=ADDR? string:ip:port=LADDR? since=6.2.0 "
             "string:yes/no=SKIPME?))",
     .history = "2.8.12 Added new filter format.\n"
                "2.8.12 `ID` option.\n"
                "3.2.0 Added `master` type in for `TYPE` option.\n"
                "5.0.0 Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward "
                "compatibility.\n"
                "6.2.0 `LADDR` option."},
    {.name = "client|reply", .args = "oneof:on_off_skip (ON OFF SKIP)"},
    {.name = "client|pause", .args = "integer:timeout oneof:mode? since=6.2.0 (WRITE ALL)",
     .history = "6.2.0 `CLIENT PAUSE WRITE` mode added along with the `mode` option."},
    {.name = "client|no-evict", .args = "oneof:enabled (ON OFF)"},
    {.name = "client|unblock", .args = "integer:client-id oneof:timeout_error? (TIMEOUT ERROR)"},

    /* server */
    {.name = "config|get", .args = "block:parameter* (string:parameter)",
     .history = "7.0.0 Added the ability to pass multiple pattern parameters in one call"},
    {.name = "config|set", .args = "block:parameter_value* (string:parameter string:value)",
     .history = "7.0.0 Added the ability to set multiple parameters in one call."},
    {.name = "info", .args = "string:section?*",
     .history = "7.0.0 Added support for taking multiple section arguments."},
    {.name = "command|info", .args = "string:command-name?*",
     .history = "7.0.0 Allowed to be called with no argument to get info on all commands."},
    {.name = "command|docs", .args = "string:command-name?*"},
    {.name = "command|list",
     .args = "oneof:filterby=FILTERBY? "
             "(string:module-name=MODULE string:category=ACLCAT pattern:pattern=PATTERN)"},
    {.name = "latency|histogram", .args = "string:command?*"},
    {.name = "latency|history", .args = "string:event"},
    {.name = "latency|reset", .args = "string:event?*"},
    {.name = "latency|graph", .args = "string:event"},
    {.name = "slowlog|get", .args = "integer:count?",
     .history = "4.0.0 Added client IP address, port and name to the reply."},
    {.name = "shutdown",
     .args = "oneof:nosave_save? (NOSAVE SAVE) NOW? since=7.0.0 FORCE? since=7.0.0 ABORT? since=7.0.0",
     .history = "7.0.0 Added the `NOW`, `FORCE` and `ABORT` modifiers."},
    {.name = "debug", .doc_flags = DOC_SYSCMD},

    /* persistence and replication */
    {.name = "bgsave", .args = "SCHEDULE? since=3.2.2", .history = "3.2.2 Added the `SCHEDULE` option."},
    {.name = "psync", .args = "string:replicationid integer:offset"},
    {.name = "replconf", .doc_flags = DOC_SYSCMD},
    {.name = "replicaof", .args = REPLICAOF_ARGS},
    {.name = "slaveof", .args = REPLICAOF_ARGS,
     .doc_flags = DOC_DEPRECATED, .deprecated_since = "5.0.0", .replaced_by = "`REPLICAOF`"},
    {.name = "wait", .args = "integer:numreplicas integer:timeout"},
    /* bitmaps (bitops.c) */
    {.name = "setbit", .args = "key:key@0 integer:offset integer:value"},
    {.name = "getbit", .args = "key:key@0 integer:offset"},
    {.name = "bitcount",
     .args = "key:key@0 block:index? (integer:start integer:end oneof:index_unit? since=7.0.0 (BYTE BIT))",
     .history = "7.0.0 Added the `BYTE|BIT` option."},
    {.name = "bitpos",
     .args = "key:key@0 integer:bit block:index? (integer:start block:end_index? "
             "(integer:end oneof:index_unit? since=7.0.0 (BYTE BIT)))",
     .history = "7.0.0 Added the `BYTE|BIT` option."},
    {.name = "bitop", .args = "string:operation key:destkey@0 key:key@1*"},
    {.name = "bitfield",
     .args = "key:key@0 oneof:operation?* (block:encoding_offset=GET (string:encoding integer:offset) "
             "block:write (oneof:wrap_sat_fail=OVERFLOW? (WRAP SAT FAIL) oneof:write_operation "
             "(block:encoding_offset_value=SET (string:encoding integer:offset integer:value) "
             "block:encoding_offset_increment=INCRBY (string:encoding integer:offset integer:increment))))"},
    {.name = "bitfield_ro", .args = "key:key@0 block:encoding_offset=GET?*+ (string:encoding integer:offset)"},
    /* HyperLogLog (hyperloglog.c) */
    {.name = "pfadd", .args = "key:key@0 string:element?*"},
    {.name = "pfcount", .args = "key:key@0*"},
    {.name = "pfmerge", .args = "key:destkey@0 key:sourcekey@1*"},
    {.name = "pfdebug", .args = "string:subcommand key:key@0", .doc_flags = DOC_SYSCMD},
    {.name = "pfselftest", .doc_flags = DOC_SYSCMD},
    /* geo (geo.c) */
    {.name = "geoadd",
     .args = "key:key@0 oneof:condition? since=6.2.0 (NX XX) pure-token:change=CH? since=6.2.0 "
             "block:longitude_latitude_member* (double:longitude double:latitude string:member)",
     .history = "6.2.0 Added the `CH`, `NX` and `XX` options."},
    {.name = "geodist", .args = "key:key@0 string:member1 string:member2 oneof:unit? (M KM FT MI)"},
    {.name = "geohash", .args = "key:key@0 string:member*"},
    {.name = "geopos", .args = "key:key@0 string:member*"},
    {.name = "geosearch", .args = "key:key@0 " GEO_SEARCH_ARGS " WITHCOORD? WITHDIST? WITHHASH?",
     .history = GEO_UNIT_HISTORY},
    {.name = "geosearchstore", .args = "key:destination@0 key:source@1 " GEO_SEARCH_ARGS " STOREDIST?",
     .history = GEO_UNIT_HISTORY},
    {.name = "georadius",
     .args = "key:key@0 double:longitude double:latitude " GEO_RADIUS_TAIL(" since=6.2.0") " " GEO_STORE_ARGS,
     .history = "6.2.0 Added the `ANY` option for `COUNT`.\n" GEO_UNIT_HISTORY,
     .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0",
     .replaced_by = "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument"},
    {.name = "georadiusbymember", .args = "key:key@0 string:member " GEO_RADIUS_TAIL("") " " GEO_STORE_ARGS,
     .history = GEO_UNIT_HISTORY, .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0",
     .replaced_by = "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments"},
    {.name = "georadius_ro", .args = "key:key@0 double:longitude double:latitude " GEO_RADIUS_TAIL(" since=6.2.0"),
     .history = "6.2.0 Added the `ANY` option for `COUNT`.", .doc_flags = DOC_DEPRECATED,
     .deprecated_since = "6.2.0", .replaced_by = "`GEOSEARCH` with the `BYRADIUS` argument"},
    {.name = "georadiusbymember_ro", .args = "key:key@0 string:member " GEO_RADIUS_TAIL(""),
     .doc_flags = DOC_DEPRECATED, .deprecated_since = "6.2.0",
     .replaced_by = "`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments"},
    /* streams */
    {.name = "xadd",
     .args = "key:key@0 NOMKSTREAM? since=6.2.0 block:trim? (" XTRIM_INNER ") "
             "oneof:id_or_auto (pure-token:auto_id='*' string:id) "
             "block:field_value* (string:field string:value)",
     .history = "6.2.0 Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option.\n"
                "7.0.0 Added support for the `<ms>-*` explicit ID form."},
    {.name = "xrange", .args = "key:key@0 string:start string:end integer:count=COUNT?",
     .history = "6.2.0 Added exclusive ranges."},
    {.name = "xrevrange", .args = "key:key@0 string:end string:start integer:count=COUNT?",
     .history = "6.2.0 Added exclusive ranges."},
    {.name = "xlen", .args = "key:key@0"},
    {.name = "xdel", .args = "key:key@0 string:id*"},
    {.name = "xtrim", .args = "key:key@0 block:trim (" XTRIM_INNER ")",
     .history = "6.2.0 Added the `MINID` trimming strategy and the `LIMIT` option."},
    {.name = "xread",
     .args = "integer:count=COUNT? integer:milliseconds=BLOCK? block:streams=STREAMS (key:key@0* string:id*)"},
    {.name = "xreadgroup",
     .args = "block:group_consumer=GROUP (string:group string:consumer) integer:count=COUNT? "
             "integer:milliseconds=BLOCK? NOACK? block:streams=STREAMS (key:key@0* string:id*)"},
    {.name = "xsetid",
     .args = "key:key@0 string:last-id integer:entries_added=ENTRIESADDED? since=7.0.0 "
             "string:max_deleted_entry_id=MAXDELETEDID? since=7.0.0",
     .history = "7.0.0 Added the `entries_added` and `max_deleted_entry_id` arguments."},
    {.name = "xgroup|create",
     .args = "key:key@0 string:groupname " XGROUP_ID " MKSTREAM? integer:entries_read=ENTRIESREAD?",
     .history = "7.0.0 Added the `entries_read` named argument."},
    {.name = "xgroup|setid", .args = "key:key@0 string:groupname " XGROUP_ID " integer:entries_read=ENTRIESREAD?",
     .history = "7.0.0 Added the optional `entries_read` argument."},
    {.name = "xgroup|createconsumer", .args = "key:key@0 string:groupname string:consumername"},
    {.name = "xgroup|delconsumer", .args = "key:key@0 string:groupname string:consumername"},
    {.name = "xgroup|destroy", .args = "key:key@0 string:groupname"},
    {.name = "xinfo|consumers", .args = "key:key@0 string:groupname"},
    {.name = "xinfo|groups", .args = "key:key@0", .history = "7.0.0 Added the `entries-read` and `lag` fields"},
    {.name = "xinfo|stream", .args = "key:key@0 block:full=FULL? (integer:count=COUNT?)",
     .history = "6.0.0 Added the `FULL` modifier.\n"
                "7.0.0 Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields"},
    {.name = "xack", .args = "key:key@0 string:group string:id*"},
    {.name = "xpending",
     .args = "key:key@0 string:group block:filters? (integer:min-idle-time=IDLE? since=6.2.0 "
             "string:start string:end integer:count string:consumer?)",
     .history = "6.2.0 Added the `IDLE` option and exclusive range intervals."},
    {.name = "xclaim",
     .args = "key:key@0 string:group string:consumer string:min-idle-time string:id* integer:ms=IDLE? "
             "unix-time:unix-time-milliseconds=TIME? integer:count=RETRYCOUNT? FORCE? JUSTID? string:id=LASTID?"},
    {.name = "xautoclaim",
     .args = "key:key@0 string:group string:consumer string:min-idle-time string:start integer:count=COUNT? JUSTID?",
     .history = "7.0.0 Added an element to the reply array, containing deleted entries the command cleared from the PEL"},


    /* scripting */
    {.name = "eval", .args = EVAL_ARGS("script")},
    {.name = "evalsha", .args = EVAL_ARGS("sha1")},
    {.name = "eval_ro", .args = EVAL_ARGS("script")},
    {.name = "evalsha_ro", .args = EVAL_ARGS("sha1")},
    {.name = "script|flush", .args = "oneof:async? since=6.2.0 (ASYNC SYNC)",
     .history = "6.2.0 Added the `ASYNC` and `SYNC` flushing mode modifiers."},
    {.name = "script|exists", .args = "string:sha1*"},
    {.name = "script|load", .args = "string:script"},
    {.name = "script|debug", .args = "oneof:mode (YES SYNC NO)"},
    {.name = "fcall", .args = EVAL_ARGS("function")},
    {.name = "fcall_ro", .args = EVAL_ARGS("function")},
    {.name = "function|load", .args = "REPLACE? string:function-code"},
    {.name = "function|delete", .args = "string:library-name"},
    {.name = "function|flush", .args = "oneof:async? (ASYNC SYNC)"},
    {.name = "function|restore", .args = "string:serialized-value oneof:policy? (FLUSH APPEND REPLACE)"},
    {.name = "function|list", .args = "string:library-name-pattern=LIBRARYNAME? WITHCODE?"},
};
#define DOCS_COUNT (sizeof(docs) / sizeof(docs[0]))

const struct command_doc *command_docs_all(size_t *count)
{
    *count = DOCS_COUNT;
    return docs;
}

static const struct command_doc *command_doc_find(const char *full_name)
{
    for (size_t i = 0; i < DOCS_COUNT; i++)
        if (strcmp(docs[i].name, full_name) == 0) return &docs[i];
    return NULL;
}

/* ---- parsing the argument notation ------------------------------------------------ */

#define DOC_MAX_ITEMS (8 * DOC_MAX_ARGS) /* words and parentheses in one description */

static const char *const arg_types[] = {"string",    "integer",    "double", "key",  "pattern",
                                        "unix-time", "pure-token", "oneof",  "block"};
#define ARG_TYPES_COUNT (sizeof(arg_types) / sizeof(arg_types[0]))

static const char pure_token[] = "pure-token";

static int span_is(struct doc_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static int span_starts(struct doc_span s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

/* Nonempty and only of the characters in set. */
static int span_made_of(struct doc_span s, const char *set)
{
    if (s.len == 0) return 0;
    for (size_t i = 0; i < s.len; i++)
        if (strchr(set, s.p[i]) == NULL) return 0;
    return 1;
}

static int known_type(struct doc_span type)
{
    for (size_t i = 0; i < ARG_TYPES_COUNT; i++)
        if (span_is(type, arg_types[i])) return 1;
    return 0;
}

static int is_group(const struct doc_arg *a)
{
    return span_is(a->type, "oneof") || span_is(a->type, "block");
}

enum item { ITEM_END, ITEM_OPEN, ITEM_CLOSE, ITEM_WORD };

/* The next item at *p: the end, a parenthesis or a word. */
static enum item next_item(const char **p, struct doc_span *w)
{
    const char *s = *p;
    while (*s == ' ') s++;
    w->p = s;
    w->len = 0;
    if (*s == '\0') {
        *p = s;
        return ITEM_END;
    }
    if (*s == '(' || *s == ')') {
        w->len = 1;
        *p = s + 1;
        return *s == '(' ? ITEM_OPEN : ITEM_CLOSE;
    }
    while (*s && *s != ' ' && *s != '(' && *s != ')') s++;
    w->len = (size_t)(s - w->p);
    *p = s;
    return ITEM_WORD;
}

struct parser {
    struct doc_tree *t;
    int depth;
    int owner[DOC_MAX_DEPTH + 1]; /* the group being filled at each depth; -1 at the top */
    int last[DOC_MAX_DEPTH + 1];  /* the latest argument at each depth; -1 if none yet */
    char *err;
    size_t errlen;
};

static int fail(struct parser *ps, const char *why, struct doc_span at)
{
    snprintf(ps->err, ps->errlen, "%s at '%.*s'", why, (int)at.len, at.p ? at.p : "");
    return -1;
}

/* The part of w from *i up to one of stops (or the end); *i moves past it. */
static struct doc_span scan_until(struct doc_span w, size_t *i, const char *stops)
{
    struct doc_span part = {w.p + *i, 0};
    while (*i < w.len && strchr(stops, w.p[*i]) == NULL) (*i)++;
    part.len = (size_t)(w.p + *i - part.p);
    return part;
}

/* The key index "@N" at w[*i], just past the '@'. */
static int parse_key_index(struct parser *ps, struct doc_span w, size_t *i, struct doc_arg *a)
{
    if (a->key_spec_index >= 0 || *i >= w.len || !isdigit((unsigned char)w.p[*i]))
        return fail(ps, "bad or repeated @N", w);
    int n = 0;
    while (*i < w.len && isdigit((unsigned char)w.p[*i]) && n < 1000) n = n * 10 + (w.p[(*i)++] - '0');
    a->key_spec_index = n;
    return 0;
}

/* The marks after an argument's name or token, from w[i] on. */
static int parse_marks(struct parser *ps, struct doc_span w, size_t i, struct doc_arg *a)
{
    static const char marks[] = "?*+";
    static const unsigned bits[] = {DOC_ARG_OPTIONAL, DOC_ARG_MULTIPLE, DOC_ARG_MULTIPLE_TOKEN};
    while (i < w.len) {
        char ch = w.p[i++];
        if (ch == '@') {
            if (parse_key_index(ps, w, &i, a) == -1) return -1;
            continue;
        }
        const char *m = strchr(marks, ch);
        if (m == NULL) return fail(ps, "unknown mark", w);
        unsigned bit = bits[m - marks];
        if (a->flags & bit) return fail(ps, "repeated mark", w);
        a->flags |= bit;
    }
    return 0;
}

/* An argument word: "type:name[=TOKEN][marks]" or "TOKEN[marks]". */
static int parse_head(struct parser *ps, struct doc_span w, struct doc_arg *a)
{
    memset(a, 0, sizeof(*a));
    a->key_spec_index = -1;
    a->child = a->next = -1;
    size_t i = 0;
    const char *colon = memchr(w.p, ':', w.len);
    if (colon) {
        a->type = (struct doc_span){w.p, (size_t)(colon - w.p)};
        i = a->type.len + 1;
        a->name = scan_until(w, &i, "=?*+@");
        if (i < w.len && w.p[i] == '=') {
            i++;
            if (i < w.len && w.p[i] == '\'') { /* a quoted token: XADD's '*', '=' and '~' */
                i++;
                a->token = scan_until(w, &i, "'");
                if (i >= w.len) return fail(ps, "unterminated token", w);
                i++;
            } else {
                a->token = scan_until(w, &i, "?*+@");
            }
            if (a->token.len == 0) return fail(ps, "empty token", w);
        }
    } else if (isupper((unsigned char)w.p[0])) {
        a->type = (struct doc_span){pure_token, sizeof(pure_token) - 1};
        a->token = scan_until(w, &i, "?*+@");
        a->name = a->token;
        a->lower_name = 1;
        if (a->token.len >= DOC_NAME_MAX) return fail(ps, "token too long", w);
    } else {
        return fail(ps, "not an argument", w);
    }
    if (!a->lower_name && !span_made_of(a->name, "abcdefghijklmnopqrstuvwxyz0123456789-_:/"))
        return fail(ps, "bad argument name", w);
    if (a->token.p && !span_made_of(a->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "abcdefghijklmnopqrstuvwxyz0123456789-*=~$"))
        return fail(ps, "bad token", w);
    if (!known_type(a->type)) return fail(ps, "unknown type", w);
    return parse_marks(ps, w, i, a);
}

static int is_attribute(struct doc_span w)
{
    return span_starts(w, "since=") || span_starts(w, "deprecated=");
}

/* since=VERSION or deprecated=VERSION: of the latest argument at this depth. */
static int parse_attribute(struct parser *ps, struct doc_span w)
{
    int last = ps->last[ps->depth];
    if (last < 0) return fail(ps, "attribute before any argument", w);
    struct doc_arg *a = &ps->t->arg[last];
    int since = span_starts(w, "since=");
    struct doc_span *field = since ? &a->since : &a->deprecated_since;
    size_t skip = since ? strlen("since=") : strlen("deprecated=");
    if (field->p != NULL || w.len == skip) return fail(ps, "empty or repeated attribute", w);
    *field = (struct doc_span){w.p + skip, w.len - skip};
    return 0;
}

/* Appends the argument of word w to the group at the current depth. */
static int add_arg(struct parser *ps, struct doc_span w)
{
    struct doc_tree *t = ps->t;
    if (t->count >= DOC_MAX_ARGS) return fail(ps, "too many arguments", w);
    int i = t->count;
    if (parse_head(ps, w, &t->arg[i]) == -1) return -1;
    t->count++;
    int prev = ps->last[ps->depth];
    if (prev >= 0) t->arg[prev].next = i;
    else if (ps->depth > 0) t->arg[ps->owner[ps->depth]].child = i;
    ps->last[ps->depth] = i;
    return 0;
}

static int open_group(struct parser *ps, struct doc_span w)
{
    int owner = ps->last[ps->depth];
    if (owner < 0 || !is_group(&ps->t->arg[owner]) || ps->t->arg[owner].child >= 0)
        return fail(ps, "'(' must follow a oneof or block argument", w);
    if (ps->depth >= DOC_MAX_DEPTH) return fail(ps, "groups nested too deep", w);
    ps->depth++;
    ps->owner[ps->depth] = owner;
    ps->last[ps->depth] = -1;
    return 0;
}

static int close_group(struct parser *ps, struct doc_span w)
{
    if (ps->depth == 0) return fail(ps, "unbalanced ')'", w);
    if (ps->last[ps->depth] < 0) return fail(ps, "empty group", w);
    ps->depth--;
    return 0;
}

/* What the grammar alone does not ensure. */
static int check_tree(struct parser *ps)
{
    for (int i = 0; i < ps->t->count; i++) {
        const struct doc_arg *a = &ps->t->arg[i];
        if (is_group(a) && a->child < 0) return fail(ps, "oneof or block without '('", a->name);
        if (span_is(a->type, pure_token) && a->token.p == NULL)
            return fail(ps, "pure-token without a token", a->name);
        int has_index = a->key_spec_index >= 0;
        if (span_is(a->type, "key") ? !has_index : has_index && !span_is(a->type, "pattern"))
            return fail(ps, "a key has @N, and only a key or a pattern", a->name);
    }
    return 0;
}

static int parse_item(struct parser *ps, enum item it, struct doc_span w)
{
    if (it == ITEM_OPEN) return open_group(ps, w);
    if (it == ITEM_CLOSE) return close_group(ps, w);
    return is_attribute(w) ? parse_attribute(ps, w) : add_arg(ps, w);
}

int doc_parse_args(const char *s, struct doc_tree *t, char *err, size_t errlen)
{
    struct parser ps = {.t = t, .depth = 0, .err = err, .errlen = errlen};
    ps.owner[0] = ps.last[0] = -1;
    t->count = 0;
    struct doc_span w = {s, 0};
    const char *p = s;
    for (int n = 0;; n++) {
        if (n == DOC_MAX_ITEMS) return fail(&ps, "description too long", w);
        enum item it = next_item(&p, &w);
        if (it == ITEM_END) break;
        if (parse_item(&ps, it, w) == -1) return -1;
    }
    if (ps.depth != 0) return fail(&ps, "unclosed '('", w);
    if (t->count == 0) return fail(&ps, "no arguments", w);
    return check_tree(&ps);
}

/* ---- checking entries -------------------------------------------------------------- */

static int is_version(const char *s, size_t len)
{
    if (len == 0 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[len - 1])) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '.') return 0;
    return 1;
}

/* The next line "VERSION text" of a history at *p; 0 at the end. */
static int next_history_line(const char **p, struct doc_span *version, struct doc_span *text)
{
    const char *s = *p;
    if (*s == '\0') return 0;
    const char *end = strchr(s, '\n');
    if (end == NULL) end = s + strlen(s);
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    if (sp == NULL) sp = end;
    *version = (struct doc_span){s, (size_t)(sp - s)};
    *text = (struct doc_span){sp < end ? sp + 1 : end, sp < end ? (size_t)(end - sp - 1) : 0};
    *p = *end ? end + 1 : end;
    return 1;
}

static int check_history(const char *h, char *err, size_t errlen)
{
    struct doc_span version, text;
    long n = 0;
    for (const char *p = h; next_history_line(&p, &version, &text); n++) {
        if (!is_version(version.p, version.len) || text.len == 0) {
            snprintf(err, errlen, "bad history line '%.*s'", (int)(text.p + text.len - version.p), version.p);
            return -1;
        }
    }
    if (n > 0 && h[strlen(h) - 1] != '\n') return 0;
    snprintf(err, errlen, "empty history or empty last line");
    return -1;
}

int command_doc_check(const struct command_doc *d, char *err, size_t errlen)
{
    struct doc_tree t;
    if (d->args && doc_parse_args(d->args, &t, err, errlen) == -1) return -1;
    if (d->history && check_history(d->history, err, errlen) == -1) return -1;
    int deprecated = (d->doc_flags & DOC_DEPRECATED) != 0;
    if (deprecated != (d->deprecated_since != NULL) || (d->replaced_by && !deprecated)) {
        snprintf(err, errlen, "deprecated_since and replaced_by go with DOC_DEPRECATED");
        return -1;
    }
    if (d->deprecated_since && !is_version(d->deprecated_since, strlen(d->deprecated_since))) {
        snprintf(err, errlen, "bad deprecated_since '%s'", d->deprecated_since);
        return -1;
    }
    return 0;
}

/* ---- the reply ---------------------------------------------------------------------- */

static const char *const arg_flag_names[] = {"optional", "multiple", "multiple_token"};
static const char *const doc_flag_names[] = {"deprecated", "syscmd"};

/* The names of the bits set in flags (bit i is names[i]) as a set. */
static void reply_flag_set(client *c, unsigned flags, const char *const *names, size_t n)
{
    long count = 0;
    for (size_t i = 0; i < n; i++)
        if (flags & (1u << i)) count++;
    reply_set(c, count);
    for (size_t i = 0; i < n; i++)
        if (flags & (1u << i)) reply_status(c, names[i]);
}

static void reply_span_field(client *c, const char *key, struct doc_span v)
{
    if (v.p == NULL) return;
    reply_bulk_cstr(c, key);
    reply_bulk(c, v.p, v.len);
}

static void reply_arg_name(client *c, const struct doc_arg *a)
{
    if (!a->lower_name) {
        reply_bulk(c, a->name.p, a->name.len);
        return;
    }
    char buf[DOC_NAME_MAX];
    size_t n = a->name.len < sizeof(buf) ? a->name.len : sizeof(buf);
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)a->name.p[i]);
    reply_bulk(c, buf, n);
}

static void reply_arg_list(client *c, const struct doc_tree *t, int first, int depth);

static void reply_arg(client *c, const struct doc_tree *t, const struct doc_arg *a, int depth)
{
    int group = a->child >= 0 && depth < DOC_MAX_DEPTH;
    reply_map(c, 2 + (a->key_spec_index >= 0) + (a->token.p != NULL) + (a->since.p != NULL) +
                     (a->deprecated_since.p != NULL) + (a->flags != 0) + group);
    reply_bulk_cstr(c, "name");
    reply_arg_name(c, a);
    reply_span_field(c, "type", a->type);
    if (a->key_spec_index >= 0) {
        reply_bulk_cstr(c, "key_spec_index");
        reply_int(c, a->key_spec_index);
    }
    reply_span_field(c, "token", a->token);
    reply_span_field(c, "since", a->since);
    reply_span_field(c, "deprecated_since", a->deprecated_since);
    if (a->flags) {
        reply_bulk_cstr(c, "flags");
        reply_flag_set(c, a->flags, arg_flag_names, 3);
    }
    if (group) {
        reply_bulk_cstr(c, "arguments");
        reply_arg_list(c, t, a->child, depth + 1);
    }
}

/* The arguments from first on along their siblings; depth bounds the
 * recursion through nested groups. */
static void reply_arg_list(client *c, const struct doc_tree *t, int first, int depth)
{
    long n = 0;
    for (int i = first; i >= 0 && n < DOC_MAX_ARGS; i = t->arg[i].next) n++;
    reply_array(c, n);
    long k = 0;
    for (int i = first; i >= 0 && k < n; i = t->arg[i].next, k++) reply_arg(c, t, &t->arg[i], depth);
}

/* History as a set of [version, text] pairs. */
static void reply_history(client *c, const char *h)
{
    struct doc_span version, text;
    long n = 0;
    for (const char *p = h; next_history_line(&p, &version, &text);) n++;
    reply_set(c, n);
    for (const char *p = h; next_history_line(&p, &version, &text);) {
        reply_array(c, 2);
        reply_bulk(c, version.p, version.len);
        reply_bulk(c, text.p, text.len);
    }
}

int doc_reply_load(const char *full_name, struct doc_reply *r)
{
    r->doc = command_doc_find(full_name);
    r->has_args = 0;
    if (r->doc == NULL) return 0;
    const struct command_doc *d = r->doc;
    if (d->args) {
        char err[128];
        r->has_args = doc_parse_args(d->args, &r->tree, err, sizeof(err)) == 0;
        if (!r->has_args) log_msg(LOG_WARNING, "COMMAND DOCS %s: bad arguments: %s", full_name, err);
    }
    return (d->doc_flags != 0) + (d->deprecated_since != NULL) + (d->replaced_by != NULL) +
           (d->history != NULL) + r->has_args;
}

void reply_doc_fields(client *c, const struct doc_reply *r)
{
    const struct command_doc *d = r->doc;
    if (d == NULL) return;
    if (d->doc_flags) {
        reply_bulk_cstr(c, "doc_flags");
        reply_flag_set(c, d->doc_flags, doc_flag_names, 2);
    }
    if (d->deprecated_since) {
        reply_bulk_cstr(c, "deprecated_since");
        reply_bulk_cstr(c, d->deprecated_since);
    }
    if (d->replaced_by) {
        reply_bulk_cstr(c, "replaced_by");
        reply_bulk_cstr(c, d->replaced_by);
    }
    if (d->history) {
        reply_bulk_cstr(c, "history");
        reply_history(c, d->history);
    }
    if (r->has_args) {
        reply_bulk_cstr(c, "arguments");
        reply_arg_list(c, &r->tree, 0, 0);
    }
}
