"""scikit-learn's callbacks (``sklearn.callback``, scikit-learn >= 1.9) around training.

``set_callbacks(ProgressBar(), ScoringMonitor(...), ...)`` on either estimator
(scikit-learn's ``CallbackSupportMixin``). A fit is one task with one subtask
per epoch (per L-BFGS iteration, as LogisticRegression's); a ``partial_fit``
call is a task with one epoch. Each subtask's end hands the callbacks the
training data and, on request, a copy of the estimator with that epoch's
weights (``fitted_estimator``); a callback returning True there stops
training after that epoch, which leaves the model of the last finished epoch
(the best one under early stopping). Callbacks propagated by a meta-estimator
(a Pipeline, a search) take part the same way. Without callbacks nothing here
runs per epoch.
"""

import sklearn

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    #: Whether the installed scikit-learn has callbacks.
    AVAILABLE = True
except ImportError:  # scikit-learn < 1.9
    AVAILABLE = False

    class CallbackSupportMixin:
        def set_callbacks(self, *callbacks):
            """Set callbacks (needs scikit-learn >= 1.9)."""
            raise NotImplementedError(
                "set_callbacks needs scikit-learn >= 1.9 (sklearn.callback); scikit-learn "
                f"{sklearn.__version__} is installed."
            )

    def with_callbacks(method):
        return method


class TrainingTasks:
    """The fit task of an estimator with callbacks, and its epochs' subtasks."""

    def __init__(self, estimator, X, y, n_subtasks, subtask_name):
        self.estimator, self.X, self.y = estimator, X, y
        self.subtask_name = subtask_name
        self.root = estimator._init_callback_context(max_subtasks=n_subtasks)
        self.root.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        self.current = None

    @classmethod
    def start(cls, estimator, X, y, n_subtasks, subtask_name="epoch"):
        """The tasks of this fit, or None where no callback is set (or scikit-learn has none)."""
        if not AVAILABLE or not (
            getattr(estimator, "_skl_callbacks", None) or hasattr(estimator, "_parent_callback_ctx")
        ):
            return None
        return cls(estimator, X, y, n_subtasks, subtask_name)

    def _weights(self):
        """The estimator's weights now, as ``fitted_estimator`` is rebuilt from
        them (the estimator's ``_reconstruction_attributes``)."""
        return self.estimator._reconstruction_attributes()

    def begin(self):
        """Start the next subtask (an epoch)."""
        self.current = self.root.subcontext(task_name=self.subtask_name)
        self.current.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y,
                                            reconstruction_attributes=self._weights)  # fmt: skip

    def end(self):
        """End the current subtask; returns whether a callback asks to stop."""
        current, self.current = self.current, None
        return current.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y,
                                            reconstruction_attributes=self._weights)  # fmt: skip

    def close(self):
        """End a subtask left open (training stopped inside it), then the fit task."""
        if self.current is not None:
            self.current.call_on_fit_task_end(estimator=self.estimator)
            self.current = None
        self.root.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y,
                                       reconstruction_attributes=self._weights)  # fmt: skip
