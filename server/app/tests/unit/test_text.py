"""The text pipeline's parts: DB post-processing, CTC decoding, the reading schedule,
text tracks and the summary's `texts` (no model: the networks' outputs are made up);
one reading of a rendered word through the real models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.exports.summary import vtt_cue
from app.adapters.pipeline.models.ocr import (
    TextReader,
    boxes_from_map,
    ctc_decode,
    det_input_size,
    order_quad,
    rec_batch,
    unclip,
)
from app.adapters.pipeline.steps.text import OcrSchedule, TextStep, thumbnail
from app.adapters.pipeline.text_tracks import TextTracker, TextTrackStage, text_key
from app.adapters.pipeline.tracking import tracking_stages
from app.domain.detections import Detection
from app.domain.frames import Frame
from app.domain.options import AnalysisOptions
from app.domain.summary import TrackTotals
from app.domain.text_summary import TextsBuilder

pytestmark = pytest.mark.unit


def test_a_probability_blob_becomes_one_box_grown_by_area_over_perimeter():
    prob = np.zeros((64, 128), np.float32)
    prob[20:30, 10:90] = 0.9  # an 80 x 10 line at the detector's input size
    boxes = boxes_from_map(prob, 256, 128)  # the frame is twice the input
    assert len(boxes) == 1
    quad, score = boxes[0]
    assert 0.75 <= score <= 0.9  # the map's mean inside the (dilated) region's rectangle
    # minAreaRect of the blob is ~80 x 10; grown by 800 * 1.6 / 180 = 7.1 px each side
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    assert (x1 - x0) / 2 == pytest.approx(80 + 2 * 7.1, abs=3)
    assert (y1 - y0) / 2 == pytest.approx(10 + 2 * 7.1, abs=3)


def test_weak_or_tiny_regions_are_not_text():
    prob = np.zeros((64, 128), np.float32)
    prob[20:30, 10:90] = 0.4  # above the pixel threshold, below the box score
    prob[50:52, 100:102] = 0.9  # 2 px: under the least side
    assert boxes_from_map(prob, 128, 64) == []


def test_unclip_grows_a_rotated_rectangle_on_every_side():
    (cx, cy), (w, h), angle = unclip(((50.0, 20.0), (100.0, 20.0), 10.0))
    distance = 100 * 20 * 1.6 / 240
    assert (cx, cy, angle) == (50.0, 20.0, 10.0)
    assert (w, h) == pytest.approx((100 + 2 * distance, 20 + 2 * distance))


def test_corners_come_clockwise_from_the_top_left():
    quad = order_quad(np.array([[10, 10], [0, 10], [10, 0], [0, 0]]))
    assert quad.tolist() == [[0, 0], [10, 0], [10, 10], [0, 10]]


def test_detector_input_is_scaled_to_the_long_side_in_multiples_of_32():
    assert det_input_size(1280, 720, 960) == (960, 544)
    assert det_input_size(100, 50, 960) == (192, 96)  # enlarged at most twice


def test_lines_are_resized_to_48_high_and_padded_to_the_widest():
    batch = rec_batch([np.full((24, 48, 3), 255, np.uint8), np.zeros((10, 200, 3), np.uint8)])
    assert batch.shape == (2, 3, 48, 960)
    assert batch[0, :, :, :96].min() == pytest.approx(1.0) and batch[0, :, :, 96:].max() == 0


def test_ctc_merges_repeats_and_drops_blanks():
    characters = ["", "a", "b", " "]
    columns = [1, 1, 0, 1, 2, 2, 0, 0, 3, 2]  # a a _ a b b _ _ ' ' b
    probs = np.full((1, len(columns), 4), 0.01, np.float32)
    for t, c in enumerate(columns):
        probs[0, t, c] = 0.9 if c else 0.99
    probs[0, 3, 1] = 0.6
    ((text, score),) = ctc_decode(probs, characters)
    assert text == "aab b"
    assert score == pytest.approx((0.9 + 0.6 + 0.9 + 0.9 + 0.9) / 5, abs=1e-6)
    assert ctc_decode(np.eye(4, dtype=np.float32)[[0, 0]][None], characters) == [("", 0.0)]


def _thumb(value: float, changed: int = 0) -> np.ndarray:
    thumb = np.full((90, 160), value, np.float32)
    thumb.flat[:changed] += 100  # `changed` pixels brighter by 100 levels
    return thumb


def test_schedule_reads_a_new_shot_at_once_and_a_changed_picture_every_n_seconds():
    schedule = OcrSchedule(every_ms=1000, change=0.002, cut=20.0)
    assert schedule.due(0, _thumb(100))  # the first frame
    schedule.read(0, _thumb(100))
    assert not schedule.due(400, _thumb(100, changed=500))  # changed, but too soon
    assert schedule.due(400, _thumb(150))  # a new shot: at once
    assert not schedule.due(1500, _thumb(110))  # late enough, only a faint overall change
    assert not schedule.due(1500, _thumb(100, changed=20))  # 20 pixels: noise, not text
    assert schedule.due(1500, _thumb(100, changed=40))  # late enough and changed


def test_a_small_caption_counts_as_a_change_and_noise_does_not():
    rng = np.random.default_rng(1)
    shot = rng.integers(60, 120, (360, 640, 3)).astype(np.uint8)
    noisy = np.clip(shot + rng.normal(0, 4, shot.shape), 0, 255).astype(np.uint8)
    captioned = shot.copy()
    cv2.putText(captioned, "EXIT 4", (40, 330), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255,) * 3, 2)
    schedule = OcrSchedule(every_ms=0, change=0.002, cut=20.0)
    schedule.read(0, thumbnail(shot))
    assert not schedule.due(100, thumbnail(noisy))
    assert schedule.due(100, thumbnail(captioned))


class _FakeReader:
    def __init__(self) -> None:
        self.calls = 0

    def read(self, image):
        from app.adapters.pipeline.models.ocr import TextLine

        self.calls += 1
        return [
            TextLine("EXIT", 0.9, (10, 10, 80, 30), np.zeros((4, 2))),
            TextLine("tiny", 0.9, (10, 60, 20, 6), np.zeros((4, 2))),
        ]


def test_the_step_carries_its_lines_between_readings_and_drops_short_ones():
    step = TextStep(every_s=1.0, min_height=10)
    step.reader = _FakeReader()
    image = np.full((120, 160, 3), 80, np.uint8)
    frames = [Frame(i, i * 200, image) for i in range(8)]  # 1.4 s of a still picture
    for frame in frames:
        step.process(frame)
    assert step.reader.calls == 1  # nothing changed: one reading
    assert all(
        [(d.label, d.text) for d in f.detections or []] == [("text", "EXIT")] for f in frames
    )
    assert [d.carried for f in frames for d in f.detections or []] == [False] + [True] * 7


def _line(text: str, box: list[int], carried: bool = False) -> Detection:
    return Detection("text", box, 0.9, text=text, carried=carried)


def test_same_text_in_the_same_place_is_one_track_and_a_new_caption_another():
    ids = iter(range(1, 100))
    tracker = TextTracker(lambda: next(ids), max_gap_ms=3000)
    first = [_line("EXIT", [10, 10, 80, 30]), _line("Gate 4", [10, 100, 90, 30])]
    tracker.update(first, 0)
    again = [_line("exit", [12, 11, 80, 30], carried=True), _line("Gate 4", [300, 100, 90, 30])]
    tracker.update(again, 500)
    misread = [_line("EXlT", [11, 10, 80, 30])]
    ended = tracker.update(misread, 1000)
    assert [d.track_id for d in first] == [1, 2]
    assert again[0].track_id == 1  # same text (case aside), same place
    assert again[1].track_id == 3  # same text elsewhere: another sign
    assert misread[0].track_id == 1 and ended == []  # one letter misread
    other = [_line("Platform 9", [10, 10, 80, 30])]
    tracker.update(other, 1200)
    assert other[0].track_id == 4  # another caption where EXIT was
    assert tracker.update([], 6000) == [1, 2, 3, 4]  # gone longer than the gap


def test_text_ids_are_shared_with_the_object_tracker_and_end_at_a_cut():
    _shots, tracking, text, _persons = tracking_stages("objects_text", AnalysisOptions())
    assert isinstance(text, TextTrackStage)
    frame = Frame(0, 0, np.zeros((240, 320, 3), np.uint8))
    frame.detections = [Detection("person", [50, 50, 40, 80], 0.9), _line("EXIT", [10, 10, 80, 30])]
    tracking.process(frame)
    text.process(frame)
    person, line = frame.detections
    assert person.track_id == 1 and line.track_id == 2
    cut = Frame(1, 40, frame.image, shot=1)
    cut.detections = []
    tracking.process(cut)
    text.process(cut)
    assert cut.ended_tracks == [1, 2]


def test_summary_texts_group_readings_with_their_tracks_and_times():
    builder = TextsBuilder()
    builder.add(0, [Detection("text", [0, 0, 5, 5], text="EXIT", track_id=3)])
    builder.add(500, [Detection("text", [0, 0, 5, 5], text="EXIT ", track_id=7)])
    builder.add(900, [Detection("qr", [0, 0, 5, 5], text="EXIT"), _line("Gate  4", [0, 0, 5, 5])])
    assert builder.texts() == [
        {"text": "EXIT", "track_ids": [3, 7], "start_ms": 0, "end_ms": 500},
        {"text": "Gate 4", "track_ids": [], "start_ms": 900, "end_ms": 900},
    ]
    assert text_key(" Gate\t4 ") == "gate 4"


def test_a_text_tracks_cue_shows_what_it_reads_escaped():
    track = TrackTotals(5, "text", 0, 0, end_ms=1000, text="<b>EXIT</b>\x1b[31m")
    assert vtt_cue(track).splitlines()[2] == "text #5: &lt;b&gt;EXIT&lt;/b&gt;"


def test_the_models_read_a_rendered_word():
    image = np.full((240, 640, 3), 255, np.uint8)
    cv2.putText(image, "EXIT 42", (60, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (0, 0, 0), 8)
    lines = TextReader(threads=1).read(image)
    assert [line.text for line in lines] == ["EXIT 42"]
    x, y, w, h = lines[0].box
    (tw, th), _ = cv2.getTextSize("EXIT 42", cv2.FONT_HERSHEY_SIMPLEX, 3, 8)
    assert x <= 60 and y <= 150 - th and x + w >= 60 + tw and y + h >= 150


def test_a_picture_sized_one_letter_reading_is_a_texture_not_text(monkeypatch):
    reader = TextReader(min_score=0.5)
    whole = np.array([[0, 0], [199, 0], [199, 99], [0, 99]], np.float32)
    word = np.array([[10, 10], [90, 10], [90, 40], [10, 40]], np.float32)
    monkeypatch.setattr(reader, "detect", lambda image: [(whole, 0.9), (word, 0.9)])
    monkeypatch.setattr(reader, "recognise", lambda crops: [("g", 0.79), ("OK", 0.95)])
    lines = reader.read(np.zeros((100, 200, 3), np.uint8))
    assert [line.text for line in lines] == ["OK"]


def test_the_cli_summary_lists_texts_without_terminal_escapes():
    from app.cli.reports import summary_lines

    text = {"text": "EXIT\x1b[2J now", "track_ids": [4], "start_ms": 0, "end_ms": 1500}
    summary = {"texts": [text]}
    lines = summary_lines(summary)
    assert "TEXTS (1)" in lines
    assert lines[-1].split() == ["0:00.000", "0:01.500", "#4", "EXIT", "now"]
    assert summary_lines({"texts": []})[-1].startswith("TRACK")  # no section without texts
