"""usage: rt_gc.py TRUTH_JSON GO_FILE

Python garbage-collector reference. The collector is disabled from the script's first line, so nothing
collects while the workload waits (sleeping) for GO_FILE; it creates GO_FILE.ready when it starts waiting (a
profiler attached earlier would see the collections of the interpreter's own start-up). At go it registers a
gc.callbacks hook, raises the gen0 threshold (so that allocation-driven collections handle tens of thousands of
objects: pauses of ~ms, not us) and re-enables the collector, then:
  - builds a long-lived heap of cyclic objects (allocation-driven gen0/gen1 collections, and gen2 ones),
  - churns cyclic garbage, keeping the last few batches alive so that some survive into gen1 and gen2,
  - makes explicit gc.collect(0), gc.collect(1) and gc.collect(2) calls, each after fresh cyclic garbage;
then disables the collector again and unregisters the hook, so no collection happens outside the measured
window. The hook times each collection with time.perf_counter_ns from its "start" call to its "stop" call
(this includes the callbacks' own few microseconds per collection). Writes TRUTH_JSON:
  {"pid", "python", "count", "total_ns", "max_ns",
   "generations": [{"generation", "count", "total_ns", "max_ns", "explicit", "collected"}, x3]}
then sleeps until killed.
"""
import gc

gc.disable()

import json  # noqa: E402  (after gc.disable: imports allocate)
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

GEN0_THRESHOLD = 20000
LONG_LIVED = 150000
CHURN_BATCHES = 60
BATCH = 20000
KEEP_BATCHES = 3
EXPLICIT = {0: 4, 1: 4, 2: 3}


class Node:
    __slots__ = ("other", "payload", "__weakref__")

    def __init__(self):
        self.other = None
        self.payload = [None]


def cyclic_pairs(n):
    """n/2 two-node cycles (each node also owns a tracked list): garbage only the collector can free."""
    out = []
    for _ in range(n // 2):
        a, b = Node(), Node()
        a.other, b.other = b, a
        a.payload[0] = b
        out.append(a)
    return out


class Recorder:
    def __init__(self):
        self.gens = [{"generation": g, "count": 0, "total_ns": 0, "max_ns": 0, "explicit": 0, "collected": 0}
                     for g in range(3)]
        self.started = None
        self.explicit = False
        self.unmatched = 0

    def __call__(self, phase, info):
        now = time.perf_counter_ns()
        if phase == "start":
            if self.started is not None:
                self.unmatched += 1
            self.started = now
            return
        if self.started is None:
            self.unmatched += 1
            return
        d = now - self.started
        self.started = None
        g = self.gens[info["generation"]]
        g["count"] += 1
        g["total_ns"] += d
        g["max_ns"] = max(g["max_ns"], d)
        g["collected"] += info["collected"]
        if self.explicit:
            g["explicit"] += 1


def main():
    truth_path, go_path = sys.argv[1], sys.argv[2]
    open(go_path + ".ready", "w").close()  # started up: a profiler may attach now
    while not os.path.exists(go_path):
        time.sleep(0.01)

    rec = Recorder()
    thresholds = gc.get_threshold()
    gc.callbacks.append(rec)
    gc.set_threshold(GEN0_THRESHOLD, 5, 5)
    gc.enable()

    long_lived = [cyclic_pairs(BATCH) for _ in range(LONG_LIVED // BATCH)]
    kept = []
    for _ in range(CHURN_BATCHES):
        kept.append(cyclic_pairs(BATCH))
        if len(kept) > KEEP_BATCHES:
            kept.pop(0)
    kept = None
    for gen, times in sorted(EXPLICIT.items()):
        for _ in range(times):
            garbage = cyclic_pairs(BATCH // 2)
            garbage = None  # noqa: F841  (cycles: only the collector frees them)
            rec.explicit = True
            gc.collect(gen)
            rec.explicit = False

    gc.disable()
    gc.callbacks.remove(rec)
    gc.set_threshold(*thresholds)

    gens = rec.gens
    truth = {"pid": os.getpid(), "python": sys.version.split()[0],
             "count": sum(g["count"] for g in gens), "total_ns": sum(g["total_ns"] for g in gens),
             "max_ns": max(g["max_ns"] for g in gens), "generations": gens, "unmatched": rec.unmatched,
             "long_lived": sum(len(b) for b in long_lived)}
    with open(truth_path + ".tmp", "w") as f:
        json.dump(truth, f)
    os.rename(truth_path + ".tmp", truth_path)
    while True:
        time.sleep(3600)


main()
