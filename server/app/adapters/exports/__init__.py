"""Export sinks: files the worker writes as frames finish, streamed later by the API."""

from __future__ import annotations

from app.adapters.exports.annotated_video import AnnotatedVideoSink
from app.adapters.exports.chapters_vtt import ChaptersVttSink
from app.adapters.exports.detections_csv import DetectionsCsvSink
from app.adapters.exports.quality_csv import QualityCsvSink
from app.domain.frames import FrameSink
from app.domain.model import Job, input_key
from app.domain.options import AnalysisOptions
from app.domain.ports import StorageService
from app.domain.summary import SummarySink


def export_sinks(storage: StorageService, job: Job, options: AnalysisOptions) -> list[FrameSink]:
    """A job's exports: summary + WebVTT, chapters and the CSV always, quality values
    when the pipeline has them, the video when asked for."""
    sinks: list[FrameSink] = [SummarySink(storage, job.job_id)]
    try:
        sinks.append(DetectionsCsvSink(storage, job.job_id))
        sinks.append(ChaptersVttSink(storage, job.job_id))
        sinks.append(QualityCsvSink(storage, job.job_id))
        if options.annotate:
            source = storage.local_path(input_key(job.job_id))
            sinks.append(AnnotatedVideoSink(storage, job.job_id, source_path=source))
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    return sinks
