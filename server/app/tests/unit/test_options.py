"""Analysis options from the text a client sends: parsed, or refused with a sentence
naming the field (contract "Analysis options")."""

from __future__ import annotations

import pytest

from app.domain.errors import InvalidOptions, UnknownPipeline
from app.domain.options import (
    MAX_FILENAME_CHARS,
    MAX_LABELS,
    MAX_LABELS_TEXT,
    AnalysisOptions,
    check_labels,
    display_filename,
    merge_sources,
    parse_options,
    parse_tag,
)
from app.domain.ports import PipelineInfo
from app.domain.services import submit_video
from app.tests.unit.conftest import MP4_BYTES, FakeRunner

pytestmark = pytest.mark.unit


def test_every_option_is_parsed_from_text():
    options = parse_options(
        {
            "sample_fps": "2.5",
            "start_s": "1",
            "end_s": "9.5",
            "min_confidence": "0.4",
            "labels": " person, car ,person,,dog",
            "annotate": "TRUE",
        }
    )
    assert options == AnalysisOptions(
        sample_fps=2.5,
        start_s=1.0,
        end_s=9.5,
        min_confidence=0.4,
        labels=("person", "car", "dog"),
        annotate=True,
    )
    assert options.to_dict()["labels"] == ["person", "car", "dog"]
    assert AnalysisOptions.from_dict(options.to_dict()) == options


def test_no_option_and_empty_fields_mean_the_defaults():
    assert parse_options({}) == AnalysisOptions()
    blank = dict.fromkeys(("sample_fps", "start_s", "end_s", "labels", "annotate"), "")
    assert parse_options(blank) == AnalysisOptions()
    assert parse_options({"annotate": "false"}).annotate is False
    assert parse_options({"start_s": "0"}).start_s == 0.0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"sample_fps": "0"}, ["sample_fps", "> 0"]),
        ({"sample_fps": "-1"}, ["sample_fps", "> 0"]),
        ({"sample_fps": "fast"}, ["sample_fps", "number", "'fast'"]),
        ({"sample_fps": "nan"}, ["sample_fps", "finite"]),
        ({"sample_fps": "inf"}, ["sample_fps", "finite"]),
        ({"start_s": "-0.5"}, ["start_s", ">= 0"]),
        ({"start_s": "5", "end_s": "5"}, ["end_s (5)", "greater than start_s (5)"]),
        ({"start_s": "6", "end_s": "2"}, ["end_s", "start_s"]),
        ({"end_s": "0"}, ["end_s", "> 0"]),
        ({"min_confidence": "1.5"}, ["min_confidence", "between 0 and 1"]),
        ({"min_confidence": "-0.1"}, ["min_confidence", ">= 0"]),
        ({"annotate": "maybe"}, ["annotate", "true or false", "'maybe'"]),
        ({"labels": "x" * 65}, ["label", "64"]),
        ({"sample_fps": "1e308"}, ["sample_fps", "between 0 and 1000", "1e+308"]),
        ({"sample_fps": "1001"}, ["sample_fps", "between 0 and 1000"]),
        ({"start_s": "1e300"}, ["start_s", "between 0 and 864000"]),
        ({"end_s": "864001"}, ["end_s", "between 0 and 864000"]),
        ({"sample_fps": "1" * 65}, ["sample_fps", "65 characters", "at most 64"]),
        ({"labels": ",".join(f"l{i}" for i in range(17_376))}, ["labels is", "at most 6600"]),
        ({"labels": ",".join(f"l{i}" for i in range(101))}, ["101", "at most 100"]),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(raw, words):
    with pytest.raises(InvalidOptions) as caught:
        parse_options(raw)
    for word in words:
        assert word in str(caught.value)


def test_the_largest_values_accepted_are_the_bounds():
    options = parse_options(
        {"sample_fps": "1000", "start_s": "0", "end_s": "864000", "min_confidence": "1"}
    )
    assert (options.sample_fps, options.end_s, options.min_confidence) == (1000, 864000, 1)
    longest = ", ".join(f"{i:02d}" + "x" * 62 for i in range(MAX_LABELS))
    assert len(longest) <= MAX_LABELS_TEXT
    assert len(parse_options({"labels": longest}).labels or ()) == MAX_LABELS


def test_repeated_labels_count_once_and_keep_their_order():
    text = ",".join(["car", "person"] * 3000)  # 6,000 labels, 2 distinct: within the cap
    assert parse_options({"labels": text[:MAX_LABELS_TEXT]}).labels == ("car", "person")


def test_a_huge_bad_value_is_not_echoed_whole():
    with pytest.raises(InvalidOptions) as caught:
        parse_options({"sample_fps": "9" * 10 + "x" * 100_000})
    assert len(str(caught.value)) < 200


def test_form_and_query_values_merge_and_must_agree():
    assert merge_sources({"tag": "a", "labels": ""}, {"labels": "car", "other": "x"}) == {
        "tag": "a",
        "labels": "car",
    }
    assert merge_sources({"tag": "same"}, {"tag": "same"}) == {"tag": "same"}
    with pytest.raises(InvalidOptions, match="tag given twice and they differ"):
        merge_sources({"tag": "a"}, {"tag": "b"})


def test_a_tag_is_stripped_and_at_most_256_characters():
    assert parse_tag("  holiday 2026  ") == "holiday 2026"
    assert parse_tag("") is None and parse_tag("   ") is None and parse_tag(None) is None
    assert parse_tag("t" * 256) == "t" * 256
    with pytest.raises(InvalidOptions, match="257 characters; at most 256"):
        parse_tag("t" * 257)
    with pytest.raises(InvalidOptions, match="control characters"):
        parse_tag("two\nlines")


@pytest.mark.parametrize(
    "character", ["\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\x85", "\x9b", "\u2028"]
)
def test_a_tag_with_a_bidirectional_or_c1_control_is_refused(character):
    with pytest.raises(InvalidOptions, match="control characters"):
        parse_tag(f"invoice{character}fdp.exe")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("clip.mp4", "clip.mp4"),
        ("/home/ann/videos/clip.mp4", "clip.mp4"),
        ("C:\\Users\\ann\\clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("we\x00ird\n.mp4", "weird.mp4"),
        ("clip\u202egpj.mp4", "clipgpj.mp4"),
        ("a\u2066b\u2069\u200e.mp4", "ab.mp4"),
        ("c1\x85\x9b[2J.mp4", "c1[2J.mp4"),
        ("caf\u00e9 \u65e5\u672c.mp4", "caf\u00e9 \u65e5\u672c.mp4"),
        ("folder/", None),
        ("", None),
        (None, None),
    ],
)
def test_the_file_name_keeps_only_its_base_name(sent, kept):
    assert display_filename(sent) == kept


def test_a_long_file_name_is_cut_to_255_characters_keeping_its_extension():
    name = display_filename("a" * 400 + ".mp4")
    assert name is not None and len(name) == MAX_FILENAME_CHARS and name.endswith("a.mp4")
    assert len(display_filename("b" * 400) or "") == MAX_FILENAME_CHARS


def test_labels_must_be_ones_the_pipeline_can_emit():
    options = AnalysisOptions(labels=("person", "dgo", "cat"))
    with pytest.raises(InvalidOptions) as caught:
        check_labels(options, "objects", ("person", "dog", "cat"))
    message = str(caught.value)
    assert "'dgo'" in message and "'objects'" in message
    assert "it can emit: person, dog, cat" in message
    check_labels(AnalysisOptions(labels=("person",)), "objects", ("person", "dog"))
    check_labels(options, "quality", ())  # declares none: any label is accepted
    check_labels(AnalysisOptions(), "objects", ("person",))


class LabelledRunner(FakeRunner):
    def pipelines(self) -> list[PipelineInfo]:
        return [PipelineInfo("people", "persons", ("person",)), PipelineInfo("quality", "q")]


def test_submit_stores_options_tag_and_file_name_with_the_job(jobs, queue, storage):
    runner = LabelledRunner()
    options = parse_options({"sample_fps": "1", "labels": "person", "annotate": "true"})
    job = submit_video(
        [MP4_BYTES],
        "people",
        jobs=jobs,
        queue=queue,
        storage=storage,
        runner=runner,
        options=options,
        tag="street",
        filename="clip.mp4",
    )
    stored = jobs.get(job.job_id)
    assert stored is not None
    assert AnalysisOptions.from_dict(stored.options) == options
    assert (stored.tag, stored.filename) == ("street", "clip.mp4")
    assert [j.job_id for j in jobs.list_jobs(tag="street")] == [job.job_id]
    assert jobs.list_jobs(tag="stree") == [] and jobs.count_jobs(tag="street") == 1


def test_submit_refuses_an_unknown_label_before_storing_anything(jobs, queue, storage):
    with pytest.raises(InvalidOptions, match="it can emit: person"):
        submit_video(
            [MP4_BYTES],
            "people",
            jobs=jobs,
            queue=queue,
            storage=storage,
            runner=LabelledRunner(),
            options=AnalysisOptions(labels=("car",)),
        )
    with pytest.raises(UnknownPipeline):
        submit_video(
            [MP4_BYTES], "nope", jobs=jobs, queue=queue, storage=storage, runner=LabelledRunner()
        )
    assert jobs.count_jobs() == 0 and queue.size() == 0
