"""The annotated video keeps the upload's sound: the audio packets are the source's own,
from the first analysed frame on, and the two tracks end together."""

from __future__ import annotations

import shutil
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import pytest

from app.adapters.exports import export_sinks
from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.tracking import tracking_stages
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import abort_sinks, close_sinks
from app.domain.model import Job, input_key
from app.domain.options import AnalysisOptions
from app.domain.results_writer import ResultsWriter

pytestmark = pytest.mark.integration
FPS = 25
SECONDS = 4
RATE = 48_000


def write_clip_with_tone(path: Path, audio_codec: Literal["aac", "pcm_s16le"] = "aac") -> Path:
    """4 s of a moving square at 25 fps with a 440 Hz tone."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream(audio_codec, rate=RATE)
        audio.layout = "mono"
        sample_format = "fltp" if audio_codec == "aac" else "s16"
        for i in range(FPS * SECONDS):
            image = np.full((240, 320, 3), 40, np.uint8)
            image[100:140, 8 * i % 280 : 8 * i % 280 + 40] = 230
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in video.encode(frame):
                container.mux(packet)
        samples_per_frame = 1024
        for start in range(0, RATE * SECONDS, samples_per_frame):
            t = np.arange(start, start + samples_per_frame) / RATE
            tone = (0.3 * np.sin(2 * np.pi * 440 * t))[None, :]
            if sample_format == "s16":
                tone = tone * 32767
            tone = tone.astype(np.float32 if sample_format == "fltp" else np.int16)
            sound = av.AudioFrame.from_ndarray(tone, format=sample_format, layout="mono")
            sound.sample_rate, sound.pts = RATE, start
            for packet in audio.encode(sound):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    return path


def annotate(clip: Path, root: Path, options: AnalysisOptions) -> Path:
    """Run a job on `clip` stored as a real upload; returns its annotated video."""
    storage = FilesystemStorage(root / "video_jobs", root)
    job = Job(job_id=uuid.uuid4(), pipeline_id="motion", input_path="x.mp4")
    source = storage.local_path(input_key(job.job_id))
    shutil.copyfile(clip, source)
    runner = VideoFilePipelineService(PipelineCatalog.load(None), stages=tracking_stages)
    sinks = [ResultsWriter(storage, job), *export_sinks(storage, job, options)]
    try:
        analysis = runner.run(source, "motion", options=options, sinks=sinks)
        close_sinks(sinks, analysis.video, analysis.warnings)
    except BaseException:
        abort_sinks(sinks)
        raise
    return Path(storage.local_path(EXPORT_BY_NAME["annotated.mp4"].key(job.job_id)))


def audio_packets(path: Path) -> list[tuple[float, bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        time_base = stream.time_base
        assert time_base is not None
        return [
            (float(p.pts * time_base), bytes(p))
            for p in container.demux(stream)
            if p.size and p.pts is not None
        ]


def seconds(stream: av.stream.Stream) -> float:
    assert stream.duration is not None and stream.time_base is not None
    return float(stream.duration * stream.time_base)


def durations(path: Path) -> dict[str, float]:
    with av.open(str(path)) as container:
        return {s.type: seconds(s) for s in container.streams if s.type in ("video", "audio")}


@pytest.fixture(scope="module")
def toned_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip_with_tone(tmp_path_factory.mktemp("tone") / "tone.mp4")


def test_the_annotated_video_carries_the_source_audio_unchanged(toned_clip, tmp_path) -> None:
    video = annotate(toned_clip, tmp_path, AnalysisOptions(annotate=True))
    with av.open(str(video)) as container:
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
    # The encoder's priming packet (before time 0) has no frame to go with.
    source = [payload for t, payload in audio_packets(toned_clip) if t >= 0]
    copied = [payload for _, payload in audio_packets(video)]
    assert copied == source[: len(copied)] and len(copied) >= len(source) - 1  # not re-encoded
    lengths = durations(video)
    assert abs(lengths["audio"] - lengths["video"]) < 0.1


def test_a_range_keeps_the_sound_of_that_range_from_time_zero(toned_clip, tmp_path) -> None:
    video = annotate(toned_clip, tmp_path, AnalysisOptions(start_s=1.0, end_s=3.0, annotate=True))
    source = audio_packets(toned_clip)
    copied = audio_packets(video)
    first_source = next(i for i, (t, _) in enumerate(source) if t >= 1.0)
    assert copied[0][0] < 0.03
    expected = source[first_source : first_source + len(copied)]
    assert [p for _, p in copied] == [p for _, p in expected]
    lengths = durations(video)
    assert 1.9 < lengths["video"] < 2.1 and abs(lengths["audio"] - lengths["video"]) < 0.1


def test_a_clip_without_sound_gives_a_silent_annotated_video(clip_path, tmp_path) -> None:
    video = annotate(clip_path, tmp_path, AnalysisOptions(annotate=True))
    with av.open(str(video)) as container:
        assert len(container.streams.video) == 1 and not container.streams.audio


def test_sound_mp4_cannot_hold_as_it_is_is_left_out_and_the_job_completes(tmp_path) -> None:
    mov = write_clip_with_tone(tmp_path / "phone.mov", audio_codec="pcm_s16le")
    with av.open(str(mov)) as container:
        assert container.streams.audio[0].codec_context.name == "pcm_s16le"
    video = annotate(mov, tmp_path, AnalysisOptions(annotate=True))
    with av.open(str(video)) as container:
        assert len(container.streams.video) == 1 and not container.streams.audio
