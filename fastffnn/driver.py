"""The training driver: epochs of mini-batches with scikit-learn's stopping
rules and early stopping, and L-BFGS, around the compiled core
(``fastffnn.solvers``).

``TrainingDriver`` is a base of the estimators (``fastffnn.estimator.BaseFFNN``):
its methods read the estimator's parameters and write its fitted attributes
(``loss_curve_``, ``n_iter_``, ...) as scikit-learn's ``BaseMultilayerPerceptron``
does. What happens when training fails is written once, in ``Checkpoint``:
a diverged epoch, an interrupt (Ctrl-C) or L-BFGS's non-finite weights put
back the last finite weights.
"""

import warnings

import numpy as np
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning

from fastffnn import boundary
from fastffnn.callbacks import TrainingTasks
from fastffnn.solvers import EpochRunner, OptimizerState, minimize_lbfgs


class Checkpoint:
    """The last finite weights of a flat parameter buffer, to fall back on."""

    def __init__(self, params):
        self.params = params
        self.saved = params.copy()

    def finite(self):
        return bool(np.all(np.isfinite(self.params)))

    def save(self):
        self.saved[:] = self.params

    def restore(self):
        self.params[:] = self.saved

    def restore_unless_finite(self):
        """After an interrupt: weights cut off mid-update are kept when finite."""
        if not self.finite():
            self.restore()


class TrainingDriver:
    """The Python side of training; every number is computed in compiled code."""

    def _fit_stochastic(self, X, Y, y, s, incremental, dropout, validation=None):
        n_epochs = 1 if incremental else self.max_iter
        tasks = TrainingTasks.start(self, X, y, n_epochs)
        try:
            self._run_epochs(X, Y, y, s, incremental, dropout, tasks, validation)
        finally:
            if tasks is not None:
                tasks.close()

    def _run_epochs(self, X, Y, y, s, incremental, dropout, tasks, validation):
        params = self._params
        self.n_iter_ = 0  # as scikit-learn: n_iter_ counts this call's epochs (1 for partial_fit)
        X_val = y_val = s_val = None
        if validation is not None:  # the user's validation data
            X_val, y_val, s_val = self._validation_data(*validation)
        elif self.early_stopping:
            X, X_val, Y, y_val, s, s_val = self._validation_split(X, Y, y, s)
        scored = X_val is not None
        if scored:
            Y_val = self._loss_targets(y_val, self._dtype)
            s_val = np.array(s_val, dtype=self._dtype)  # owned: the cost kernel's exact type
            if not self.early_stopping and not isinstance(self.validation_scores_, list):
                self.validation_scores_ = []
            if not incremental or not isinstance(getattr(self, "validation_loss_curve_", None),
                                                 list):  # fmt: skip
                self.validation_loss_curve_ = []
        elif not incremental:
            self.validation_loss_curve_ = None

        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped", stacklevel=3)  # fmt: skip
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        runner = EpochRunner(boundary.training_data(X, Y, s, self._dtype), self._network_bundle(),
                             self.alpha, batch_size, self.shuffle, self._random_state,
                             dropout)  # fmt: skip
        best_params = params.copy() if self.early_stopping else None
        checkpoint = Checkpoint(params)
        from fastffnn.progress import EpochReporter

        reporter = EpochReporter(self.verbose, None if incremental else self.max_iter,
                                 self.validation_scores_)  # fmt: skip
        try:
            for _ in range(1 if incremental else self.max_iter):
                if tasks is not None:
                    tasks.begin()
                loss = runner.run(self._optimizer)
                if not (np.isfinite(loss) and checkpoint.finite()):
                    checkpoint.restore()
                    warnings.warn(
                        f"Training diverged in epoch {self.n_iter_ + 1} (non-finite loss or "
                        "weights); stopped and kept the weights of the last finite epoch. "
                        "Scale the inputs or lower learning_rate_init.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
                    break
                checkpoint.save()
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(loss)
                reporter.epoch(self.n_iter_, loss, len(self.loss_curve_))
                score = self._score_validation(X_val, y_val, Y_val, s_val) if scored else None
                if self._update_no_improvement(score):
                    best_params = params.copy()
                reporter.end_epoch()
                self._optimizer.end_epoch(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    message = (f"{what} did not improve more than tol={self.tol:f} for "
                               f"{self.n_iter_no_change} consecutive epochs.")  # fmt: skip
                    stop, suffix = self._optimizer.should_stop()
                    reporter.message(message + suffix)
                    if stop:
                        break
                    self._no_improvement_count = 0
                if tasks is not None and tasks.end():
                    break  # a callback asked to stop after this epoch
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
        except KeyboardInterrupt:
            checkpoint.restore_unless_finite()
            warnings.warn("Training interrupted by user; keeping the weights of the last "
                          "completed epoch.", stacklevel=3)  # fmt: skip
        reporter.close()
        if self.early_stopping:
            params[:] = best_params

    def _fit_lbfgs(self, X, Y, y, s):
        tasks = TrainingTasks.start(self, X, y, self.max_iter, "lbfgs-iter")
        try:
            self._run_lbfgs(X, Y, s, tasks)
        finally:
            if tasks is not None:
                tasks.close()

    def _run_lbfgs(self, X, Y, s, tasks):
        params = self._params
        checkpoint = Checkpoint(params)
        iteration = [0]
        if tasks is not None:
            tasks.begin()

        def report(_):
            iteration[0] += 1
            if self.verbose:
                print(f"Iteration {iteration[0]}")
            if tasks is not None:
                if tasks.end():
                    raise StopIteration  # scipy >= 1.11 ends the minimization here
                if iteration[0] < self.max_iter:  # scipy runs max_iter iterations at most
                    tasks.begin()

        try:
            result = minimize_lbfgs(
                boundary.training_data(X, Y, s, self._dtype), self._network_bundle(), self.alpha,
                max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol, callback=report,
            )  # fmt: skip
        except KeyboardInterrupt:
            checkpoint.restore_unless_finite()
            warnings.warn("Training interrupted by user.", stacklevel=3)
            self.n_iter_ = iteration[0]
            return
        if not checkpoint.finite():
            checkpoint.restore()
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed."
            )
        self.n_iter_ = int(result.nit)
        self.loss_ = result.reported_loss
        if not result.success:
            message = result.message
            if isinstance(message, bytes):
                message = message.decode("latin1")
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}): {message}. Increase max_iter or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _score_validation(self, X_val, y_val, Y_val, s_val):
        """The epoch's validation score (``scoring``), recorded with the
        validation loss (the cost's data term on the validation data)."""
        outputs = self._forward(X_val, check_finite=False)
        loss = self._validation_loss(outputs, Y_val, s_val)
        self.validation_loss_curve_.append(loss)
        if self.scoring is None:  # MLPClassifier's accuracy, MLPRegressor's R²
            score = self._validation_score(outputs, y_val, s_val)
        elif self.scoring == "loss":
            score = -loss
        else:
            from sklearn.metrics import check_scoring

            score = check_scoring(self, scoring=self.scoring)(self, X_val, y_val)
        score = float(score) if np.isfinite(score) else np.nan  # never the best
        self.validation_scores_.append(score)
        if self.verbose and self.verbose != 2:  # verbose=2: the progress bar shows it
            print(f"Validation score: {score:f}")
        return score

    def _validation_loss(self, outputs, Y_val, s_val):
        """The cost's data term (F3) of the network's ``outputs`` (n, n_L) on
        the validation data."""
        from fastffnn.kernels.costs import COSTS_TABLE

        kernel = COSTS_TABLE.kernels[int(self._codes[-1])]
        delta = outputs.dtype.type(self._cost_parameter())
        return float(kernel(outputs.T, Y_val.T, s_val, delta))

    def _validation_data(self, X_val, y_val, sample_weight_val):
        """``fit``'s X_val, y_val, sample_weight_val checked as prediction
        input, labels or targets of the fitted model, and sample weights."""
        X_val = self._validated(X_val)
        y_val = np.asarray(y_val)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = y_val.ravel()
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"X_val has {X_val.shape[0]} rows but y_val has {y_val.shape[0]}.")
        s_val = self._sample_weights(sample_weight_val, X_val, y_val, self._dtype)
        return X_val, y_val, s_val

    def _update_no_improvement(self, score):
        """scikit-learn's stopping bookkeeping on the validation ``score``
        (early stopping) or the training loss; returns True when weights
        improved on the validation set (early stopping only)."""
        if self.early_stopping:
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
            return False
        loss = self.loss_curve_[-1]
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, loss)
        return False

    def _validation_split(self, X, Y, y, s):
        stratify = self._stratify(Y, y)
        from sklearn.model_selection import train_test_split  # a slow import; early stopping only

        X_train, X_val, Y_train, _, s_train, s_val, _, y_val = train_test_split(
            X, Y, s, y, random_state=self._random_state,
            test_size=self.validation_fraction, stratify=stratify,
        )  # fmt: skip
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")  # fmt: skip
        if not scipy.sparse.issparse(X_train):
            X_train = np.ascontiguousarray(X_train)
        return (X_train, X_val, np.ascontiguousarray(Y_train), y_val,
                np.ascontiguousarray(s_train), s_val)  # fmt: skip

    def _new_optimizer(self, n_params, dtype, dropout):
        cosine = self.learning_rate == "cosine"
        # drawn only with dropout, so that without it the shuffles stay scikit-learn's
        mask_seed = self._random_state.randint(2**31) if dropout.size else 0
        return OptimizerState(
            self.solver, n_params, dtype,
            learning_rate_init=self.learning_rate_init, learning_rate=self.learning_rate,
            power_t=self.power_t, momentum=self.momentum,
            nesterovs_momentum=self.nesterovs_momentum, beta_1=self.beta_1,
            beta_2=self.beta_2, epsilon=self.epsilon, weight_decay=self.weight_decay,
            cosine_epochs=self.max_iter if cosine else 0,
            warmup_epochs=self.warmup_iter if cosine else 0, mask_seed=mask_seed,
        )  # fmt: skip
