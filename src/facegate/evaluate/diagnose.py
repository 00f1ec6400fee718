"""Bias / variance diagnosis: training error vs dev error vs a human-level reference."""

from __future__ import annotations

from dataclasses import dataclass

# Kumar et al. 2009: humans verify LFW pairs (tightly cropped faces) at 97.53 % accuracy.
HUMAN_LFW_ERROR = 1 - 0.9753

BIAS_ADVICE = (
    "work on avoidable bias: a bigger or better model (e.g. the ArcFace head), train longer, "
    "less regularisation"
)
VARIANCE_ADVICE = (
    "work on variance: more data (collect or augment the failing slices), regularisation, "
    "early stopping"
)
BELOW_HUMAN_ADVICE = (
    "dev error is at or below the human-level reference, so it no longer bounds the Bayes error; "
    "look for gains in the error slices (collect or augment the slices with excess errors)"
)


@dataclass(frozen=True)
class Diagnosis:
    """The three errors, the two gaps between them, and what to work on next."""

    human_error: float
    train_error: float | None
    dev_error: float
    avoidable_bias: float | None
    variance: float | None
    focus: str
    advice: str

    def as_dict(self) -> dict[str, object]:
        """Return the diagnosis as a JSON-ready dict."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 5)

        return {
            "human_error": r(self.human_error),
            "train_error": r(self.train_error),
            "dev_error": r(self.dev_error),
            "avoidable_bias": r(self.avoidable_bias),
            "variance": r(self.variance),
            "focus": self.focus,
            "advice": self.advice,
        }

    def lines(self) -> list[str]:
        """Return the diagnosis as a few plain-text lines."""
        train = "not given" if self.train_error is None else f"{100 * self.train_error:.2f} %"
        out = [
            f"human-level error {100 * self.human_error:.2f} %, training error {train}, "
            f"dev error {100 * self.dev_error:.2f} %"
        ]
        if self.avoidable_bias is not None and self.variance is not None:
            out.append(
                f"avoidable bias (train - human) {100 * self.avoidable_bias:+.2f} points, "
                f"variance (dev - train) {100 * self.variance:+.2f} points"
            )
        out.append(f"{self.focus}: {self.advice}")
        return out


def diagnose(
    dev_error: float, train_error: float | None = None, human_error: float = HUMAN_LFW_ERROR
) -> Diagnosis:
    """Return which gap is larger (avoidable bias or variance) and what to work on next."""
    if dev_error <= human_error:
        bias = None if train_error is None else train_error - human_error
        variance = None if train_error is None else dev_error - train_error
        return Diagnosis(
            human_error,
            train_error,
            dev_error,
            bias,
            variance,
            "below human level",
            BELOW_HUMAN_ADVICE,
        )
    if train_error is None:
        return Diagnosis(
            human_error,
            None,
            dev_error,
            None,
            None,
            "unsplit gap",
            f"dev error is {100 * (dev_error - human_error):.2f} points above human level; give "
            "a training error (--train-error or --train-pairs) to split it into bias and variance",
        )
    bias, variance = train_error - human_error, dev_error - train_error
    if bias >= variance:
        return Diagnosis(
            human_error, train_error, dev_error, bias, variance, "avoidable bias", BIAS_ADVICE
        )
    return Diagnosis(
        human_error, train_error, dev_error, bias, variance, "variance", VARIANCE_ADVICE
    )
