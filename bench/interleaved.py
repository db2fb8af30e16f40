#!/usr/bin/env python3
"""Times commands in interleaved rounds: each round runs every command once, in turn, so that a change in the
machine's load reaches all of them alike (hyperfine runs one command's runs after another's). Prints a markdown
table of each command's wall time (median, minimum) and CPU time (user + system, from wait4), and the ratio of
its median to the first command's.

    bench/interleaved.py [--rounds N] [--warmup N] [--shuffle] 'command one' 'command two' ...

--shuffle runs each round's commands in a new random order: a run can be slowed by the one before it (a process
that touched a lot of memory leaves the kernel work), and a fixed order gives that cost to the same command in
every round.

A command is split on spaces (no shell); its output is discarded, and a failing command stops the run.
"""
import argparse, os, random, statistics, subprocess, sys, time


def run(argv):
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"interleaved.py: '{' '.join(argv)}' exited {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--shuffle", action="store_true", help="run each round's commands in a random order")
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()
    commands = [c.split() for c in args.commands]
    for _ in range(args.warmup):
        for c in commands:
            run(c)
    walls = [[] for _ in commands]
    cpus = [[] for _ in commands]
    for _ in range(args.rounds):
        order = list(range(len(commands)))
        if args.shuffle:
            random.shuffle(order)
        for i in order:
            wall, cpu = run(commands[i])
            walls[i].append(wall)
            cpus[i].append(cpu)
    base = statistics.median(walls[0])
    print("| command | wall median | wall min | CPU median | CPU min | median / first |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c, w, u in zip(args.commands, walls, cpus):
        print(f"| `{c}` | {statistics.median(w) * 1000:.1f} ms | {min(w) * 1000:.1f} ms "
              f"| {statistics.median(u) * 1000:.1f} ms | {min(u) * 1000:.1f} ms | {statistics.median(w) / base:.2f} |")


if __name__ == "__main__":
    main()
