# Expected output of each program in programs/ at the small size that tests/Hlvm.Tests/BenchProgramTests.cs runs
# it at, computed independently of Hlvm: the peer programs are the functions of ../../shared/peers/bench.py (in
# the repository's neighbour, /work/shared/peers) with the problem size made a parameter, and the larger programs
# are re-implemented here in plain Python.
#
#     python3 bench/expected_small.py            prints "NAME ARG -> LINE" for every program at its small size
#     python3 bench/expected_small.py NAME ARG   prints the line NAME prints for ARG (full sizes work too, slowly)
import sys, math

# ------------------------------------------------------------------------------------------------ peer programs

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def b_fib(n): return fib(n)

def b_loop(iterations):
    s = 0
    for i in range(iterations):
        s = (s * 31 + i) % 1000000007
    return s

def b_sieve(n):
    count = 0
    for _ in range(3):
        composite = [False] * (n + 1)
        count = 0
        for i in range(2, n + 1):
            if not composite[i]:
                count += 1
                for j in range(i * i, n + 1, i):
                    composite[j] = True
    return count

def make(d):
    return None if d == 0 else (make(d - 1), make(d - 1))

def check(t):
    return 1 if t is None else 1 + check(t[0]) + check(t[1])

def b_binarytrees(maxd):
    total = check(make(maxd + 1))
    long = make(maxd)
    for d in range(4, maxd + 1, 2):
        for _ in range(1 << (maxd - d + 4)):
            total += check(make(d))
    return total + check(long)

def b_nbody(steps):
    PI = math.pi; SOLAR = 4 * PI * PI; DPY = 365.24
    bodies = [
        [0,0,0,0,0,0,SOLAR],
        [4.84143144246472090e+00,-1.16032004402742839e+00,-1.03622044471123109e-01,1.66007664274403694e-03*DPY,7.69901118419740425e-03*DPY,-6.90460016972063023e-05*DPY,9.54791938424326609e-04*SOLAR],
        [8.34336671824457987e+00,4.12479856412430479e+00,-4.03523417114321381e-01,-2.76742510726862411e-03*DPY,4.99852801234917238e-03*DPY,2.30417297573763929e-05*DPY,2.85885980666130812e-04*SOLAR],
        [1.28943695621391310e+01,-1.51111514016986312e+01,-2.23307578892655734e-01,2.96460137564761618e-03*DPY,2.37847173959480950e-03*DPY,-2.96589568540237556e-05*DPY,4.36624404335156298e-05*SOLAR],
        [1.53796971148509165e+01,-2.59193146099879641e+01,1.79258772950371181e-01,2.68067772490389322e-03*DPY,1.62824170038242295e-03*DPY,-9.51592254519715870e-05*DPY,5.15138902046611451e-05*SOLAR],
    ]
    n = len(bodies)
    px = py = pz = 0.0
    for b in bodies:
        px += b[3]*b[6]; py += b[4]*b[6]; pz += b[5]*b[6]
    bodies[0][3] = -px/SOLAR; bodies[0][4] = -py/SOLAR; bodies[0][5] = -pz/SOLAR
    def energy():
        e = 0.0
        for i in range(n):
            b = bodies[i]
            e += 0.5*b[6]*(b[3]*b[3]+b[4]*b[4]+b[5]*b[5])
            for j in range(i+1, n):
                c = bodies[j]
                dx, dy, dz = b[0]-c[0], b[1]-c[1], b[2]-c[2]
                e -= b[6]*c[6]/math.sqrt(dx*dx+dy*dy+dz*dz)
        return e
    e0 = energy()
    for _ in range(steps):
        for i in range(n):
            b = bodies[i]
            for j in range(i+1, n):
                c = bodies[j]
                dx, dy, dz = b[0]-c[0], b[1]-c[1], b[2]-c[2]
                d2 = dx*dx+dy*dy+dz*dz
                mag = 0.01 / (d2 * math.sqrt(d2))
                bm, cm = b[6]*mag, c[6]*mag
                b[3] -= dx*cm; b[4] -= dy*cm; b[5] -= dz*cm
                c[3] += dx*bm; c[4] += dy*bm; c[5] += dz*bm
        for b in bodies:
            b[0] += 0.01*b[3]; b[1] += 0.01*b[4]; b[2] += 0.01*b[5]
    return "%.9f %.9f" % (e0, energy())

def b_mandelbrot(size):
    inside = 0
    for y in range(size):
        ci = 2.0*y/size - 1.0
        for x in range(size):
            cr = 2.0*x/size - 1.5
            zr = zi = 0.0; i = 0
            while i < 50 and zr*zr + zi*zi <= 4.0:
                zr, zi = zr*zr - zi*zi + cr, 2.0*zr*zi + ci
                i += 1
            if i == 50: inside += 1
    return inside

# The peer has 1,000,003 keys for its 20,000,000 updates; programs/mapcount.hl scales the keys with the
# updates as updates // 20 + 3, which is that at full size.
def b_mapcount(updates):
    keys = updates // 20 + 3
    m = {}; distinct = 0
    for i in range(updates):
        k = (i * 7919) % keys
        v = m.get(k)
        if v is None:
            m[k] = 1; distinct += 1
        else:
            m[k] = v + 1
    return "%d %d" % (distinct, m[0])

# ------------------------------------------------------------------------------------------------ json

class Rng:
    """The LCG of the larger programs: 31 bits of state, (state >> 16) % bound."""
    def __init__(self, seed): self.state = seed
    def next(self, bound):
        self.state = (self.state * 1103515245 + 12345) % 2147483648
        return (self.state >> 16) % bound

def json_document(records):
    """The text programs/json.hl generates: the same calls of the generator in the same order."""
    import json
    rng = Rng(20261125)
    names = ["ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal"]
    tags = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    # As the words appear in JSON text (escaped), like the program's list.
    words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'say \\"hi\\"', 'back\\\\slash', 'new\\nline', 'tab\\tbed',
             '{braces}', 'a:b,c', '[x]', 'unicode-free', 'tail']
    out = []
    next_id = [0]
    def pick(lst): return lst[rng.next(len(lst))]
    def record(depth):
        i = next_id[0]; next_id[0] += 1
        name = pick(names)
        score = (rng.next(40000) - 20000) / 4.0
        active = rng.next(3) != 0
        out.append('{"id":%d,"name":"%s-%d","score":%r,"active":%s,"tags":['
                   % (i, name, i, score, "true" if active else "false"))
        out.append(",".join('"%s"' % pick(tags) for _ in range(rng.next(4))))
        out.append('],"note":')
        if rng.next(4) == 0:
            out.append("null")
        else:
            n = 1 + rng.next(4)
            out.append('"%s"' % " ".join(pick(words) for _ in range(n)))
        views = rng.next(100000); likes = rng.next(1000)
        out.append(',"stats":{"views":%d,"likes":%d},"children":[' % (views, likes))
        children = rng.next(3) if depth < 3 else 0
        for c in range(children):
            if c > 0: out.append(",")
            record(depth + 1)
        out.append("]}")
    out.append('{"title":"generated","count":%d,"records":[' % records)
    for r in range(records):
        if r > 0: out.append(",")
        record(0)
    out.append("]}")
    return "".join(out)

def b_json(records):
    import json
    text = json_document(records)
    doc = json.loads(text)
    assert json.dumps(doc, separators=(",", ":")) == text
    indented = json.dumps(doc, indent=2)
    st = {"values": 0, "ints": 0, "chars": 0, "depth": 0}
    found = []
    def walk(v, depth):
        st["values"] += 1; st["depth"] = max(st["depth"], depth)
        if isinstance(v, bool) or v is None or isinstance(v, float): pass
        elif isinstance(v, int): st["ints"] += v
        elif isinstance(v, str): st["chars"] += len(v)
        elif isinstance(v, list):
            for e in v: walk(e, depth + 1)
        else:
            if "id" in v: found.append(v)
            for e in v.values(): walk(e, depth + 1)
    walk(doc, 0)
    tag_counts = {}
    for r in found:
        for t in r["tags"]: tag_counts[t] = tag_counts.get(t, 0) + 1
    top = sorted(tag_counts, key=lambda t: (-tag_counts[t], t))[0]
    views = sum(r["stats"]["views"] for r in found if r["active"])
    best = " ".join(str(r["id"]) for r in sorted(found, key=lambda r: (-r["score"], r["id"]))[:3])
    return ('round trip ok: %d values, %d records, int sum %d, %d string chars, depth %d, indented %d chars, '
            'top tag "%s" %d, active views %d, best %s') % (st["values"], len(found), st["ints"], st["chars"],
            st["depth"], len(indented), top, tag_counts[top], views, best)

# ------------------------------------------------------------------------------------------------ scheduler

def b_scheduler(total):
    """programs/scheduler.hl's simulation, with heapq for its event queue and a deque for the waiting jobs."""
    import heapq
    from collections import deque
    rng = Rng(42)
    st = {"now": 0, "seq": 0, "id": 0, "retries": 0, "max_queue": 0, "starts": 0}
    heap, ready = [], deque()
    busy = [False] * 14; busy_time = [0] * 14
    done, latency, hosts, histogram = {}, {}, {}, {}

    def after(delay, action):
        heapq.heappush(heap, (st["now"] + delay, st["seq"], action)); st["seq"] += 1
    def new_id():
        st["id"] += 1; return st["id"]

    # A job is a dict: kind, the number that sets its duration (units, len(url), size, count), url, and the
    # submission time and attempts.
    def duration(job):
        k = job["kind"]
        if k == "compute": return job["units"] * 3
        if k == "fetch": return 5 + len(job["url"])
        if k == "parse": return job["size"] // 4 + 1
        return 2
    def finish(job):
        """False when the job failed and must run again."""
        k = job["kind"]
        if k == "fetch":
            if rng.next(8) == 0 and job["attempts"] < 3: return False
            submit({"kind": "parse", "id": new_id(), "size": len(job["url"]) * 3 + rng.next(50)})
        elif k == "parse":
            if job["size"] % 3 == 0: submit({"kind": "compute", "id": new_id(), "units": job["size"] % 17 + 1})
        elif k == "batch":
            for _ in range(job["count"]): submit({"kind": "compute", "id": new_id(), "units": 1 + rng.next(10)})
        return True

    def submit(job):
        job["submitted"] = st["now"]; job.setdefault("attempts", 0)
        ready.append(job)
        st["max_queue"] = max(st["max_queue"], len(ready))
        dispatch()
    def dispatch():
        for w in range(14):
            if not ready: break
            if not busy[w]: start(w, ready.popleft())
    def start(w, job):
        busy[w] = True; job["attempts"] += 1; st["starts"] += 1
        if job["kind"] == "fetch":
            h = job["url"].split("/")[2]; hosts[h] = hosts.get(h, 0) + 1
        d = duration(job)
        after(d, lambda: complete(w, job, d))
    def complete(w, job, d):
        busy[w] = False; busy_time[w] += d
        if finish(job):
            k = job["kind"]
            done[k] = done.get(k, 0) + 1
            latency[k] = latency.get(k, 0) + st["now"] - job["submitted"]
        else:
            st["retries"] += 1
            submit(job)
        dispatch()

    paths = ["alpha", "beta", "index", "news", "img", "api"]
    made = [0]
    def arrive():
        i = new_id(); r = rng.next(10)
        if r < 5: job = {"kind": "compute", "id": i, "units": 1 + rng.next(20)}
        elif r < 8:
            host = rng.next(16); path = paths[rng.next(len(paths))]
            job = {"kind": "fetch", "id": i, "url": "http://h%d.example/%s/%d" % (host, path, i)}
        else: job = {"kind": "batch", "id": i, "count": 2 + rng.next(4)}
        submit(job)
        made[0] += 1
        if made[0] < total: after(1 + rng.next(6), arrive)
    def monitor():
        b = len(ready) // 10
        histogram[b] = histogram.get(b, 0) + 1
        if heap: after(100, monitor)

    after(0, arrive); after(0, monitor)
    events = 0
    while heap:
        t, _, action = heapq.heappop(heap)
        st["now"] = t
        action(); events += 1
    assert st["starts"] == sum(done.values()) + st["retries"]
    busiest = max(range(14), key=lambda w: (busy_time[w], -w))
    top = max(hosts, key=lambda h: hosts[h])  # the first of the most fetched, in the order first fetched
    kinds = " ".join("%d %s" % (done.get(k, 0), k) for k in ["compute", "fetch", "parse", "batch"])
    return ("events %d, end %d, done %s, retries %d, latency %d, max queue %d, busiest worker %d %d, top host %s %d, "
            "histogram %d buckets, first %d") % (events, st["now"], kinds, st["retries"], sum(latency.values()),
            st["max_queue"], busiest, busy_time[busiest], top, hosts[top], len(histogram), histogram.get(0, 0))

# ------------------------------------------------------------------------------------------------ interp

def b_interp(n):
    """What the script of programs/interp.hl computes, written directly in Python."""
    def collatz(k):
        steps = 0
        while k != 1:
            k = k // 2 if k % 2 == 0 else 3 * k + 1
            steps += 1
        return steps
    def fizzbuzz(i):
        return "FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else str(i)
    primes = sum(1 for k in range(2, n + 1) if all(k % d for d in range(2, math.isqrt(k) + 1)))
    longest, at = 0, 0
    for i in range(1, n + 1):
        s = collatz(i)
        if s > longest: longest, at = s, i
    chars = sum(len(fizzbuzz(i)) for i in range(1, n + 1))
    counter = sum(i for i in range(1, n + 1) if i % 7 == 3)
    return "primes %d, longest collatz %d at %d, fizzbuzz chars %d, counter %d" % (primes, longest, at, chars, counter)

# ------------------------------------------------------------------------------------------------ main

# The small sizes of the test, which holds the same table (BenchProgramTests.Expected).
SMALL = [("fib", 20), ("loop", 100000), ("sieve", 10000), ("binarytrees", 6), ("nbody", 1000), ("mandelbrot", 100),
         ("mapcount", 20000), ("json", 6), ("scheduler", 500), ("interp", 150)]

if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    if len(sys.argv) == 3:
        print(globals()["b_" + sys.argv[1]](int(sys.argv[2])))
    else:
        for name, size in SMALL:
            print("%s %d -> %s" % (name, size, globals()["b_" + name](size)))
