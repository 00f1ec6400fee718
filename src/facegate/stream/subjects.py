"""The demo's people: shipped public-domain photos and where their heads are."""

from __future__ import annotations

import matplotlib.cbook
import skimage.data

from facegate.media import load_image

# Head regions (top, bottom, left, right) of the shipped photos, found once by the HOG detector.
SUBJECTS = {
    "Eileen Collins": (skimage.data.astronaut, (20, 260, 110, 330)),
    "Grace Hopper": (
        lambda: load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
        (60, 420, 90, 460),
    ),
}
