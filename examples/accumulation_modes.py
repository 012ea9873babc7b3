"""Forward versus reverse accumulation on MATH.md's worked example, step by step
===============================================================================

Two outputs of three inputs, differentiated by hand in both modes, with every
intermediate printed. The function::

    y1 = x1 (x2 - x3),    y2 = x3 log(1 - x1)

split into elementary steps::

    u4 = x2 - x3,  u5 = x1 u4 (= y1),  u6 = 1 - x1,  u7 = log u6,  u8 = x3 u7 (= y2).

Forward mode carries tangents (a dot: du/dx along one input direction) from the
inputs to the outputs, one pass per input: 3 passes, each giving one column of
the 2 x 3 Jacobian. Reverse mode carries adjoints (a bar: dy_r/du for one
output) from the outputs back to the inputs, one pass per output: 2 passes,
each giving one row. Both are checked against the closed form::

    J = [[x2 - x3,          x1,  -x1        ],
         [-x3 / (1 - x1),   0,   log(1 - x1)]].

Run ``python examples/accumulation_modes.py [x1 x2 x3]`` (default x = (0.5, 2, 1));
the exit status is 1 if either mode disagrees with the closed form.
"""

import sys

import numpy as np


def evaluate(x):
    """The primal pass: every intermediate u_k at x (both modes need them)."""
    x1, x2, x3 = x
    u = {"x1": x1, "x2": x2, "x3": x3}
    u["u4"] = x2 - x3
    u["u5"] = x1 * u["u4"]
    u["u6"] = 1.0 - x1
    u["u7"] = np.log(u["u6"])
    u["u8"] = x3 * u["u7"]
    return u


def forward_pass(u, seed):
    """One forward-mode pass: the tangent of every step for ``dot-x = seed``."""
    t = {"x1": seed[0], "x2": seed[1], "x3": seed[2]}
    t["u4"] = t["x2"] - t["x3"]  # d(x2 - x3)
    t["u5"] = t["x1"] * u["u4"] + u["x1"] * t["u4"]  # product rule
    t["u6"] = -t["x1"]  # d(1 - x1)
    t["u7"] = t["u6"] / u["u6"]  # d log(u6) = du6 / u6
    t["u8"] = t["x3"] * u["u7"] + u["x3"] * t["u7"]  # product rule
    return t


def reverse_pass(u, seed):
    """One reverse-mode pass: the adjoint of every step for ``bar-y = seed``.

    Steps are visited in reverse order; each adds its contribution to the
    adjoints of its arguments (an argument used twice, like x1 or x3, collects
    two contributions).
    """
    a = {name: 0.0 for name in ("x1", "x2", "x3", "u4", "u5", "u6", "u7", "u8")}
    a["u5"], a["u8"] = seed
    # u8 = x3 u7
    a["x3"] += a["u8"] * u["u7"]
    a["u7"] += a["u8"] * u["x3"]
    # u7 = log u6
    a["u6"] += a["u7"] / u["u6"]
    # u6 = 1 - x1
    a["x1"] += -a["u6"]
    # u5 = x1 u4
    a["x1"] += a["u5"] * u["u4"]
    a["u4"] += a["u5"] * u["x1"]
    # u4 = x2 - x3
    a["x2"] += a["u4"]
    a["x3"] += -a["u4"]
    return a


def closed_form(x):
    x1, x2, x3 = x
    return np.array([[x2 - x3, x1, -x1], [-x3 / (1 - x1), 0.0, np.log(1 - x1)]])


def show(label, values, names):
    print(f"  {label}: " + ", ".join(f"{n} = {values[n] + 0.0:+.6f}" for n in names))


def main(argv):
    x = np.array([float(v) for v in argv], dtype=float) if argv else np.array([0.5, 2.0, 1.0])
    if x.shape != (3,) or not x[0] < 1:
        print("usage: accumulation_modes.py [x1 x2 x3] with x1 < 1", file=sys.stderr)
        return 2
    u = evaluate(x)
    print(f"x = {tuple(float(v) for v in x)}: y1 = u5 = {u['u5']:.6f}, y2 = u8 = {u['u8']:.6f}")
    steps = ["u4", "u5", "u6", "u7", "u8"]

    print("\nForward mode: one pass per input (3 passes), each gives a column")
    forward_J = np.empty((2, 3))
    for k in range(3):
        seed = np.eye(3)[k]
        t = forward_pass(u, seed)
        show(f"pass {k + 1}, dot-x = e{k + 1}", t, steps)
        forward_J[:, k] = t["u5"] + 0.0, t["u8"] + 0.0  # + 0.0 turns -0.0 into 0.0
        print(
            f"    column {k + 1}: (dot-y1, dot-y2) = "
            f"({forward_J[0, k]:+.6f}, {forward_J[1, k]:+.6f})"
        )

    print("\nReverse mode: one pass per output (2 passes), each gives a row")
    reverse_J = np.empty((2, 3))
    for r in range(2):
        seed = np.eye(2)[r]
        a = reverse_pass(u, seed)
        show(f"pass {r + 1}, bar-y = e{r + 1}", a, steps[::-1] + ["x1", "x2", "x3"])
        reverse_J[r] = a["x1"] + 0.0, a["x2"] + 0.0, a["x3"] + 0.0
        row = ", ".join(f"{v:+.6f}" for v in reverse_J[r])
        print(f"    row {r + 1}: (bar-x1, bar-x2, bar-x3) = ({row})")

    expected = closed_form(x)
    print("\nJacobian (forward mode):\n", forward_J)
    print("Jacobian (reverse mode):\n", reverse_J)
    print("closed form:\n", expected)
    failures = []
    for name, J in (("forward", forward_J), ("reverse", reverse_J)):
        if not np.allclose(J, expected, rtol=1e-14, atol=1e-14):
            failures.append(name)
    if failures:
        print(f"MISMATCH: {' and '.join(failures)} mode disagree(s) with the closed form")
        return 1
    print("OK: both modes match the closed form (3 forward passes, 2 reverse passes)")
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    if status:  # no sys.exit(0): the docs' gallery runs this file inside the build
        sys.exit(status)
