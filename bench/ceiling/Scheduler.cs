// scheduler.hl written directly in C#: the ceiling for the code hlvm's JIT emits for it. The same discrete-event
// simulation of a pool of workers, with the same classes, virtual and interface calls, closures, binary heap,
// maps and exceptions, doing the same work step by step. The language's int is a long here; List indexes are int.
namespace Ceiling;

static class SchedulerProgram
{
    // ------------------------------------------------------------------------------------------------ errors

    // The language's Error: an uncaught one ends the program with its class, message and the line of main it
    // came out of, on standard error, and exit code 70.
    class Error : Exception
    {
        public readonly int Line;
        public Error(string message, int line = 0) : base(message) { Line = line; }
    }

    sealed class ValueError : Error { public ValueError(string message, int line) : base(message, line) { } }

    sealed class KeyError : Error { public KeyError(string message, int line) : base(message, line) { } }

    // ------------------------------------------------------------------------------------------------ events

    sealed class Event
    {
        public readonly long Time;
        public readonly long Seq;
        public readonly Action Action;
        public Event(long time, long seq, Action action) { Time = time; Seq = seq; Action = action; }
    }

    // A binary min-heap of events: the earliest first, and of two at the same time the one scheduled first.
    sealed class EventQueue
    {
        List<Event> heap = new List<Event>();

        public int Len() => heap.Count;

        static bool Before(Event a, Event b) => a.Time < b.Time || (a.Time == b.Time && a.Seq < b.Seq);

        public void Push(Event e)
        {
            heap.Add(e);
            int i = heap.Count - 1;
            while (i > 0)
            {
                int parent = (i - 1) / 2;
                if (!Before(heap[i], heap[parent])) break;
                Swap(i, parent);
                i = parent;
            }
        }

        public Event Pop()
        {
            var top = heap[0];
            var last = heap[heap.Count - 1];
            heap.RemoveAt(heap.Count - 1);
            int n = heap.Count;
            if (n == 0) return top;
            heap[0] = last;
            int i = 0;
            while (2 * i + 1 < n)
            {
                int child = 2 * i + 1;
                if (child + 1 < n && Before(heap[child + 1], heap[child])) child += 1;
                if (!Before(heap[child], heap[i])) break;
                Swap(i, child);
                i = child;
            }
            return top;
        }

        void Swap(int i, int j)
        {
            var t = heap[i];
            heap[i] = heap[j];
            heap[j] = t;
        }
    }

    // ------------------------------------------------------------------------------------------------ jobs

    sealed class TaskError : Error { public TaskError(string message) : base(message) { } }

    // A unit of work. The simulation calls Duration when a worker starts it and Finish when the worker is done;
    // Finish may submit more jobs, or throw a TaskError to have the job run again.
    class Job
    {
        public readonly long Id;
        public long Submitted = 0;
        public long Attempts = 0;
        public Job(long id) { Id = id; }

        public virtual string Kind() => "job";
        public virtual long Duration() => 1;
        public virtual void Finish(Sim sim) { }
    }

    sealed class Compute : Job
    {
        public readonly long Units;
        public Compute(long id, long units) : base(id) { Units = units; }
        public override string Kind() => "compute";
        public override long Duration() => Units * 3;
    }

    sealed class Fetch : Job
    {
        public readonly string Url;
        public Fetch(long id, string url) : base(id) { Url = url; }

        public override string Kind() => "fetch";
        public override long Duration() => 5 + Url.Length;

        // One fetch in eight times out, but the third attempt always succeeds.
        public override void Finish(Sim sim)
        {
            if (sim.Rng.Next(8) == 0 && Attempts < 3) throw new TaskError($"timeout fetching {Url}");
            sim.Submit(new Parse(sim.NewId(), Url.Length * 3 + sim.Rng.Next(50)));
        }

        // "h3.example" of "http://h3.example/alpha/17".
        public string Host() => Url.Split("/")[2];
    }

    sealed class Parse : Job
    {
        public readonly long Size;
        public Parse(long id, long size) : base(id) { Size = size; }
        public override string Kind() => "parse";
        public override long Duration() => Size / 4 + 1;
        public override void Finish(Sim sim)
        {
            if (Size % 3 == 0) sim.Submit(new Compute(sim.NewId(), Size % 17 + 1));
        }
    }

    sealed class Batch : Job
    {
        public readonly long Count;
        public Batch(long id, long count) : base(id) { Count = count; }
        public override string Kind() => "batch";
        public override long Duration() => 2;
        public override void Finish(Sim sim)
        {
            for (long i = 0; i < Count; i++) sim.Submit(new Compute(sim.NewId(), 1 + sim.Rng.Next(10)));
        }
    }

    // ------------------------------------------------------------------------------------------------ the simulation

    // Told of every "submit", "start", "done" and "retry" of a job.
    interface IListener
    {
        void OnEvent(string ev, Job job, Sim sim);
    }

    sealed class Worker
    {
        public readonly long Id;
        public bool Busy = false;
        public long BusyTime = 0;
        public Worker(long id) { Id = id; }
    }

    sealed class Sim
    {
        public readonly Rng Rng;
        public readonly List<Worker> Workers;
        public readonly EventQueue Queue = new EventQueue();
        public List<IListener> Listeners = new List<IListener>();
        public long Now = 0;
        long scheduled = 0;
        long lastId = 0;
        // The jobs waiting for a worker are ready[head..], oldest first.
        List<Job> ready = new List<Job>();
        int head = 0;

        public Sim(Rng rng, List<Worker> workers) { Rng = rng; Workers = workers; }

        public long NewId()
        {
            lastId += 1;
            return lastId;
        }

        public void After(long delay, Action action)
        {
            Queue.Push(new Event(Now + delay, scheduled, action));
            scheduled += 1;
        }

        public int Waiting() => ready.Count - head;

        void Notify(string ev, Job job)
        {
            foreach (var l in Listeners) l.OnEvent(ev, job, this);
        }

        public void Submit(Job job)
        {
            job.Submitted = Now;
            ready.Add(job);
            Notify("submit", job);
            Dispatch();
        }

        // Gives waiting jobs to idle workers, the lowest-numbered first.
        void Dispatch()
        {
            foreach (var w in Workers)
            {
                if (Waiting() == 0) break;
                if (!w.Busy)
                {
                    var job = ready[head];
                    head += 1;
                    Start(w, job);
                }
            }
            if (head > 1000 && head * 2 > ready.Count)
            {
                ready = ready.GetRange(head, ready.Count - head);
                head = 0;
            }
        }

        void Start(Worker w, Job job)
        {
            w.Busy = true;
            job.Attempts += 1;
            Notify("start", job);
            long d = job.Duration();
            After(d, () => Complete(w, job, d));
        }

        void Complete(Worker w, Job job, long d)
        {
            w.Busy = false;
            w.BusyTime += d;
            try
            {
                job.Finish(this);
                Notify("done", job);
            }
            catch (TaskError)
            {
                Notify("retry", job);
                Submit(job);
            }
            Dispatch();
        }

        // Runs the events in order until there are none.
        public long Run()
        {
            long events = 0;
            while (Queue.Len() > 0)
            {
                var e = Queue.Pop();
                Now = e.Time;
                e.Action();
                events += 1;
            }
            return events;
        }
    }

    // ------------------------------------------------------------------------------------------------ observers

    sealed class Statistics : IListener
    {
        public readonly Dictionary<string, long> Done = new Dictionary<string, long>();
        public readonly Dictionary<string, long> Latency = new Dictionary<string, long>();
        public long Retries = 0;
        public long MaxQueue = 0;

        public void OnEvent(string ev, Job job, Sim sim)
        {
            if (ev == "submit")
            {
                if (sim.Waiting() > MaxQueue) MaxQueue = sim.Waiting();
            }
            else if (ev == "done")
            {
                string kind = job.Kind();
                Done[kind] = Done.GetValueOrDefault(kind, 0) + 1;
                Latency[kind] = Latency.GetValueOrDefault(kind, 0) + sim.Now - job.Submitted;
            }
            else if (ev == "retry")
            {
                Retries += 1;
            }
        }

        public long TotalLatency() => new List<long>(Latency.Values).Aggregate(0L, (sum, n) => sum + n);
    }

    sealed class HostCounter : IListener
    {
        public readonly Dictionary<string, long> Hits = new Dictionary<string, long>();

        public void OnEvent(string ev, Job job, Sim sim)
        {
            if (ev == "start" && job.Kind() == "fetch")
            {
                string host = ((Fetch)job).Host();
                Hits[host] = Hits.GetValueOrDefault(host, 0) + 1;
            }
        }

        // The host with the most fetches; of those with as many, the one first fetched (a Dictionary that is
        // only added to enumerates its keys in insertion order, as the language's maps do).
        public string Top()
        {
            string best = "";
            foreach (var host in Hits.Keys)
            {
                if (best == "" || Hits[host] > Hits[best]) best = host;
            }
            return best;
        }
    }

    sealed class FnListener : IListener
    {
        readonly Action<string, Job, Sim> f;
        public FnListener(Action<string, Job, Sim> f) { this.f = f; }
        public void OnEvent(string ev, Job job, Sim sim) => f(ev, job, sim);
    }

    // Makes the arriving jobs, one at a time, each scheduling the next.
    sealed class Source
    {
        readonly Sim sim;
        readonly long total;
        long made = 0;
        readonly List<string> paths = new List<string> { "alpha", "beta", "index", "news", "img", "api" };

        public Source(Sim sim, long total) { this.sim = sim; this.total = total; }

        public void Tick()
        {
            sim.Submit(Next());
            made += 1;
            if (made < total) sim.After(1 + sim.Rng.Next(6), () => Tick());
        }

        Job Next()
        {
            long id = sim.NewId();
            long r = sim.Rng.Next(10);
            if (r < 5) return new Compute(id, 1 + sim.Rng.Next(20));
            if (r < 8)
            {
                long host = sim.Rng.Next(16);
                string path = paths[(int)sim.Rng.Next(paths.Count)];
                return new Fetch(id, $"http://h{host}.example/{path}/{id}");
            }
            return new Batch(id, 2 + sim.Rng.Next(4));
        }
    }

    // Samples the number of waiting jobs every 100 time units, in buckets of 10, while anything else is going on.
    sealed class Monitor
    {
        readonly Sim sim;
        public readonly Dictionary<long, long> Histogram = new Dictionary<long, long>();

        public Monitor(Sim sim) { this.sim = sim; }

        public void Tick()
        {
            long bucket = sim.Waiting() / 10;
            Histogram[bucket] = Histogram.GetValueOrDefault(bucket, 0) + 1;
            if (sim.Queue.Len() > 0) sim.After(100, () => Tick());
        }
    }

    // The program's main.
    static void MainOf(string[] args)
    {
        long total = 60000;
        if (args.Length > 0) total = ToInt(args[0], 327);
        var workers = new List<Worker>();
        for (long i = 0; i < 14; i++) workers.Add(new Worker(i));
        var sim = new Sim(new Rng(42), workers);
        var stats = new Statistics();
        var hosts = new HostCounter();
        long starts = 0;
        sim.Listeners = new List<IListener>
        {
            stats, hosts, new FnListener((ev, _, _) =>
            {
                if (ev == "start") starts += 1;
            }),
        };
        var source = new Source(sim, total);
        var monitor = new Monitor(sim);
        sim.After(0, () => source.Tick());
        sim.After(0, () => monitor.Tick());
        long events = sim.Run();

        var busiest = workers[0];
        foreach (var w in workers)
        {
            if (w.BusyTime > busiest.BusyTime) busiest = w;
        }
        string kinds = string.Join(" ",
            new List<string> { "compute", "fetch", "parse", "batch" }.ConvertAll(k => $"{stats.Done.GetValueOrDefault(k, 0)} {k}"));
        string top = hosts.Top();
        if (starts != new List<long>(stats.Done.Values).Aggregate(0L, (sum, n) => sum + n) + stats.Retries)
        {
            throw new Error($"{starts} starts but not as many jobs done or retried", 350);
        }
        Console.WriteLine($"events {events}, end {sim.Now}, done {kinds}, retries {stats.Retries}, " +
            $"latency {stats.TotalLatency()}, max queue {stats.MaxQueue}, busiest worker {busiest.Id} {busiest.BusyTime}, " +
            $"top host {top} {Get(hosts.Hits, top, 352)}, histogram {monitor.Histogram.Count} buckets, " +
            $"first {monitor.Histogram.GetValueOrDefault(0, 0)}");
    }

    public static int Run(string[] args)
    {
        try
        {
            MainOf(args);
            return 0;
        }
        catch (Error e)
        {
            Console.Out.Flush();
            Console.Error.Write($"{e.GetType().Name}: {e.Message}\n  at main (scheduler.hl:{e.Line})\n");
            return 70;
        }
    }

    // ------------------------------------------------------------------------------------------------ the language's library

    // m[k] of a {string: int}: a KeyError when the map has no key k.
    static long Get(Dictionary<string, long> m, string key, int line) =>
        m.TryGetValue(key, out long value) ? value : throw new KeyError($"the map has no key \"{key}\"", line);

    // string.toInt(), a ValueError at the line given.
    static long ToInt(string text, int line)
    {
        try
        {
            return Lang.ToInt(text);
        }
        catch (Lang.ValueError e)
        {
            throw new ValueError(e.Message, line);
        }
    }
}
