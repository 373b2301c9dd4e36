"""One method's run in a fresh process; prints one JSON line: peak RSS and the baseline before it.

``python -m bench.memory_child METHOD STEPS``
"""

from __future__ import annotations

import json
import sys


def main(method: str, steps: int) -> None:
    import torch  # noqa: F401  (the baseline includes the libraries a run needs)
    import transformers  # noqa: F401

    from app.config import get_settings
    from app.training.loop import TrainingRun
    from app.training.memory import peak_rss_bytes
    from app.training.models import ModelCache
    from app.training.train_config import TrainConfig

    baseline = peak_rss_bytes()
    config = TrainConfig(model="smollm2-135m", method=method, task="tone", steps=steps, max_new_tokens=4)
    run = TrainingRun(config, cache=ModelCache(get_settings().model_dir, "cpu"))
    last = None
    for event in run.events():
        last = event
    peak = peak_rss_bytes()
    print(
        json.dumps(
            {
                "method": method,
                "baseline_bytes": baseline,
                "peak_bytes": peak,
                "result": last.type if last else None,
                "resolved": run.resolved.model_dump() if run.resolved else None,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
