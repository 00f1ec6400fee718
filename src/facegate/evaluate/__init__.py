"""Evaluation: pair protocols (LFW 10-fold, CSV), ROC, TAR@FAR, EER, plots."""

from facegate.evaluate.pairs import PairSet, read_pairs
from facegate.evaluate.runner import PairsReport, evaluate_pairs

__all__ = ["PairSet", "PairsReport", "evaluate_pairs", "read_pairs"]
