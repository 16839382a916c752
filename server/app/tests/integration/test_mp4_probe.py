"""The header-only MP4 probe on real OpenCV clips and on MP4s synthesized box by box."""

from __future__ import annotations

import struct
from array import array
from pathlib import Path

import cv2
import pytest

from app.adapters.media import mp4_boxes, mp4_probe
from app.adapters.media.mp4_probe import keyframe_at_or_before, probe_mp4
from app.domain.errors import InvalidUpload
from app.testing import mp4_synth as s
from app.tests.fixtures.videos import make_moving_box_mp4

pytestmark = pytest.mark.integration


def _top_level_kinds(path: Path) -> list[str]:
    data, kinds, pos = path.read_bytes(), [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        kinds.append(kind.decode())
        pos += size
    return kinds


def test_opencv_clip_matches_what_opencv_reads(tmp_path: Path) -> None:
    path = make_moving_box_mp4(tmp_path / "box.mp4", count=40, width=176, height=144)
    assert _top_level_kinds(path).index("mdat") < _top_level_kinds(path).index("moov")
    video = probe_mp4(path).video
    capture = cv2.VideoCapture(str(path))
    try:
        assert video is not None
        assert (video.width, video.height) == (176, 144)
        assert video.frame_count == int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
        assert video.duration_s == pytest.approx(40 / 25.0, abs=0.05)
    finally:
        capture.release()
    assert video.codec == "mp4v"
    assert video.sync_samples is not None and video.sync_samples.typecode == "I"
    assert video.sync_samples[0] == 0
    assert list(video.sync_samples) == sorted(video.sync_samples)
    assert all(0 <= k < 40 for k in video.sync_samples)
    assert keyframe_at_or_before(video, 39) == video.sync_samples[-1]


def test_faststart_video_with_a_huge_declared_frame(tmp_path: Path) -> None:
    trak = s.video_trak(16000, 16000, frames=6, timescale=600, duration=3600, sync=[1, 4])
    info = probe_mp4(s.faststart_mp4(tmp_path / "big.mp4", trak))
    assert info.has_audio is False
    video = info.video
    assert video is not None
    assert (video.width, video.height, video.frame_count) == (16000, 16000, 6)
    assert video.duration_s == pytest.approx(6.0)
    assert video.timescale == 600
    assert video.codec == "avc1"
    assert list(video.sync_samples or []) == [0, 3]


def test_audio_only_has_no_video(tmp_path: Path) -> None:
    info = probe_mp4(s.faststart_mp4(tmp_path / "audio.mp4", s.audio_trak()))
    assert info.video is None
    assert info.has_audio is True


def test_picks_the_video_track_among_several(tmp_path: Path) -> None:
    path = s.faststart_mp4(
        tmp_path / "av.mp4", s.audio_trak(1), s.video_trak(640, 360, frames=50, track_id=2)
    )
    info = probe_mp4(path)
    assert info.has_audio is True
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.frame_count) == (640, 360, 50)
    assert info.video.sync_samples is None  # no stss: every sample is a keyframe
    assert keyframe_at_or_before(info.video, 17) == 17


def test_64_bit_sizes_size_zero_and_version_1_headers(tmp_path: Path) -> None:
    trak = s.video_trak(64, 48, frames=250, timescale=90000, version=1, compact=True)
    data = s.ftyp() + s.large_box("moov", s.mvhd(), trak) + s.large_box("free", bytes(8))
    mdat_to_end = struct.pack(">I4s", 0, b"mdat") + bytes(100)
    path = tmp_path / "v1.mp4"
    path.write_bytes(data + mdat_to_end)
    video = probe_mp4(path).video
    assert video is not None
    assert (video.width, video.height, video.frame_count) == (64, 48, 250)
    assert video.duration_s == pytest.approx(10.0)


def test_fragmented_counts_samples_and_keyframes_from_trun(tmp_path: Path) -> None:
    trak = s.video_trak(320, 240, frames=0, timescale=1000, duration=0)
    moov = s.box("moov", s.mvhd(), trak, s.box("mvex", s.trex(1)))
    first = [(40, True)] + [(40, False)] * 9
    second = [(40, False)] * 5 + [(40, True)] + [(40, False)] * 4
    path = s.write(
        tmp_path / "frag.mp4",
        s.ftyp(),
        moov,
        s.moof(1, first, 1),
        s.box("mdat", bytes(10)),
        s.moof(1, second, 2),
        s.box("mdat", bytes(10)),
    )
    video = probe_mp4(path).video
    assert video is not None
    assert video.frame_count == 20
    assert video.duration_s == pytest.approx(0.8)
    assert list(video.sync_samples or []) == [0, 15]
    assert keyframe_at_or_before(video, 14) == 0
    assert keyframe_at_or_before(video, 19) == 15


def test_fragmented_without_fragments_declares_no_count(tmp_path: Path) -> None:
    trak = s.video_trak(320, 240, frames=0, timescale=1000, duration=0)
    moov = s.box("moov", s.mvhd(), trak, s.box("mvex", s.trex(1)))
    video = probe_mp4(s.write(tmp_path / "empty.mp4", s.ftyp(), moov)).video
    assert video is not None
    assert video.frame_count is None
    assert video.duration_s is None


def test_truncated_mdat_still_has_a_header(tmp_path: Path) -> None:
    path = s.faststart_mp4(tmp_path / "cut.mp4", s.video_trak(frames=100), mdat_bytes=5000)
    path.write_bytes(path.read_bytes()[:-3000])
    video = probe_mp4(path).video
    assert video is not None and video.frame_count == 100


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty", b"", "ftyp"),
        ("random", b"\x13\x37" * 50, "ftyp"),
        ("no_moov", s.ftyp() + s.box("mdat", bytes(50)), "moov"),
        ("moov_cut", s.ftyp() + s.box("moov", s.mvhd(), s.video_trak())[:-20], "moov"),
        ("child_past_parent", s.ftyp() + s.box("moov", struct.pack(">I4s", 9999, b"trak")), ""),
        ("size_under_header", s.ftyp() + struct.pack(">I4s", 3, b"moov"), "header"),
    ],
)
def test_unparseable_headers_are_invalid_uploads(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(content)
    with pytest.raises(InvalidUpload, match="header cannot be read") as caught:
        probe_mp4(path)
    assert words in str(caught.value)


def test_keyframe_table_larger_than_its_box_is_refused(tmp_path: Path) -> None:
    liar = s.full("stss", 0, 0, struct.pack(">I", 1_000_000), struct.pack(">I", 1))
    tables = s.box("stbl", s.full("stsz", 0, 0, struct.pack(">II", 1, 10)), liar)
    trak = s.box(
        "trak",
        s.tkhd(1, 16, 16),
        s.box("mdia", s.mdhd(25, 10), s.hdlr("vide"), s.box("minf", tables)),
    )
    with pytest.raises(InvalidUpload, match="stss"):
        probe_mp4(s.faststart_mp4(tmp_path / "liar.mp4", trak))


def test_a_million_keyframes_are_kept_as_uint32(tmp_path: Path) -> None:
    count = 1_000_000
    trak = s.video_trak(16, 16, frames=count, sync=range(1, count + 1, 1))
    video = probe_mp4(s.faststart_mp4(tmp_path / "many.mp4", trak)).video
    assert video is not None
    assert isinstance(video.sync_samples, array)
    assert video.sync_samples.itemsize == 4
    assert len(video.sync_samples) == count
    assert keyframe_at_or_before(video, 999_999) == 999_999


def test_keyframe_before_the_first_one_is_frame_zero(tmp_path: Path) -> None:
    trak = s.video_trak(frames=30, sync=[5, 20])
    video = probe_mp4(s.faststart_mp4(tmp_path / "late.mp4", trak)).video
    assert video is not None
    assert keyframe_at_or_before(video, 2) == 0
    assert keyframe_at_or_before(video, 4) == 4
    assert keyframe_at_or_before(video, 18) == 4
    assert keyframe_at_or_before(video, 19) == 19
    with pytest.raises(ValueError):
        keyframe_at_or_before(video, -1)


def test_without_keyframes_the_table_is_not_read(tmp_path: Path) -> None:
    trak = s.video_trak(640, 360, frames=300, sync=range(1, 301, 30))
    path = s.faststart_mp4(tmp_path / "plain.mp4", trak)
    full, bare = probe_mp4(path).video, probe_mp4(path, keyframes=False).video
    assert full is not None and bare is not None
    assert len(full.sync_samples or []) == 10
    assert bare.sync_samples is None
    assert (bare.width, bare.height, bare.frame_count) == (640, 360, 300)
    assert bare.duration_s == full.duration_s


def test_an_unsorted_keyframe_table_is_sorted(tmp_path: Path) -> None:
    trak = s.video_trak(frames=50, sync=[31, 1, 11, 11, 0])
    video = probe_mp4(s.faststart_mp4(tmp_path / "unsorted.mp4", trak)).video
    assert video is not None
    assert list(video.sync_samples or []) == [0, 10, 30]  # 0 is not a sample number


def test_a_file_of_countless_tiny_boxes_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(mp4_boxes, "MAX_BOXES", 1000)
    moov = s.box("moov", s.mvhd(), s.video_trak())
    fine = s.write(tmp_path / "fine.mp4", s.ftyp(), s.box("free", b"") * 900, moov)
    assert probe_mp4(fine).video is not None
    bomb = s.write(tmp_path / "bomb.mp4", s.ftyp(), s.box("free", b"") * 1000, moov)
    with pytest.raises(InvalidUpload, match="more than 1000 boxes"):
        probe_mp4(bomb)


def test_the_cached_probe_reads_a_header_once_until_the_file_changes(tmp_path, monkeypatch):
    path = s.faststart_mp4(tmp_path / "cached.mp4", s.video_trak(64, 48))
    reads: list[str] = []
    real = mp4_probe.probe_mp4
    monkeypatch.setattr(mp4_probe, "probe_mp4", lambda p: reads.append(p) or real(p))
    first = mp4_probe.probe_mp4_cached(path)
    assert mp4_probe.probe_mp4_cached(path) is first
    assert len(reads) == 1
    path.write_bytes(path.read_bytes() + s.box("free", b"0" * 8))  # changed: size differs
    assert mp4_probe.probe_mp4_cached(path) is not first
    assert len(reads) == 2
