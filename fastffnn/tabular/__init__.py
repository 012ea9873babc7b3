"""The tabular estimators: RealMLP-TD's recipe on the compiled core.

``encoding`` turns a table into the network's inputs, ``network`` lays out
and initializes the parameters, ``core`` holds the compiled passes and
``estimators`` the scikit-learn classes.
"""
