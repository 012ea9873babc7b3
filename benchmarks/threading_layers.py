"""Warm ms/epoch of ``fastffnn.training.train_epoch`` under each numba threading layer.

Why: numba's ``omp`` layer busy-waits after each parallel region and fought
OpenBLAS's threads next to a GEMM (docs: /work/shared/NUMBA_NOTES.md);
``fastffnn._jit.configure_threading_layer`` therefore prefers ``tbb``. This
script re-measures that choice on whole training epochs.

Every threading layer runs in a fresh subprocess, because numba picks its
layer once per process and libgomp reads ``OMP_WAIT_POLICY`` only when it is
loaded:

- ``tbb``: NUMBA_THREADING_LAYER unset, so ``import fastffnn`` preloads the
  pip-installed libtbb and selects tbb (fastffnn's default).
- ``omp``: NUMBA_THREADING_LAYER=omp (libgomp's default wait policy).
- ``omp-passive``: NUMBA_THREADING_LAYER=omp and OMP_WAIT_POLICY=PASSIVE.
- ``workqueue``: NUMBA_THREADING_LAYER=workqueue.

Each subprocess prints ``numba.threading_layer()`` after its first parallel
region, as proof of the layer that really ran. Inside a subprocess, each
configuration runs with three thread splits (numba threads + BLAS threads, set
with ``numba.set_num_threads`` and threadpoolctl's ``user_api="blas"``, which
covers scipy's OpenBLAS that ``np.dot`` calls inside ``@njit``): 1+2, 2+2 and
2+1. After one warm-up epoch per split, the splits' epochs are interleaved
(rotating the order every repeat) so that machine noise hits all of them alike.
Without ``--quick`` every layer runs twice (two rounds, the second in reverse
layer order) and the epochs of both rounds are pooled. Reported: median
ms/epoch, with the config's best cell = 1.00x.

Noise guards (the machine is shared and small): epochs of one split run back to
back in "slots"; a slot is measured again when other processes took CPU time
during it (/proc/stat busy time minus this process's own) or when a short
2-thread GEMM probe run right after it is slower than PROBE_SLACK times the
fastest probe seen (the host slows vCPUs in phases that /proc/stat does not
show). Disturbed epochs that could not be re-measured within budget are used
only where a cell has fewer than 3 undisturbed ones; such cells are flagged "!".

Time: about 4 minutes on a quiet 2-core machine (``--quick``: about 1.5), plus
~25 s once if the kernels are not in numba's cache yet. A split whose warm-up
epoch is 5x the config's fastest (omp's busy-waiting can make an epoch 10-100x
slower) gets only 3 timed epochs, in the first round only; a later round starts
no new process after ROUND_DEADLINE_S. The parent sets NUMBA_NUM_THREADS=2
unless it is set.

Configurations (random data, Adam, alpha=1e-4, shuffle=True, float64):

- S: 20,000 x 50, 5 classes, hidden (100,), batch 200
- L: 20,000 x 256, 10 classes, hidden (512, 256), batch 256
- D: 1,797 x 64, 10 classes, hidden (100,), batch 200 (digits-sized)

Usage, from the repository root::

    python benchmarks/threading_layers.py [--quick] [--rounds N] [--layers tbb omp ...]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

LAYERS = {
    "tbb": {},
    "omp": {"NUMBA_THREADING_LAYER": "omp"},
    "omp-passive": {"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "PASSIVE"},
    "workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
}
#: The layer numba must report for each case.
EXPECTED = {"tbb": "tbb", "omp": "omp", "omp-passive": "omp", "workqueue": "workqueue"}
#: Variables the parent clears before applying a case's own.
CLEARED = ("NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY", "OMP_WAIT_POLICY")

#: (numba threads, BLAS threads)
SPLITS = ((1, 2), (2, 2), (2, 1))

CONFIGS = {
    "S": {"n": 20_000, "features": 50, "classes": 5, "hidden": (100,), "batch": 200},
    "L": {"n": 20_000, "features": 256, "classes": 10, "hidden": (512, 256), "batch": 256},
    "D": {"n": 1_797, "features": 64, "classes": 10, "hidden": (100,), "batch": 200},
}

HYPER = (1e-3, 0.9, 0.999, 1e-8, 0.9)  # learning_rate, beta_1, beta_2, epsilon, momentum
ALPHA = 1e-4
GEMM_SHAPE = (256, 256, 512)  # (m, k, n): L's first-layer forward GEMM, batch 256
#: The plain GEMM: median of GEMM_BLOCKS undisturbed blocks of GEMM_CALLS calls.
GEMM_BLOCKS, GEMM_CALLS = 9, 40

#: Per (config, split) and round: timed epochs aim at ``target_s``, within [min, max].
BUDGET = {
    False: {"target_s": 1.0, "min_epochs": 5, "max_epochs": 40},
    True: {"target_s": 0.5, "min_epochs": 3, "max_epochs": 15},
}
#: A split whose warm-up epoch is SLOW_RATIO times the config's fastest (and over
#: SLOW_MIN_S) gets SLOW_EPOCHS timed epochs, in the first round only.
SLOW_RATIO, SLOW_MIN_S, SLOW_EPOCHS = 5.0, 0.5, 3
#: Epochs of one split run back to back as a "slot" of about SLOT_S seconds; a slot
#: is "disturbed" when other processes took more than CONTENDED_S + CONTENDED_SHARE
#: * wall of CPU time during it, or when the GEMM probe after it (PROBE_CALLS calls,
#: 2 BLAS threads, after PROBE_SLEEP_S so that spinning threads park) is slower than
#: PROBE_SLACK times the fastest probe so far. A disturbed slot is measured again if
#: shorter than RETRY_MAX_SLOT_S and within a budget of one extra pass; otherwise it
#: is kept aside (see MIN_CLEAN).
SLOT_S = 0.1
CONTENDED_S, CONTENDED_SHARE = 0.02, 0.10
PROBE_CALLS, PROBE_SLEEP_S, PROBE_SLACK = 10, 0.03, 1.2
RETRY_MAX_SLOT_S = 1.5
#: Disturbed epochs that could not be re-measured enter a cell's median (flagged
#: "!") only when fewer than MIN_CLEAN undisturbed epochs exist.
MIN_CLEAN = 3
#: Before each config, before a re-measured slot and before a slot too long to
#: re-measure, wait (QUIET_WINDOW_S windows, at most QUIET_MAX_S, within a
#: per-run budget shared out over the processes) until no other process uses CPU.
QUIET_WINDOW_S, QUIET_MAX_S = 0.2, 10.0
WAIT_BUDGET_S = {False: 60.0, True: 30.0}
#: Rounds after the first start no new process once the run has taken this long.
ROUND_DEADLINE_S = {False: 260.0, True: 120.0}


def split_name(split):
    return f"{split[0]}nb+{split[1]}blas"


def epoch_flops(cfg):
    """Multiply-adds x 2 of one epoch: forward, dW, and dA for every layer but the first."""
    sizes = [cfg["features"], *cfg["hidden"], cfg["classes"]]
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return cfg["n"] * (6 * weights - 2 * sizes[0] * sizes[1])


# --------------------------------------------------------------------------- worker


class CpuMeter:
    """CPU time other processes used during a measurement ("foreign" CPU).

    The machine is shared: a neighbour's burst on one of 2 cores can slow a
    2-thread GEMM many times over. Busy time from /proc/stat (all CPUs, 10 ms
    ticks) minus this process's own CPU time (all its threads, spinning ones
    included) is what others took.
    """

    def __init__(self, wait_budget_s):
        self.tick = os.sysconf("SC_CLK_TCK")
        self.enabled = os.path.exists("/proc/stat")
        self.wait_budget_s = wait_budget_s
        self.waited_s = 0.0

    def _sample(self):
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy = 0.0
        if self.enabled:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:9]]
            busy = (sum(v) - v[3] - v[4]) / self.tick  # minus idle and iowait
        return time.perf_counter(), busy, usage.ru_utime + usage.ru_stime

    def start(self):
        self._start = self._sample()

    def stop(self):
        """``(wall_s, contended)`` since :meth:`start`."""
        t1, busy1, own1 = self._sample()
        t0, busy0, own0 = self._start
        wall = t1 - t0
        foreign = (busy1 - busy0) - (own1 - own0)
        return wall, self.enabled and foreign > CONTENDED_S + CONTENDED_SHARE * wall

    def wait_quiet(self, max_s=QUIET_MAX_S):
        """Sleep until other processes leave the CPUs alone for two QUIET_WINDOW_S
        windows, at most ``max_s`` seconds and within the process's wait budget."""
        if not self.enabled:
            return
        quiet = 0
        t_end = time.perf_counter() + min(max_s, self.wait_budget_s - self.waited_s)
        while quiet < 2 and time.perf_counter() < t_end:
            self.start()
            time.sleep(QUIET_WINDOW_S)
            wall, contended = self.stop()
            self.waited_s += wall
            quiet = 0 if contended else quiet + 1


def _worker(case, quick, skip, ref_probe_ms, wait_budget_s):
    """Run in a fresh process whose environment already selects the layer."""
    import numpy as np
    import scipy.linalg.cython_blas  # noqa: F401  (load scipy's OpenBLAS for threadpoolctl)

    t_import = time.perf_counter()
    import numba
    from threadpoolctl import ThreadpoolController

    import fastffnn  # noqa: F401  (runs configure_threading_layer)
    from fastffnn.network import pack_parameters, workspace_size
    from fastffnn.training import ADAM, train_epoch

    t_import = time.perf_counter() - t_import
    controller = ThreadpoolController()
    blas = [f"{i['internal_api']} {os.path.basename(i['filepath'])}" for i in controller.info()]
    budget = BUDGET[quick]
    meter = CpuMeter(wait_budget_s)
    meter.wait_quiet()

    def set_split(split):
        numba.set_num_threads(split[0])
        controller.limit(limits=split[1], user_api="blas")

    # Plain GEMM, before any parallel region: np.dot inside @njit (scipy's BLAS).
    @numba.njit
    def gemm(a, b, out, repeats):
        for _ in range(repeats):
            np.dot(a, b, out)

    m, k, n = GEMM_SHAPE
    gen = np.random.default_rng(1)
    a, b = gen.standard_normal((m, k)), gen.standard_normal((k, n))
    out = np.empty((m, n))
    gemm(a, b, out, 1)
    gemm_ms, fastest = {}, {}
    for blas_threads in (2, 1):
        controller.limit(limits=blas_threads, user_api="blas")
        gemm(a, b, out, 20)
        clean, dirty = [], []
        while len(clean) < GEMM_BLOCKS and len(clean) + len(dirty) < 4 * GEMM_BLOCKS:
            meter.start()
            gemm(a, b, out, GEMM_CALLS)
            wall, contended = meter.stop()
            ms = wall / GEMM_CALLS * 1e3
            slowed = blas_threads == 2 and ms > PROBE_SLACK * (ref_probe_ms or math.inf)
            (dirty if contended or slowed else clean).append(ms)
            if contended or slowed:
                meter.wait_quiet(1.0)
        gemm_ms[blas_threads] = statistics.median(clean if len(clean) >= 3 else clean + dirty)
        fastest[blas_threads] = min(clean + dirty)

    def probe():
        """ms per call of the reference GEMM on 2 BLAS threads, after a short sleep."""
        controller.limit(limits=2, user_api="blas")
        time.sleep(PROBE_SLEEP_S)
        t0 = time.perf_counter()
        gemm(a, b, out, PROBE_CALLS)
        return (time.perf_counter() - t0) / PROBE_CALLS * 1e3

    ref = min(ref_probe_ms or math.inf, fastest[2])
    probes = []

    def make_problem(cfg):
        gen = np.random.default_rng(1234)
        n, f, c, batch = cfg["n"], cfg["features"], cfg["classes"], cfg["batch"]
        X = np.ascontiguousarray(gen.standard_normal((n, f)))
        Y = np.zeros((n, c))
        Y[np.arange(n), gen.integers(0, c, n)] = 1.0
        sizes = np.array([f, *cfg["hidden"], c], dtype=np.int64)
        codes = np.array([1] * len(cfg["hidden"]) + [4], dtype=np.int64)  # relu..., softmax
        coefs, intercepts = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
            bound = math.sqrt(6.0 / (fan_in + fan_out))  # scikit-learn's Glorot init
            coefs.append(gen.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(gen.uniform(-bound, bound, fan_out))
        params = pack_parameters(coefs, intercepts, np.float64)
        P = params.size
        work = workspace_size(sizes, batch)
        return {
            "X": X,
            "Y": Y,
            "s": np.ones(n),
            "order": np.arange(n),
            "rng": np.random.default_rng(0),
            "batch": batch,
            "params": params,
            "sizes": sizes,
            "codes": codes,
            "hyper": np.array(HYPER),
            "t": 0,
            "grads": np.zeros(P),
            "state": np.zeros(2 * P),
            "X_batch": np.empty((batch, f)),
            "Y_batch": np.empty((batch, c)),
            "s_batch": np.empty(batch),
            "activations": np.empty((1, work)),  # one chunk: the unchunked path
            "deltas": np.empty((1, work)),
            "chunk_grads": np.empty((1, P)),
        }

    def run_epoch(p):
        t0 = time.perf_counter()
        p["rng"].shuffle(p["order"])
        loss, p["t"] = train_epoch(
            p["X"], p["Y"], p["s"], p["order"], True, p["batch"], p["params"],
            p["sizes"], p["codes"], ALPHA, ADAM, p["hyper"], True, p["t"], p["grads"],
            p["state"], p["X_batch"], p["Y_batch"], p["s_batch"], p["activations"], p["deltas"],
            p["chunk_grads"],
        )  # fmt: skip
        elapsed = time.perf_counter() - t0
        if not math.isfinite(loss):
            raise FloatingPointError("training diverged")
        return elapsed

    problems = {name: make_problem(cfg) for name, cfg in CONFIGS.items()}
    set_split((2, 2))
    first_call_s = run_epoch(problems["D"])  # loads (or compiles) every kernel
    layer = numba.threading_layer()

    results, disturbed_ms, slow, contention = {}, {}, [], {}
    for name, p in problems.items():
        splits = [s for s in SPLITS if f"{name}:{split_name(s)}" not in skip]
        if not splits:
            continue
        meter.wait_quiet()
        warm = {}
        for split in splits:  # one warm-up epoch per split, discarded
            set_split(split)
            warm[split] = run_epoch(p)
        fastest = min(warm.values())
        plan, per_slot = {}, {}
        for split, w in warm.items():
            if w > SLOW_RATIO * fastest and w > SLOW_MIN_S:
                plan[split] = SLOW_EPOCHS  # clearly losing: the minimum, and round 1 only
                slow.append(f"{name}:{split_name(split)}")
            else:
                epochs = math.ceil(budget["target_s"] / w)
                plan[split] = min(max(epochs, budget["min_epochs"]), budget["max_epochs"])
            per_slot[split] = max(1, min(plan[split], round(SLOT_S / w)))
        retry_budget = max(2.0, sum(plan[s] * warm[s] for s in splits))
        times = {s: [] for s in splits}
        disturbed = {s: [] for s in splits}  # kept, not re-measured
        discarded = 0
        r = 0
        while any(len(times[s]) + len(disturbed[s]) < plan[s] for s in splits):
            for i in range(len(splits)):
                split = splits[(i + r) % len(splits)]
                todo = min(per_slot[split], plan[split] - len(times[split]) - len(disturbed[split]))
                if todo <= 0:
                    continue
                if todo * warm[split] > RETRY_MAX_SLOT_S:
                    meter.wait_quiet()  # too long to measure again
                set_split(split)
                meter.start()
                slot = [run_epoch(p) * 1e3 for _ in range(todo)]
                wall, contended = meter.stop()
                probe_ms = probe()
                probes.append(probe_ms)
                slowed = probe_ms > PROBE_SLACK * ref
                ref = min(ref, probe_ms)
                if (contended or slowed) and wall < RETRY_MAX_SLOT_S and retry_budget > wall:
                    retry_budget -= wall  # disturbed: measure this slot again
                    discarded += 1
                    meter.wait_quiet()
                    continue
                (disturbed if contended or slowed else times)[split].extend(slot)
            r += 1
        results[name] = {split_name(s): v for s, v in times.items()}
        kept = {split_name(s): v for s, v in disturbed.items() if v}
        contention[name] = {"discarded": discarded, "kept": sum(map(len, kept.values()))}
        disturbed_ms[name] = kept

    return {
        "case": case,
        "threading_layer": layer,
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "env": {k: os.environ.get(k) for k in ("NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY")},
        "blas_libraries": blas,
        "import_s": t_import,
        "first_call_s": first_call_s,
        "gemm_ms": gemm_ms,
        "ref_probe_ms": ref,
        "probe_ms": statistics.median(probes) if probes else None,
        "waited_s": meter.waited_s,
        "epochs_ms": results,
        "disturbed_ms": disturbed_ms,
        "slow": slow,
        "contention": contention,
    }


# --------------------------------------------------------------------------- parent


def _spawn(case, quick, skip, ref_probe_ms, wait_budget_s, timeout):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(LAYERS[case])
    env.setdefault("NUMBA_NUM_THREADS", "2")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", case]
    if quick:
        cmd.append("--quick")
    if skip:
        cmd += ["--skip", ",".join(skip)]
    if ref_probe_ms:
        cmd += ["--ref-probe", repr(ref_probe_ms)]
    cmd += ["--wait-budget", repr(wait_budget_s)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=root, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        print(f"  {case}: timed out after {timeout} s", file=sys.stderr)
        return None
    wall = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        print(f"  {case}: failed (rc {proc.returncode})\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    result = json.loads(lines[-1][len("RESULT ") :])
    result["wall_s"] = wall
    return result


def _table(runs, cases):
    """Print the results of ``runs`` ({case: [result, ...]})."""
    splits = [split_name(s) for s in SPLITS]
    print("\nProcesses (numba.threading_layer() as reported after the first parallel region):")
    for case in cases:
        for r in runs.get(case, []):
            env = ", ".join(f"{k}={v}" for k, v in r["env"].items() if v) or "(no layer env)"
            c = r["contention"].values()
            print(
                f"  {case:<12} -> {r['threading_layer']:<10} {env}; import {r['import_s']:.2f} s,"
                f" first epoch {r['first_call_s']:.2f} s, process {r['wall_s']:.0f} s\n"
                f"{'':17}waited {r['waited_s']:.0f} s for quiet CPUs;"
                f" disturbed slots redone {sum(x['discarded'] for x in c)},"
                f" disturbed epochs kept {sum(x['kept'] for x in c)};"
                f" GEMM probe median {r['probe_ms'] or 0:.3f} ms (fastest {r['ref_probe_ms']:.3f})"
            )
    some = next((r for rs in runs.values() for r in rs), None)
    if some is None:
        print("no results")
        return
    print(
        f"  NUMBA_NUM_THREADS={some['numba_num_threads']}; libraries seen by threadpoolctl"
        f' (user_api="blas" limits the openblas ones): {"; ".join(some["blas_libraries"])}'
    )

    m, k, n = GEMM_SHAPE
    flops = 2 * m * k * n
    print(
        f"\nPlain GEMM ({m}x{k} @ {k}x{n} float64, np.dot in @njit, measured in each process"
        "\nbefore any parallel region, so independent of the layer; median of its blocks):"
    )
    rows = [(case, runs[case]) for case in cases if runs.get(case)]
    rows.append(("all", [r for _, rs in rows for r in rs]))
    for label, results in rows:
        cells = []
        for blas_threads in ("2", "1"):
            ms = statistics.median([r["gemm_ms"][blas_threads] for r in results])
            cells.append(f"{blas_threads} BLAS thr {ms:6.3f} ms ({flops / ms / 1e6:5.1f} GF/s)")
        print(f"  {label:<12} " + "   ".join(cells))

    print(
        "\nms/epoch of train_epoch, median of n epochs (* = config's best; x = ratio to it;"
        "\n+-% = half the interquartile range; ! = fewer than 3 undisturbed epochs, so"
        "\ndisturbed ones are included; GF/s = epoch FLOPs / the row's best time):"
    )
    header = f"{'cfg':<4}{'layer':<13}" + "".join(f"{s:>28}" for s in splits)
    print(header + f"{'GF/s':>7}")
    rule = "-" * (len(header) + 7)
    print(rule)
    summary = []
    for name, cfg in CONFIGS.items():
        cells, flagged = {}, set()
        for case in cases:
            for split in splits:
                pooled, dirty = [], []
                for r in runs.get(case, []):
                    pooled += r["epochs_ms"].get(name, {}).get(split, [])
                    dirty += r["disturbed_ms"].get(name, {}).get(split, [])
                if dirty and len(pooled) < MIN_CLEAN:
                    pooled += dirty  # too few undisturbed epochs: use all, flag the cell
                    flagged.add((case, split))
                if pooled:
                    cells[case, split] = pooled
        if not cells:
            continue
        med = {key: statistics.median(v) for key, v in cells.items()}
        best_key = min(med, key=med.get)
        best = med[best_key]
        for case in cases:
            if not any((case, split) in cells for split in splits):
                continue
            row = f"{name:<4}{case:<13}"
            for split in splits:
                v = cells.get((case, split))
                if not v:
                    row += f"{'-':>28}"
                    continue
                q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
                spread = 50 * (q[2] - q[0]) / med[case, split]
                mark = "*" if (case, split) == best_key else " "
                flag = "!" if (case, split) in flagged else " "
                row += (
                    f"{med[case, split]:10.2f}{mark}{med[case, split] / best:6.2f}x"
                    f" +-{spread:3.0f}% n{len(v):<3}{flag}"
                )
            case_best = min(med[case, s] for s in splits if (case, s) in med)
            row += f"{epoch_flops(cfg) / case_best / 1e6:7.1f}"
            print(row)
        print(rule)
        summary.append((name, best_key, best, med))

    print("\nPer config (ratios to the best cell):")
    for name, (case, split), best, med in summary:
        per_layer = []
        for other in cases:
            have = [s for s in splits if (other, s) in med]
            if have:
                s_best = min(have, key=lambda s, o=other: med[o, s])
                per_layer.append((med[other, s_best] / best, f"{other} {s_best}"))
        per_layer.sort()
        per_split = [f"{s} {med[case, s] / best:.2f}x" for s in splits if (case, s) in med]
        print(f"  {name}: best {case} {split} {best:.2f} ms/epoch")
        print("     best split of each layer: " + ", ".join(f"{t} {x:.2f}x" for x, t in per_layer))
        print(f"     splits under {case}: {', '.join(per_split)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, fewer epochs")
    parser.add_argument("--layers", nargs="+", choices=list(LAYERS), default=list(LAYERS))
    parser.add_argument("--rounds", type=int, default=None, help="default: 1 quick, 2 full")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per process")
    parser.add_argument("--worker", choices=list(LAYERS), help=argparse.SUPPRESS)
    parser.add_argument("--skip", default="", help=argparse.SUPPRESS)
    parser.add_argument("--ref-probe", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--wait-budget", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        skip = set(filter(None, args.skip.split(",")))
        result = _worker(args.worker, args.quick, skip, args.ref_probe, args.wait_budget)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    rounds = args.rounds or (1 if args.quick else 2)
    runs = {case: [] for case in args.layers}
    slow = {case: [] for case in args.layers}  # cells measured in round 1 only
    ref_probe_ms = None  # fastest GEMM probe of any process so far
    wait_left = WAIT_BUDGET_S[args.quick]
    skipped = []
    processes_left = rounds * len(args.layers)
    t0 = time.perf_counter()
    for r in range(rounds):
        order = args.layers if r % 2 == 0 else args.layers[::-1]
        for case in order:
            if r > 0 and time.perf_counter() - t0 > ROUND_DEADLINE_S[args.quick]:
                print(f"round {r + 1}/{rounds}: {case} skipped (time budget)", file=sys.stderr)
                skipped.append(f"round {r + 1} {case}")
                continue
            print(f"round {r + 1}/{rounds}: {case} ...", file=sys.stderr, flush=True)
            share = min(wait_left, 2 * wait_left / processes_left)
            processes_left -= 1
            result = _spawn(case, args.quick, slow[case], ref_probe_ms, share, args.timeout)
            if result is None:
                continue
            wait_left = max(0.0, wait_left - result["waited_s"])
            if result["threading_layer"] != EXPECTED[case]:
                print(
                    f"  WARNING: {case} ran on {result['threading_layer']!r}, "
                    f"expected {EXPECTED[case]!r}",
                    file=sys.stderr,
                )
            runs[case].append(result)
            slow[case] += result["slow"]
            ref_probe_ms = min(ref_probe_ms or math.inf, result["ref_probe_ms"])
            print(
                f"  -> {result['threading_layer']} in {result['wall_s']:.0f} s"
                + (f"; slow, not repeated: {', '.join(result['slow'])}" if result["slow"] else ""),
                file=sys.stderr,
                flush=True,
            )
    _table(runs, args.layers)
    print(f"\nTotal {time.perf_counter() - t0:.0f} s, {rounds} round(s), quick={args.quick}")
    if skipped:
        print(f"Skipped for time: {', '.join(skipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
