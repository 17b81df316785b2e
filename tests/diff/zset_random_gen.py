# zset_random_gen.py: writes tests/diff/cases/zset_random.txt, a seeded random mix of
# sorted-set writes and reads (no lex ranges over mixed scores, which Redis
# leaves unspecified) with small listpack thresholds and DEBUG RELOADs.
# Usage: python3 tests/diff/zset_random_gen.py SEED COUNT > tests/diff/cases/zset_random.txt
import random, sys
random.seed(int(sys.argv[1]) if len(sys.argv)>1 else 7)
N=int(sys.argv[2]) if len(sys.argv)>2 else 1500
keys=["r:a","r:b","r:c"]
mem=["m%d"%i for i in range(40)]+["x"*70, "", "zz"]
def sc():
    r=random.random()
    if r<0.4: return str(random.randint(-5,5))
    if r<0.7: return "%.3f"%(random.uniform(-10,10))
    if r<0.8: return random.choice(["inf","-inf","+inf","0","-0","1e20","-1.5e-7"])
    return str(random.randint(-100000,100000))
def bound():
    r=random.random()
    if r<0.2: return random.choice(["-inf","+inf"])
    s=sc()
    if s in("inf","-inf","+inf"): return s
    return ("(" if random.random()<0.3 else "")+s
def lex():
    r=random.random()
    if r<0.15: return random.choice(["-","+"])
    return random.choice("[(")+random.choice(mem)
def q(s): return '"'+s+'"' if s=="" else s
out=["CONFIG SET zset-max-listpack-entries %d"%random.choice([4,8,16]),"CONFIG SET zset-max-listpack-value 16"]
for i in range(N):
    k=random.choice(keys); r=random.random()
    m=lambda: q(random.choice(mem))
    if r<0.25:
        opts=random.choice(["","","NX","XX","CH","GT","LT","GT CH","XX CH"])
        pairs=" ".join("%s %s"%(sc(),m()) for _ in range(random.randint(1,5)))
        out.append("ZADD %s %s %s"%(k,opts,pairs))
    elif r<0.3: out.append("ZINCRBY %s %s %s"%(k,sc(),m()))
    elif r<0.36: out.append("ZREM %s %s %s"%(k,m(),m()))
    elif r<0.42: out.append("ZRANGE %s %d %d WITHSCORES"%(k,random.randint(-8,8),random.randint(-8,8)))
    elif r<0.48: out.append("ZRANGE %s %s %s BYSCORE %s WITHSCORES %s"%(k,bound(),bound(),random.choice(["","REV"]),random.choice(["","LIMIT %d %d"%(random.randint(0,3),random.randint(-1,4))])))
    elif r<0.50: out.append("ZRANGE r:lex %s %s BYLEX %s"%(lex(),lex(),random.choice(["","REV"])))
    elif r<0.52: out.append("ZADD r:lex 0 %s"%m())
    elif r<0.55: out.append("ZCOUNT %s %s %s"%(k,bound(),bound()))
    elif r<0.57: out.append("ZLEXCOUNT r:lex %s %s"%(lex(),lex()))
    elif r<0.60: out.append("ZRANK %s %s"%(k,m()))
    elif r<0.62: out.append("ZREVRANK %s %s"%(k,m()))
    elif r<0.65: out.append("ZSCORE %s %s"%(k,m()))
    elif r<0.67: out.append("ZREMRANGEBYRANK %s %d %d"%(k,random.randint(-5,5),random.randint(-5,5)))
    elif r<0.69: out.append("ZREMRANGEBYSCORE %s %s %s"%(k,bound(),bound()))
    elif r<0.70: out.append("ZREMRANGEBYLEX r:lex %s %s"%(lex(),lex()))
    elif r<0.74: out.append("%s %s %d"%(random.choice(["ZPOPMIN","ZPOPMAX"]),k,random.randint(1,3)))
    elif r<0.76: out.append("ZMPOP 2 %s %s %s COUNT 2"%(k,random.choice(keys),random.choice(["MIN","MAX"])))
    elif r<0.80:
        op=random.choice(["ZUNIONSTORE","ZINTERSTORE","ZDIFFSTORE"])
        extra="" if op=="ZDIFFSTORE" else random.choice(["","WEIGHTS 2 -1","AGGREGATE MIN","AGGREGATE MAX","WEIGHTS 0.5 3 AGGREGATE SUM"])
        out.append("%s %s 2 %s %s %s"%(op,random.choice(keys),random.choice(keys),random.choice(keys),extra))
    elif r<0.84:
        op=random.choice(["ZUNION","ZINTER","ZDIFF"])
        out.append("%s 2 %s %s WITHSCORES"%(op,random.choice(keys),random.choice(keys)))
    elif r<0.86: out.append("ZINTERCARD 2 %s %s"%(random.choice(keys),random.choice(keys)))
    elif r<0.88: out.append("ZRANGESTORE %s %s %d %d"%(random.choice(keys),k,random.randint(-4,4),random.randint(-4,4)))
    elif r<0.90: out.append("DEBUG RELOAD")
    elif r<0.93: out.append("ZCARD %s"%k)
    elif r<0.95: out.append("OBJECT ENCODING %s"%k)
    elif r<0.97: out.append("!scan ZSCAN %s 0"%k)
    else: out.append("ZRANGE %s 0 -1 WITHSCORES"%k)
for k in keys: out.append("ZRANGE %s 0 -1 WITHSCORES"%k)
print("\n".join(out))
