"""Per-epoch progress output of the estimators' stochastic solvers (adam, sgd).

``verbose=0`` prints nothing. ``verbose=2`` shows a progress bar (below).
Every other true ``verbose`` (1, True, 3, 10, ...) prints MLPClassifier's line
per epoch, ``Iteration N, loss = L``, and the stopping message, as
scikit-learn does for any true ``verbose``. The bar shows the epochs with the
current loss and, with early stopping, the latest validation score: tqdm's bar
when tqdm is installed, otherwise a plain line at most every ``interval``
seconds (and one for the last epoch). A ``partial_fit`` call runs one epoch,
so it gets a plain line instead of a bar.

The estimator creates one :class:`EpochReporter` per ``fit`` and calls it once
or twice per epoch; at ``verbose=0`` each call returns at once. The cost of
each level is measured by ``benchmarks/verbose_overhead.py``.
"""

import sys
import time


class EpochReporter:
    """Report training progress once per epoch.

    Parameters
    ----------
    verbose : bool or int
        The estimator's ``verbose``: 0 silent, 2 a progress bar, any other
        true value one line per epoch as scikit-learn prints it.
    total : int or None
        The epoch budget (``max_iter``) for the bar; None for ``partial_fit``.
    validation_scores : list or None
        The estimator's ``validation_scores_`` list (appended to by the
        estimator each epoch with early stopping), or None.
    interval : float, default=0.5
        Minimum seconds between two plain progress lines (``verbose=2``
        without tqdm).
    use_tqdm : bool, default=True
        Draw tqdm's bar when tqdm can be imported.

    Examples
    --------
    >>> reporter = EpochReporter(verbose=1, total=3)
    >>> reporter.epoch(1, 0.5)
    Iteration 1, loss = 0.50000000
    >>> reporter.end_epoch()
    >>> reporter.close()
    """

    def __init__(self, verbose, total=None, validation_scores=None, *, interval=0.5,
                 use_tqdm=True):  # fmt: skip
        # 1: scikit-learn's lines, 2: the bar (internal levels, see the module)
        self.level = 0 if not verbose else 2 if int(verbose) == 2 else 1
        self.total = total
        self._scores = validation_scores
        self._interval = interval
        self._bar = None
        self._n_iter = 0
        self._loss = None
        self._pending = False  # a plain line not yet printed
        self._last_line = None  # time of the last plain line
        if self.level >= 2 and use_tqdm and total is not None and total > 1:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, desc="training", unit="epoch", leave=True,
                                 dynamic_ncols=True)  # fmt: skip

    def epoch(self, n_iter, loss, epochs_seen=None):
        """An epoch finished with training ``loss`` (before its validation score).

        ``n_iter`` is scikit-learn's ``n_iter_`` (1 in every ``partial_fit``
        call), which its lines print; the bar counts ``epochs_seen`` (all
        epochs of the model, ``partial_fit`` calls included; default n_iter).
        """
        if self.level == 1:
            print(f"Iteration {n_iter}, loss = {loss:.8f}")
        elif self.level >= 2:
            self._n_iter = n_iter if epochs_seen is None else epochs_seen
            self._loss = loss

    def end_epoch(self):
        """The epoch's bookkeeping (validation score included) is done: advance the bar."""
        if self.level < 2:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(self._status(), refresh=False)
            self._bar.update(1)
            if self._bar.n >= self.total:
                self.close()  # before the estimator's max_iter warning, on its own line
            return
        now = time.perf_counter()
        self._pending = True
        if self._last_line is None or now - self._last_line >= self._interval:
            self._print_line(now)

    def message(self, text):
        """A line of text (the stopping message), printed above the bar."""
        if self.level == 1:
            print(text)
        elif self.level >= 2:
            if self._bar is not None:
                self._bar.write(text, file=sys.stdout)
            else:
                if self._pending:
                    self._print_line(time.perf_counter())
                print(text)

    def close(self):
        """Training ended: finish the bar or print the last pending line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._pending:
            self._print_line(time.perf_counter())

    def _status(self):
        status = f"loss={self._loss:.6f}"
        if self._scores:
            status += f", validation score={self._scores[-1]:.4f}"
        return status

    def _print_line(self, now):
        total = f"/{self.total}" if self.total is not None else ""
        print(f"epoch {self._n_iter}{total}: {self._status()}", flush=True)
        self._last_line = now
        self._pending = False
