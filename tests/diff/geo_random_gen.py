# geo_random_gen.py: writes tests/diff/cases/geo_random.txt, seeded random geo
# sets (the whole globe, a small area round (0,0), the polar antimeridian, a
# dense square kilometre) and random GEOSEARCH radius and box queries with
# every order, COUNT [ANY] and WITH* option, so that unsorted result orders
# (the cells Redis visits) and edge cells are compared too.
# Usage: python3 tests/diff/geo_random_gen.py SEED COUNT > tests/diff/cases/geo_random.txt
import random, sys
r = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 99)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def area(k):
    if k == 0: return r.uniform(-180, 180), r.uniform(-85, 85), r.choice([10, 100, 1000, 5000, 20000])
    if k == 1: return r.uniform(-1.2, 1.2), r.uniform(-1.2, 1.2), r.choice([1, 10, 50, 100, 300])
    if k == 2: return r.uniform(170, 180) * r.choice((1, -1)), r.uniform(75, 85.05), r.choice([10, 100, 500, 2000])
    return r.uniform(10, 10.01), r.uniform(50, 50.01), r.choice([0.1, 0.3, 0.5, 1, 2])


print("# seeded random geo sets and searches (geo_random_gen.py)")
for k in range(4):
    pts = []
    for i in range(200):
        lon, lat, _ = area(k)
        pts.append("%.7f %.7f m%d" % (lon, lat, i))
    print("GEOADD g%d " % k + " ".join(pts))
for t in range(N):
    k = r.randrange(4)
    lon, lat, rad = area(k)
    opts = r.choice(["", "ASC", "DESC", "COUNT 3", "COUNT 5 ANY", "COUNT 4 DESC"])
    w = r.choice(["", "WITHDIST", "WITHCOORD WITHDIST WITHHASH"])
    if r.random() < 0.5:
        print("GEOSEARCH g%d FROMLONLAT %.6f %.6f BYRADIUS %s km %s %s" % (k, lon, lat, rad, opts, w))
    else:
        print("GEOSEARCH g%d FROMLONLAT %.6f %.6f BYBOX %s %s km %s %s" % (k, lon, lat, rad * r.uniform(0.5, 2), rad, opts, w))
    if t % 10 == 0:
        print("GEOSEARCH g%d FROMMEMBER m%d BYRADIUS %s km %s %s" % (k, r.randrange(200), rad, opts, w))
        print("GEODIST g%d m%d m%d %s" % (k, r.randrange(200), r.randrange(200), r.choice(["km", "mi", "ft", "m"])))
        print("GEOPOS g%d m%d m%d" % (k, r.randrange(200), r.randrange(200)))
        print("GEOHASH g%d m%d m%d" % (k, r.randrange(200), r.randrange(200)))
