"""What the benchmarks share: interleaved rounds, paired ratios against the untraced run of the same round,
the target's CPU time (from wait4) and instruction counts (perf stat, where the CPU's counters are visible),
and one summary printed and saved as JSON.

A round runs every variant once, each between two untraced runs, in an order rotated by one each round
(U A U B U C U, then B C A ...), so no variant always runs first or right after another. A paired ratio
divides a run's figure by the mean of the untraced runs either side of it: load from the rest of the machine
that lasts the three runs, or grows or fades steadily over them, cancels out. The target runs on one CPU. Wall time
swings with that load; CPU time and instructions count the target's own work and swing far less, so they are
what a verdict prefers where they mean what the budget means.
"""
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time


class Measure:
    """One figure of a sample. cost: how a ratio reads as a cost (higher-is-better figures like requests/s
    are inverted, so that every ratio above 1 is a slowdown). paired: whether a ratio to the baseline means
    anything (rtprof's own CPU has no untraced counterpart)."""

    def __init__(self, key, label, unit, fmt="{:.3f}", higher_is_better=False, paired=True):
        self.key, self.label, self.unit, self.fmt = key, label, unit, fmt
        self.higher_is_better, self.paired = higher_is_better, paired

    def show(self, v):
        return self.fmt.format(v) + (" " + self.unit if self.unit else "")


TARGET_CPU = Measure("target_cpu_s", "target CPU", "s")
TOOL_CPU = Measure("rtprof_cpu_s", "rtprof CPU", "s", paired=False)
OTHER_LOAD = Measure("other_load_cpus", "other load", "CPUs", "{:.2f}", paired=False)
INSTR_U = Measure("instructions_u", "instr. user", "G", "{:.3f}")
INSTR_K = Measure("instructions_k", "instr. kernel", "G", "{:.3f}")

PERF_EVENTS = "instructions:u,instructions:k"


def add_arguments(ap, rounds):
    ap.add_argument("--rounds", type=int, default=rounds, help="interleaved rounds (default %(default)s)")
    cpus = sorted(os.sched_getaffinity(0))
    ap.add_argument("--cpu", default=str(cpus[-1]) if len(cpus) > 1 else "none",
                    help="the CPU the target runs on, or none (default %(default)s)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure, each round's too, to FILE")
    ap.add_argument("--no-perf", action="store_true", help="do not count instructions even where perf can")


def pin(cmd, args):
    """cmd on the CPU of --cpu, through taskset: it execs, so the target keeps its pid and rtprof follows it.
    Threads that share one CPU hand the GIL over the same way each run; spread over two they drift between
    runs with half the CPU time and runs with twice it."""
    return cmd if args.cpu == "none" else ["taskset", "-c", args.cpu] + cmd


def other_cpus(args):
    """The CPUs other than --cpu's, for a load generator: a list for taskset -c, or None."""
    if args.cpu == "none":
        return None
    rest = sorted(set(os.sched_getaffinity(0)) - {int(args.cpu)})
    return ",".join(map(str, rest)) or None


def perf_counts_instructions():
    """Whether perf stat counts instructions:u of `true`: not where the CPU's counters are not visible
    (a VM without a virtual PMU prints <not supported>), nor without perf."""
    try:
        out = subprocess.run(["perf", "stat", "-e", "instructions:u", "-x,", "--", "true"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return False
    for line in out.splitlines():
        field = line.split(",")[0]
        if "instructions" in line and field.isdigit():
            return int(field) > 0
    return False


class Instructions:
    """Wraps a target in `perf stat -x,` writing to a file of its own; read() gives {measure key: G}."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.path = None
        if enabled:
            fd, self.path = tempfile.mkstemp(prefix="rtprof-bench-perf-")
            os.close(fd)

    def wrap(self, cmd):
        if not self.enabled:
            return cmd
        return ["perf", "stat", "-e", PERF_EVENTS, "-x,", "-o", self.path, "--"] + cmd

    def start(self, pid):
        """Counts a running process until stop(): perf stat -p, its threads included."""
        if not self.enabled:
            return None
        return subprocess.Popen(["perf", "stat", "-e", PERF_EVENTS, "-x,", "-o", self.path, "-p", str(pid)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, perf):
        if perf is None:
            return {}
        perf.send_signal(signal.SIGINT)
        perf.wait(30)
        return self.read()

    def read(self):
        if not self.enabled:
            return {}
        counts = {}
        with open(self.path) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) < 3 or not fields[0].isdigit():
                    continue
                key = {"instructions:u": INSTR_U.key, "instructions:k": INSTR_K.key}.get(fields[2])
                if key:
                    counts[key] = int(fields[0]) / 1e9
        return counts

    def close(self):
        if self.path:
            os.unlink(self.path)


def busy_cpu_s():
    """CPU seconds the whole machine has been busy (not idle nor waiting for I/O), from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def run_target(cmd, **kw):
    """Runs cmd to its end: (stdout, CPU seconds of cmd and the children it waited for, wall seconds, the
    machine's other load in CPUs). The CPU time is wait4's user+sys, the kernel's accounting of the
    process: time in the probes that run in its syscalls counts there too. The other load is what the
    machine was busy with besides cmd over the run, averaged: another program on the target's CPU slows the
    untraced and traced runs alike only if it lasts; this says which runs it met."""
    t0, busy0 = time.perf_counter(), busy_cpu_s()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, **kw)
    out = p.stdout.read()
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    wall, busy = time.perf_counter() - t0, busy_cpu_s() - busy0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("%s: exit status %d: %s" % (os.path.basename(sys.argv[0]), p.returncode, " ".join(cmd)))
    cpu = ru.ru_utime + ru.ru_stime
    return out, cpu, wall, max(busy - cpu, 0.0) / wall


def run_traced(rtprof, options, cmd, report):
    """`rtprof run OPTIONS -- cmd`: (stdout, the report, the target's CPU seconds, rtprof's own CPU seconds,
    the other load). wait4 of rtprof gives its CPU and that of the command it waited for; the report holds
    the command's own (rtprof's wait4 of it), so the difference is rtprof's."""
    out, both, _, other = run_target([rtprof, "run", "-q", "--json", "-o", report] + options + ["--"] + cmd)
    with open(report) as f:
        rep = json.load(f)
    target = rep["process"]["cpu_user_s"] + rep["process"]["cpu_sys_s"]
    return out, rep, target, both - target, other


def proc_cpu_s(pid):
    """utime+stime of every thread of a running process, from /proc (clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interleave(variants, rounds, run_one, show, baseline="untraced"):
    """Runs run_one(variant) -> {measure key: value} for each variant `rounds` times, each run between two
    runs of the baseline (U A U B U C U, then U B U C U A U ...: the order rotated each round, a round's last
    baseline run the next round's first). A run's "_base" is the mean of the baseline runs either side of it,
    which cancels a load that changes steadily over the three runs, not only one that lasts the round.
    show(runs of the round) returns the round's line of progress."""
    others = [v for v in variants if v != baseline]
    samples = {v: [] for v in variants}
    prev = run_one(baseline)
    prev["_round"] = 0
    samples[baseline].append(prev)
    for r in range(rounds):
        k = r % len(others)
        this = {baseline: prev}
        for v in others[k:] + others[:k]:
            row = run_one(v)
            after = run_one(baseline)
            row["_round"], after["_round"], row["_base_of"] = r, r + 1, baseline
            row["_base"] = {key: (prev[key] + after[key]) / 2 for key in prev
                            if not key.startswith("_") and after.get(key) is not None}
            samples[v].append(row)
            samples[baseline].append(after)
            this[v] = row
            prev = after
        print("    round %*d/%d: %s" % (len(str(rounds)), r + 1, rounds, show(this)), flush=True)
    return samples


def ratio(m, base, x):
    """A cost ratio: above 1 when x is slower or costlier than base."""
    return base / x if m.higher_is_better else x / base


def quartiles(xs):
    if len(xs) < 2:
        return xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def median_interval(xs, coverage=0.90):
    """A distribution-free confidence interval of the median: the k-th smallest and k-th largest values, k
    the largest for which the chance that the median lies outside is at most 1 - coverage (binomial, p = 1/2).
    Unlike the IQR it narrows as rounds are added: 7 rounds give min-max (98%), 9 the 2nd smallest to the
    2nd largest (96%), 15 the 4th to the 12th (96%). Returns (low, high, its coverage)."""
    n, xs = len(xs), sorted(xs)
    tail = [math.comb(n, i) / 2 ** n for i in range(n + 1)]
    k, outside = 1, 2 * tail[0]
    while k < (n + 1) // 2 and 2 * sum(tail[:k + 1]) <= 1 - coverage:
        k += 1
        outside = 2 * sum(tail[:k])
    return xs[k - 1], xs[n - k], 1 - outside


def stats(xs):
    q1, q3 = quartiles(xs)
    lo, hi, cov = median_interval(xs)
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "q1": q1, "q3": q3,
            "median_ci": [lo, hi], "median_ci_coverage": cov, "values": xs}


def summarize(samples, baseline, measures):
    """{variant: {measure key: stats, with "ratio": stats of the paired cost ratios to the baseline}}. A run
    is paired with its bracketing baseline runs ("_base") when the baseline is the one that brackets it,
    else with the baseline's run of the same round."""
    out = {}
    by_round = {row["_round"]: row for row in samples[baseline]}
    for v, rows in samples.items():
        out[v] = {}
        for m in measures:
            vals = [row[m.key] for row in rows if row.get(m.key) is not None]
            if not vals:
                continue
            s = stats(vals)
            if m.paired and v != baseline:
                pairs = []
                for row in rows:
                    base = row["_base"] if row["_base_of"] == baseline else by_round.get(row["_round"], {})
                    if base.get(m.key) and row.get(m.key):
                        pairs.append(ratio(m, base[m.key], row[m.key]))
                if pairs:
                    s["ratio"] = stats(pairs)
            out[v][m.key] = s
    return out


def print_summary(summary, measures, instructions):
    """One line per variant and measure: median, min-max and how wide that is against the median; for a
    paired measure, the median paired ratio, the ratios' interquartile range (how much one round's ratio
    varies) and the median's confidence interval (how well the rounds pin the median down)."""
    name_w = max(len(v) for v in summary)
    print("    %-*s  %-13s %12s  %-25s  %s" % (name_w, "", "measure", "median", "min-max (width)",
                                             "paired ratio: median  IQR  median's interval"))
    for v, figs in summary.items():
        first = True
        for m in measures:
            s = figs.get(m.key)
            if s is None:
                continue
            spread = "%s-%s" % (m.fmt.format(s["min"]), m.fmt.format(s["max"]))
            if m is not OTHER_LOAD and s["median"]:  # a load near 0 has no meaningful relative width
                spread += " (%.0f%%)" % ((s["max"] - s["min"]) / s["median"] * 100)
            line = "    %-*s  %-13s %12s  %-25s" % (name_w, v if first else "", m.label, m.show(s["median"]), spread)
            r = s.get("ratio")
            if r:
                line += "  %.3fx  %.3f-%.3f  %.3f-%.3f (%.0f%%)" % (
                    r["median"], r["q1"], r["q3"], r["median_ci"][0], r["median_ci"][1], 100 * r["median_ci_coverage"])
            elif m is TOOL_CPU and figs.get(TARGET_CPU.key):
                line += "  (its own: %.1f%% of the target's)" % (
                    100 * s["median"] / figs[TARGET_CPU.key]["median"])
            print(line.rstrip())
            first = False
    if not instructions:
        print("    instructions: not supported here")


def verdict(summary, variant, measure, budget, why):
    """The variant against a budget by one measure's paired ratios: within when the confidence interval of
    their median is at or under it, over when it is above it, undecided when it straddles it (more rounds
    narrow it)."""
    r = summary[variant].get(measure.key, {}).get("ratio")
    if r is None:
        return {"variant": variant, "measure": measure.key, "budget": budget, "result": "not measured"}
    lo, hi = r["median_ci"]
    if budget is None:
        result = "no budget"
    elif hi <= budget:
        result = "within"
    elif lo > budget:
        result = "over"
    else:
        result = "undecided"
    text = "%s: %.3fx by %s (paired median; its %.0f%% interval %.3f-%.3f)" % (
        variant, r["median"], measure.label, 100 * r["median_ci_coverage"], lo, hi)
    if budget is not None:
        text += ", %s the %.2fx budget" % ({"within": "within", "over": "over",
                                            "undecided": "undecided against"}[result], budget)
    print("    verdict: %s; judged by %s" % (text, why))
    return {"variant": variant, "measure": measure.key, "budget": budget, "result": result,
            "ratio_median": r["median"], "ratio_median_ci": [lo, hi], "ratio_q1": r["q1"], "ratio_q3": r["q3"]}


class Report:
    """Collects the workloads of one invocation for --json."""

    def __init__(self, benchmark, args, instructions):
        self.doc = {"benchmark": benchmark, "rounds": args.rounds, "cpu": args.cpu,
                    "order": "rotated each round, each traced run between two untraced ones",
                    "instructions_supported": instructions, "workloads": []}
        self.path = args.json
        print("%s: %d rounds; the target on CPU %s%s; instructions %s" % (
            benchmark, args.rounds, args.cpu, "" if args.cpu == "none" else " (taskset; --cpu none: any)",
            "counted (perf stat)" if instructions else "not supported here"), flush=True)

    def add(self, name, title, summary, verdicts, **extra):
        w = {"name": name, "title": title, "variants": summary, "verdicts": verdicts}
        w.update(extra)
        self.doc["workloads"].append(w)
        return w

    def write(self):
        if self.path:
            with open(self.path, "w") as f:
                json.dump(self.doc, f, indent=1)
                f.write("\n")


def instructions_enabled(args):
    return not args.no_perf and perf_counts_instructions()
