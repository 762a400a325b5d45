"""Sparse-grid hyperparameter optimization: the computational core."""
