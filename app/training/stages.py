"""The loading stages a run reports (``Loading.stage``) and their words on the page: one table.

The training loop (``app/training/loop.py``) and the model sources (``app/training/loading.py`` and
the model cache) name these stages; the browser reads the words from the page facts (``/api/stages``),
never from a copy of its own.
"""

from __future__ import annotations

STAGE_WORDS: dict[str, str] = {
    "task": "Reading the task",
    "cached": "Finding the model on this server",
    "download": "Fetching the model",
    "unpack": "Unpacking the model",
    "convert": "Converting the model",
    "save": "Saving the model",
    "build": "Building the tiny test model",
    "model": "Loading the model",
    "copying": "Copying the base model's weights",
    "method": "Adding the trainable parts of the method",
    "tokenizer": "Loading the tokenizer",
    "quantising": "Quantising the base to 4 bits",
    "base samples": "Writing the base model's answers (to compare with after training)",
    "step-0 evaluation": "Measuring the held-out loss before training",
    "tuned samples": "Writing the tuned model's answers",
}
