"""The adapter download: PEFT's two files, zipped in memory."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def adapter_zip(directory: Path) -> bytes:
    """A zip of the adapter files at its top level, ready for ``PeftModel.from_pretrained(base, dir)``."""
    missing = [name for name in ADAPTER_FILES if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"adapter files missing: {', '.join(missing)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ADAPTER_FILES:
            archive.write(directory / name, arcname=name)
    return buffer.getvalue()
