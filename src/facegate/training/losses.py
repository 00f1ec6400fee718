"""Metric-learning losses: FaceNet triplet with semi-hard negatives, and the ArcFace head."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def triplet_semi_hard(embeddings: Any, labels: Any, margin: float = 0.2) -> Any:
    """Return the FaceNet triplet loss over all positive pairs of a batch of unit vectors.

    For each anchor-positive pair the negative is semi-hard: the closest negative farther than
    the positive (d_an > d_ap); when none is, the farthest negative (FaceNet, section 3.2).
    Squared Euclidean distances, loss = mean(max(d_ap - d_an + margin, 0)).
    """
    distances = torch.cdist(embeddings, embeddings).pow(2)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive = same & ~eye
    anchors, positives = positive.nonzero(as_tuple=True)
    if len(anchors) == 0:
        return embeddings.sum() * 0.0
    d_ap = distances[anchors, positives]
    d_an = distances[anchors]  # (pairs, N)
    negative = ~same[anchors]
    inf = torch.tensor(float("inf"), device=embeddings.device)
    semi_hard = negative & (d_an > d_ap[:, None])
    closest_semi_hard = torch.where(semi_hard, d_an, inf).min(dim=1).values
    farthest_negative = torch.where(negative, d_an, -inf).max(dim=1).values
    chosen = torch.where(semi_hard.any(dim=1), closest_semi_hard, farthest_negative)
    return F.relu(d_ap - chosen + margin).mean()


class ArcFaceHead(nn.Module):
    """Additive angular margin classifier: logits s * cos(theta + m) for the true class."""

    def __init__(self, dim: int, classes: int, scale: float = 30.0, margin: float = 0.3) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, dim))
        nn.init.xavier_uniform_(self.weight)
        self.scale = scale
        self.margin = margin

    def forward(self, embeddings: Any, labels: Any) -> Any:
        """Return the cross-entropy loss of the margin-penalised logits of unit embeddings."""
        cosine = F.linear(embeddings, F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)
        theta = torch.acos(cosine)
        target = torch.cos(theta + self.margin)
        # past pi - m, cos(theta + m) would rise again: fall back as InsightFace does
        fallback = cosine - math.sin(math.pi - self.margin) * self.margin
        target = torch.where(theta < math.pi - self.margin, target, fallback)
        one_hot = F.one_hot(labels, cosine.shape[1]).bool()
        logits = self.scale * torch.where(one_hot, target, cosine)
        return F.cross_entropy(logits, labels)
