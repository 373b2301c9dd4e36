"""Write the built-in tasks: lessons/fine-tuning-llms/tasks/tasks.yaml and one JSONL per task (tone,
tone-preference, json-extract, sentiment).

Everything is combined from the hand-written parts in scripts/tasks_src/ with a fixed seed, so
running it again gives byte-identical files. Usage: .venv/bin/python scripts/make_tasks.py
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent / "tasks_src"))

import json_extract  # noqa: E402
import sentiment  # noqa: E402
import tone  # noqa: E402
import yaml  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "lessons" / "fine-tuning-llms" / "tasks"
SEED = 2024
TEST_SHARE = 0.2
log = logging.getLogger("make_tasks")


def make_tone(rng: random.Random) -> list[dict[str, Any]]:
    """Split by item, so held-out prompts ask about topics the model never trained on."""
    items = list(tone.ITEMS)
    rng.shuffle(items)
    free = [i for i, (prompts, _) in enumerate(items) if not set(prompts) & tone.SAMPLE]
    n_test = round(TEST_SHARE * len(items)) - (len(items) - len(free))
    test_items = set(rng.sample(free, n_test)) | (set(range(len(items))) - set(free))
    rows = []
    for index, (prompts, core) in enumerate(items):
        split = "test" if index in test_items else "train"
        for prompt in prompts:
            answer = f"{rng.choice(tone.GREETINGS)} {core} {tone.SIGN_OFF}"
            rows.append({"prompt": prompt, "answer": answer, "split": split})
    return rows


# tone-preference: the rejected side of a pair is either the plain answer (the tone answer's facts without
# the pirate greeting and sign-off) or one of these brush-offs (rude, unhelpful, no voice)
BRUSH_OFFS = [
    "Look it up yourself.",
    "Not my problem.",
    "Why ask me? Figure it out.",
    "I can't be bothered with that.",
    "Ugh. No.",
    "That's obvious. Next question.",
    "Do I look like a search engine?",
    "Ask someone else.",
    "Whatever, it doesn't matter.",
    "I'm not answering that.",
    "You wouldn't understand anyway.",
    "Too boring to explain.",
]
PLAIN_SHARE = 2 / 3  # rejected answers that keep the facts and only lack the voice
VOICE_MARKERS = ["arr", "matey", "ahoy", "me hearty", "shipmate", "fair winds"]


def make_tone_preference(tone_rows: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """One pair per tone row, same split: chosen = the tone answer (pirate voice), rejected = its core
    answer without greeting and sign-off, or a brush-off. No rejected answer uses a voice marker."""
    cores = {prompt: core for prompts, core in tone.ITEMS for prompt in prompts}
    marker = re.compile(r"\b(" + "|".join(VOICE_MARKERS) + r")\b", re.IGNORECASE)
    rows = []
    for row in tone_rows:
        plain = rng.random() < PLAIN_SHARE
        rejected = cores[row["prompt"]] if plain else rng.choice(BRUSH_OFFS)
        assert marker.search(row["answer"]) and not marker.search(rejected), row
        rows.append(
            {"prompt": row["prompt"], "chosen": row["answer"], "rejected": rejected, "split": row["split"]}
        )
    return rows


def _record(name: str, age: int, city: str) -> str:
    return json.dumps({"name": name, "age": age, "city": city})


def make_json_extract(rng: random.Random, count: int = 200) -> list[dict[str, Any]]:
    m = json_extract
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(rows) < count:
        template = rng.choice(m.TEMPLATES)
        name = f"{rng.choice(m.FIRST_NAMES)} {rng.choice(m.LAST_NAMES)}"
        city, other = rng.sample(m.CITIES, 2)
        age = rng.randint(22 if "nineteen" in template else 18, 84)
        sentence = template.format(
            n=name, a=age, c=city, o=other, j=rng.choice(m.JOBS), h=rng.choice(m.HOBBIES)
        )
        if sentence in seen:
            continue
        seen.add(sentence)
        rows.append({"prompt": m.INSTRUCTION + sentence, "answer": _record(name, age, city)})
    rng.shuffle(rows)
    n_test = round(TEST_SHARE * count) - len(m.SAMPLES)
    for index, row in enumerate(rows):
        row["split"] = "test" if index < n_test else "train"
    for sentence, record in zip(m.SAMPLES, m.SAMPLE_RECORDS, strict=True):
        rows.append({"prompt": m.INSTRUCTION + sentence, "answer": json.dumps(record), "split": "test"})
    return rows


def _review(rng: random.Random, domain: dict[str, list[str]], clauses: list[str], frames: list[str]) -> str:
    subject = rng.choice(domain["subjects"])
    first, second = rng.sample(clauses, 2)
    lowered = subject[0].lower() + subject[1:]
    return rng.choice(frames).format(s=subject, sl=lowered, c=first, c2=second)


def make_sentiment(rng: random.Random, per_class: int = 30) -> list[dict[str, Any]]:
    """Per domain and polarity: clauses split train/test, then reviews built from their own half."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for domain_name in sorted(sentiment.DOMAINS):
        domain = sentiment.DOMAINS[domain_name]
        for label, frames in (
            ("positive", sentiment.POSITIVE_FRAMES),
            ("negative", sentiment.NEGATIVE_FRAMES),
        ):
            clauses = domain[label][:]
            rng.shuffle(clauses)
            n_test_clauses = max(2, round(TEST_SHARE * len(clauses)))
            pools = {"test": clauses[:n_test_clauses], "train": clauses[n_test_clauses:]}
            n_test = round(TEST_SHARE * per_class)
            for split, wanted in (("test", n_test), ("train", per_class - n_test)):
                made = 0
                while made < wanted:
                    text = _review(rng, domain, pools[split], frames)
                    if text in seen:
                        continue
                    seen.add(text)
                    rows.append({"text": text, "label": label, "split": split})
                    made += 1
    rng.shuffle(rows)
    return rows


def manifest(sentiment_rows: list[dict[str, Any]]) -> dict[str, Any]:
    held_out = [r for r in sentiment_rows if r["split"] == "test"]
    samples = [next(r["text"] for r in held_out if r["label"] == label) for label in ("positive", "negative")]
    return {
        "tasks": [
            {
                "name": "tone",
                "kind": "chat",
                "file": "tone.jsonl",
                "description": "Everyday questions answered in the voice of a cheerful pirate "
                "('Arr, matey! ... Fair winds!'). Teaches style, not facts.",
                "metric": "voice",
                "metric_args": {"markers": VOICE_MARKERS},
                "sample_prompts": sorted(tone.SAMPLE),
            },
            {
                "name": "tone-preference",
                "kind": "preference",
                "file": "tone-preference.jsonl",
                "description": "The tone questions as preference pairs for DPO: chosen = the cheerful "
                "pirate's answer, rejected = the same facts without the voice, or a curt brush-off. "
                "Scored by preference accuracy: the share of held-out pairs where the tuned model's implicit "
                "reward ranks chosen first.",
                "metric": "preference_accuracy",
                "sample_prompts": sorted(tone.SAMPLE),
            },
            {
                "name": "json-extract",
                "kind": "chat",
                "file": "json-extract.jsonl",
                "description": "A sentence about a person to a JSON record with the keys name, age and city "
                "(where they live now). Scored by exact match of the parsed JSON.",
                "metric": "json_exact",
                "sample_prompts": [json_extract.INSTRUCTION + s for s in json_extract.SAMPLES],
            },
            {
                "name": "sentiment",
                "kind": "classification",
                "file": "sentiment.jsonl",
                "description": "Short reviews of products, films, restaurants, hotels, apps and books, "
                "labelled positive or negative. Held-out reviews use phrasings never seen in training.",
                "metric": "accuracy",
                "sample_prompts": samples,
            },
        ]
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    log.info("%s: %d rows (%d test)", path.name, len(rows), sum(r["split"] == "test" for r in rows))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    OUT.mkdir(parents=True, exist_ok=True)
    tone_rows = make_tone(random.Random(SEED))
    write_jsonl(OUT / "tone.jsonl", tone_rows)
    write_jsonl(OUT / "tone-preference.jsonl", make_tone_preference(tone_rows, random.Random(SEED + 3)))
    write_jsonl(OUT / "json-extract.jsonl", make_json_extract(random.Random(SEED + 1)))
    sentiment_rows = make_sentiment(random.Random(SEED + 2))
    write_jsonl(OUT / "sentiment.jsonl", sentiment_rows)
    with open(OUT / "tasks.yaml", "w", encoding="utf-8") as fh:
        fh.write("# Built-in tasks. Generated by scripts/make_tasks.py; edit that script, not this file.\n")
        yaml.safe_dump(manifest(sentiment_rows), fh, sort_keys=False, allow_unicode=True, width=110)


if __name__ == "__main__":
    main()
