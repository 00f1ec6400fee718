"""The service's vision work is bounded: a large blank image does not hold up another door."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service_server import TEST_CONFIG, running_server
from test_service import image_part, png

# generous bounds, far below the 20-35 s dlib's CNN fallback took on such an image
ANSWER_WITHIN_S = 15.0


def test_a_large_blank_image_is_answered_quickly_while_another_identify_is_served(
    tmp_path: Path, faces: dict[str, list[Path]]
) -> None:
    # the default vision settings (TEST_CONFIG turns the fallback detectors off)
    config = TEST_CONFIG.replace("max_pixels = 2000000", "max_pixels = 20000000")
    config = config.replace("fallback_detectors = []", "")
    with running_server(tmp_path, config) as server, server.client("admin") as admin:
        enrolled = admin.post(
            "/v1/people",
            data={"name": "Colin Powell", "consent": "test: LFW photo"},
            files=[("images", image_part(faces["Colin Powell"][0]))],
        )
        assert enrolled.status_code == 201, enrolled.text
        blank = png(4000, 3000)  # 12 megapixels of nothing

        def identify(file: tuple[str, bytes, str]) -> tuple[int, dict, float]:
            start = time.perf_counter()
            with server.client("door") as door:
                response = door.post("/v1/identify", data={"door": "d"}, files={"image": file})
            return response.status_code, response.json(), time.perf_counter() - start

        with ThreadPoolExecutor(2) as pool:
            big = pool.submit(identify, ("blank.png", blank, "image/png"))
            time.sleep(0.05)  # the blank image goes in first
            face = pool.submit(identify, image_part(faces["Colin Powell"][2]))
            big_status, big_body, big_seconds = big.result()
            face_status, face_body, face_seconds = face.result()
    assert big_status == 422 and big_body["error"] == "no_face", big_body
    assert face_status == 200 and face_body["decision"] == "unlock", face_body
    assert big_seconds < ANSWER_WITHIN_S and face_seconds < ANSWER_WITHIN_S
