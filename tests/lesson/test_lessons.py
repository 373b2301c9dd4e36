"""Lesson and quiz data: every file parses and validates, sections and widgets line up with the
front end, markdown is escaped, the quiz grades, and every figure the text quotes is the calculator's."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml

from app.lesson import calculators as calc
from app.lesson import content as lessons
from app.lesson.files import FIGURE
from app.lesson.quiz import Choice, Question, QuizAnswerError, balanced_orders
from app.lesson.recorded_runs import LM_METHODS, recorded_runs
from app.lesson.run_figures import METHOD_LABELS

SLUG = "fine-tuning-llms"
FOLDER = lessons.LESSONS_DIR / SLUG
WIDGETS = {"lora-explorer", "memory-calculator", "spectrum-live", "soft-prompt-3d", "trainable-share"}
WIDGETS |= {"live-panel", "compare", "adapter-lab"}
# Byte figures in the prose that cite a paper or a product, not the calculator.
CITED_BYTES = {"80 GB": "NVIDIA H100", "48 GB": "QLoRA paper's card", "3 GB": "QLoRA paper, 65B saving"}
CITED_BYTES |= {
    "141 GB": "NVIDIA H200",
    "192 GB": "AMD MI300X",
    "350 GB": "Hu et al. 2021",
    "35 MB": "Hu et al. 2021",
}


def text_of(section: lessons.Section) -> str:
    """The section as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section.html)).split())


def section(section_id: str) -> lessons.Section:
    return next(s for s in lessons.get_lesson(SLUG).sections if s.id == section_id)


def number(text: str) -> float:
    return float(text.replace(",", ""))


def gb(text: str) -> float:
    value, unit = text.split()
    return float(value) * {"GB": 1e9, "MB": 1e6, "KB": 1e3}[unit]


# --- files ----------------------------------------------------------------------------------------


def test_every_lesson_folder_loads() -> None:
    folders = [p for p in lessons.LESSONS_DIR.iterdir() if (p / "lesson.yaml").is_file()]
    assert [f.name for f in folders] == [x.slug for x in lessons.all_lessons()]
    for folder in folders:
        lesson = lessons.load_lesson(folder)
        lessons.load_quiz(folder, lesson)


def test_sections_follow_the_index_and_place_every_widget_once() -> None:
    index = yaml.safe_load((FOLDER / "lesson.yaml").read_text())
    lesson = lessons.get_lesson(SLUG)
    assert [s.id for s in lesson.sections] == index["sections"]
    assert {p.stem for p in (FOLDER / "sections").glob("*.md")} == set(index["sections"])
    placed = [w for s in lesson.sections for w in s.widgets]
    assert sorted(placed) == sorted(WIDGETS), "each front-end widget belongs to exactly one section"
    for s in lesson.sections:
        assert s.title and s.html.strip() and s.minutes >= 1
        for widget in s.widgets:  # the text tells the student what to do with it
            assert "Try it" in text_of(s) or "figure" in text_of(s), (s.id, widget)


# The seed outline's topics (/work/shared/lesson-outline.txt), each as phrases the core path must hold.
SEED_TOPICS = {
    "a pretrained generalist, briefly trained further": [r"pretrained", r"Fine-tuning continues training"],
    "full fine-tuning: every weight, a small learning rate, epochs": [r"every one of them", r"epochs"],
    "overfitting with small data": [r"overfitting"],
    "a task-specific head": [r"head"],
    "7B cost: 28 GB weights, 56 GB Adam, activations": [r"28 GB", r"56 GB", r"activations"],
    "one full copy per task": [r"copy of the model to store and serve"],
    "LoRA: ΔW = B·A, W frozen, 128× fewer": [r"ΔW = B · A", r"W₀ is frozen", r"128× fewer"],
    "adapters store, swap and stack": [r"Swap", r"Stack", r"Merge"],
    "prompt tuning: learned soft prompt vectors": [r"soft prompt", r"virtual tokens", r"\[P1, P2"],
    "prefix tuning": [r"Prefix tuning"],
    "weaker on small models, fine at 10B+": [r"ten billion parameters"],
    "QLoRA: 4-bit base": [r"QLoRA", r"4 bits"],
    "comparison table with 'use when'": [r"\| use when \||use when"],
    "frozen + classifier head": [r"classifier head"],
    "instruction tuning + RLHF": [r"Instruction tuning", r"RLHF"],
}
CORE_WORD_LIMIT = 3600  # 15 minutes at 238 words a minute, rounded down


def core_text(section: lessons.Section) -> str:
    """The section without its go-deeper folds, as a reader sees it."""
    core = re.sub(r"<details\b.*?</details>", " ", section.html, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", core)).split())


def test_the_core_path_is_fifteen_minutes_and_covers_the_seed() -> None:
    lesson = lessons.get_lesson(SLUG)
    assert lesson.core_words <= CORE_WORD_LIMIT, lesson.core_words
    assert lesson.core_words == sum(s.core_words for s in lesson.sections)
    # the count is of the text outside the folds (the rendered core, recounted, agrees within tables' pipes)
    recounted = sum(lessons.count_words(core_text(s)) for s in lesson.sections)
    assert abs(recounted - lesson.core_words) <= 0.03 * lesson.core_words, (recounted, lesson.core_words)
    assert sum(s.deeper_words for s in lesson.sections) > 1000  # the rest is kept, in folds
    core = " ".join(core_text(s) for s in lesson.sections)
    for topic, patterns in SEED_TOPICS.items():
        for pattern in patterns:
            found = re.search(pattern, core, re.IGNORECASE)
            assert found, f"seed topic {topic!r}: {pattern!r} not in the core path"


def test_folds_are_closed_details_with_unique_ids() -> None:
    ids = []
    for s in lessons.get_lesson(SLUG).sections:
        for match in re.finditer(r"<details([^>]*)>\s*<summary>([^<]+)</summary>", s.html):
            attrs, summary = match.groups()
            assert " open" not in attrs  # closed by default
            assert summary.startswith("Go deeper: ")
            ids.append(re.search(r'id="([^"]+)"', attrs).group(1))
    assert len(ids) >= 8 and len(ids) == len(set(ids)), ids  # one Tab stop each: few and large
    sections = lessons.get_lesson(SLUG).sections
    links = [h for s in sections for h in re.findall(r'href="#([^"]+)"', s.html)]
    assert set(links) <= set(ids) | {s.id for s in sections}, links  # in-page links land somewhere


def test_a_fold_renders_its_markdown_and_escapes_its_title() -> None:
    html_out, core, deeper = lessons.render_with_folds(
        "Core *one*.\n\n::: deeper more <b>\nInner **two** words.\n:::\n\nCore three.", "s"
    )
    assert '<details class="deeper" id="s-deeper-1"><summary>Go deeper: more &lt;b&gt;</summary>' in html_out
    assert "<strong>two</strong>" in html_out and html_out.index("Core three") > html_out.index("</details>")
    assert (core, deeper) == (4, 5)


def test_an_unclosed_fold_is_refused(tmp_path: Path) -> None:
    write_lesson(tmp_path, body="Text.\n\n::: deeper never closed\nmore text\n")
    with pytest.raises(lessons.LessonError, match="unclosed"):
        lessons.load_lesson(tmp_path / "demo")


def test_delta_w_sigma_and_effective_rank_are_defined_in_the_first_section() -> None:
    first = core_text(lessons.get_lesson(SLUG).sections[0])
    for term in ("ΔW", "singular value", "σ₁", "effective rank", "90%"):
        assert term in first, term


def test_reading_time_stays_bounded() -> None:
    # the outline planned 15 minutes; exact spectra, DPO's mathematics and the measured comparison added
    # about ten more
    assert 12 <= lessons.get_lesson(SLUG).minutes <= 16


def test_quiz_structure_from_the_raw_file() -> None:
    raw = yaml.safe_load((FOLDER / "quiz.yaml").read_text())["questions"]
    section_ids = {s.id for s in lessons.get_lesson(SLUG).sections}
    assert len(raw) >= 20
    assert sum(bool(q.get("practice")) for q in raw) == 4
    for q in raw:
        assert 3 <= len(q["choices"]) <= 4, q["id"]
        assert sum(bool(c.get("correct")) for c in q["choices"]) == 1, q["id"]
        assert q["section"] in section_ids, q["id"]
        assert q["explanation"].strip(), q["id"]
    assert {q["section"] for q in raw} == section_ids, "every section has a question"


def write_lesson(root: Path, quiz: dict | None = None, body: str = "Some text.", widgets: str = "[]") -> Path:
    folder = root / "demo"
    (folder / "sections").mkdir(parents=True)
    (folder / "lesson.yaml").write_text("title: Demo\nsummary: A demo.\nsections: [intro]\n")
    (folder / "sections" / "intro.md").write_text(f"---\ntitle: Intro\nwidgets: {widgets}\n---\n{body}\n")
    choices = [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}, {"id": "c", "text": "C"}]
    question = {"id": "q1", "text": "Q?", "section": "intro", "explanation": "Because.", "choices": choices}
    (folder / "quiz.yaml").write_text(yaml.safe_dump(quiz or {"questions": [question]}))
    return folder


def test_a_valid_demo_lesson_loads(tmp_path: Path) -> None:
    folder = write_lesson(tmp_path, body="{{ lora_params }} numbers")
    lesson = lessons.load_lesson(folder)
    assert lesson.slug == "demo" and "131,072 numbers" in lesson.sections[0].html
    assert lessons.load_quiz(folder, lesson).questions[0].id == "q1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"correct_b": True}, "exactly one correct choice, has 2"),
        ({"correct_a": False}, "exactly one correct choice, has 0"),
        ({"section": "nowhere"}, "unknown section 'nowhere'"),
        ({"two_choices": True}, "at least 3"),
        ({"duplicate_choice": True}, "choice of question 'q1' 'a' appears twice"),
        ({"text": "{{ no_such_figure }}"}, "unknown figure"),
    ],
)
def test_bad_quizzes_are_refused(tmp_path: Path, change: dict, message: str) -> None:
    choices = [
        {"id": "a", "text": "A", "correct": change.get("correct_a", True)},
        {"id": "b", "text": "B", "correct": change.get("correct_b", False)},
        {"id": "a" if change.get("duplicate_choice") else "c", "text": "C"},
    ]
    if change.get("two_choices"):
        choices = choices[:2]
    question = {
        "id": "q1",
        "text": change.get("text", "Q?"),
        "section": change.get("section", "intro"),
        "explanation": "Because.",
        "choices": choices,
    }
    folder = write_lesson(tmp_path, quiz={"questions": [question]})
    with pytest.raises(lessons.LessonError, match=re.escape(message)):
        lessons.load_quiz(folder, lessons.load_lesson(folder))


@pytest.mark.parametrize(
    ("body", "widgets", "message"),
    [
        ("## A second title", "[]", "use ### or deeper headings"),
        ("{{ nope }}", "[]", "unknown figure {{ nope }}"),
        ("Fine.", "[hologram]", "widgets"),
        ("Fine.", "[compare, compare]", "widget 'compare' appears twice"),
    ],
)
def test_bad_sections_are_refused(tmp_path: Path, body: str, widgets: str, message: str) -> None:
    folder = write_lesson(tmp_path, body=body, widgets=widgets)
    with pytest.raises(lessons.LessonError, match=re.escape(message)):
        lessons.load_lesson(folder)


def test_unlisted_section_files_are_refused(tmp_path: Path) -> None:
    folder = write_lesson(tmp_path)
    (folder / "sections" / "stray.md").write_text("---\ntitle: Stray\n---\nText.\n")
    with pytest.raises(lessons.LessonError, match="stray"):
        lessons.load_lesson(folder)


def test_markdown_is_escaped() -> None:
    rendered = lessons.render_markdown(
        'Hi <script>alert("x")</script> and <img src=x onerror=alert(1)>\n\n[link](javascript:alert(1))\n'
    )
    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;" in rendered and "&lt;img" in rendered
    assert 'href="javascript:' not in rendered


# --- the figures in the text are the calculator's ------------------------------------------------


def test_no_figure_is_typed_into_the_text() -> None:
    """Byte sizes and thousands-grouped counts must come from {{ figures }}, not the keyboard."""
    files = [*sorted((FOLDER / "sections").glob("*.md")), FOLDER / "quiz.yaml"]
    for path in files:
        raw = FIGURE.sub("", path.read_text(encoding="utf-8"))
        for match in re.finditer(r"\b\d[\d,.]*\s?(?:GB|MB|KB)\b", raw):
            assert match.group(0) in CITED_BYTES, f"{path.name}: typed-in figure {match.group(0)!r}"
        assert not re.search(r"\b\d{1,3}(?:,\d{3})+\b", raw), f"{path.name}: a typed-in count"


def test_seven_b_cost_matches_the_calculator() -> None:
    text = text_of(section("full-fine-tuning"))
    est = calc.training_memory(calc.preset("7"), "fp32", "full")
    for part, value in (("weights", est.weights), ("gradients", est.gradients)):
        found = re.search(rf"{part} 4 bytes (\S+ GB)", text)
        assert found and gb(found.group(1)) == value, part
    adam = re.search(r"variance\) 8 bytes (\S+ GB)", text)
    assert adam and gb(adam.group(1)) == est.optimizer == 56e9
    total = re.search(r"total before activations (\d+) bytes (\S+ GB)", text)
    assert total and gb(total.group(2)) == est.weights + est.gradients + est.optimizer
    assert number(total.group(1)) * 7e9 == gb(total.group(2))
    mixed = calc.training_memory(calc.preset("7"), "bf16", "full")
    found = re.search(r"states come to (\d+) bytes per parameter, (\S+ GB)", text)
    assert found and gb(found.group(2)) == mixed.weights + mixed.gradients + mixed.optimizer


def test_lora_counts_match_the_calculator() -> None:
    text = text_of(section("lora"))
    found = re.search(r"d = ([\d,]+) and r = (\d+)", text)
    assert found
    d, r = int(number(found.group(1))), int(found.group(2))
    assert (d, r) == (4096, 16)
    full = re.search(r"full fine-tuning trains d × d = ([\d,]+)", text)
    lora = re.search(r"LoRA trains d × r \+ r × d = ([\d,]+) numbers, (\d+)× fewer", text)
    assert full and number(full.group(1)) == calc.dense_params(d, d)
    assert lora and number(lora.group(1)) == calc.lora_params(d, d, r)
    assert number(lora.group(2)) == calc.dense_params(d, d) / calc.lora_params(d, d, r)
    model = re.search(r"that is ([\d,]+) trainable parameters", text)
    assert model and number(model.group(1)) == calc.trainable_params(calc.preset("7"), "lora", rank=r)


def test_seventy_b_claim_matches_the_calculator() -> None:
    text = text_of(section("qlora"))
    codes = re.search(r"= (\S+ GB) for the 4-bit codes alone", text)
    assert codes and gb(codes.group(1)) == 70e9 * 0.5
    nf4 = re.search(r"bring the weights to (\S+ GB) with double quantisation", text)
    assert nf4 and gb(nf4.group(1)) == pytest.approx(calc.quantised_weight_bytes(70e9), abs=0.05e9)
    cards = re.search(r"more than a (\d+) GB card holds .* at least (\d+) such cards", text)
    assert cards
    card_gb, needed = int(cards.group(1)), int(cards.group(2))
    kv = re.search(r"KV cache, (\S+ GB) for ([\d,]+) tokens", text)
    assert kv and gb(kv.group(1)) == pytest.approx(
        calc.kv_cache_bytes(calc.preset("70"), int(number(kv.group(2)))), abs=0.05e9
    )
    assert needed == calc.cards_needed(calc.quantised_weight_bytes(70e9) + gb(kv.group(1)), card_gb) > 1


# --- the quiz -------------------------------------------------------------------------------------


def right_answers() -> dict[str, str]:
    return {q.id: next(c.id for c in q.choices if c.correct) for q in lessons.get_quiz(SLUG).questions}


def wrong_answers() -> dict[str, str]:
    return {q.id: next(c.id for c in q.choices if not c.correct) for q in lessons.get_quiz(SLUG).questions}


def test_public_quiz_has_no_answers() -> None:
    public = lessons.public_quiz(SLUG).model_dump()
    assert len(public["questions"]) == len(lessons.get_quiz(SLUG).questions)
    for q in public["questions"]:
        assert set(q) == {"id", "text", "choices", "section", "figure"}
        assert all(set(c) == {"id", "text"} for c in q["choices"])


def test_grading_right_wrong_and_partial() -> None:
    total = len(right_answers())
    right = lessons.grade(SLUG, right_answers())
    assert (right.score, right.total) == (total, total) and all(r.correct for r in right.results)
    wrong = lessons.grade(SLUG, wrong_answers())
    assert wrong.score == 0 and not any(r.correct for r in wrong.results)
    first_two = dict(list(right_answers().items())[:2])
    partial = lessons.grade(SLUG, first_two)
    assert partial.score == 2 and len(partial.results) == total  # unanswered questions count as wrong
    assert all(r.explanation and r.section for r in partial.results)


def test_grading_names_unknown_questions_and_choices() -> None:
    answers = {**right_answers(), "no-such-question": "a", "lora-b-zero": "z"}
    with pytest.raises(QuizAnswerError) as caught:
        lessons.grade(SLUG, answers)
    assert dict(caught.value.problems).keys() == {"no-such-question", "lora-b-zero"}
    assert "no choice 'z'" in str(caught.value)


def test_unknown_lesson_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        lessons.get_lesson("no-such-lesson")
    with pytest.raises(KeyError):
        lessons.grade("no-such-lesson", {})


# --- the quiz tests understanding, not the shape of the answers ----------------------------------


def filled_choices(question: Question) -> list[str]:
    return [c.text for c in question.choices]


def test_the_right_answer_is_not_systematically_the_longest() -> None:
    questions = lessons.get_quiz(SLUG).questions
    longest = 0
    ranks = []
    for q in questions:
        lengths = [len(text) for text in filled_choices(q)]
        right = next(i for i, c in enumerate(q.choices) if c.correct)
        rank = sorted(lengths, reverse=True).index(lengths[right])  # 0: the longest (ties count as longest)
        ranks.append(rank / (len(lengths) - 1))
        longest += rank == 0
    assert longest / len(questions) <= 1 / 3, (
        f"the right answer is the longest in {longest} of {len(questions)}"
    )
    assert 0.3 <= sum(ranks) / len(ranks) <= 0.7, (
        "right answers sit in the middle of the length order on average"
    )


def served_positions(questions: list[Question], seed: str) -> list[int]:
    public = {q.id: [c.id for c in q.choices] for q in lessons.public_quiz(SLUG, seed).questions}
    return [public[q.id].index(next(c.id for c in q.choices if c.correct)) for q in questions]


def test_every_student_sees_the_right_answers_balanced_over_positions() -> None:
    """In each of 2,000 students' orders, every position holds the right answer equally often ± 1."""
    questions = lessons.get_quiz(SLUG).questions
    orders = set()
    for student in range(2000):
        served = served_positions(questions, f"student-{student}")
        counts = [served.count(p) for p in range(4)]
        assert max(counts) - min(counts) <= 1, (student, counts)
        orders.add(tuple(served))
    assert len(orders) > 1900  # the orders still differ between students


def test_balance_holds_for_mixed_choice_counts() -> None:
    """With 3- and 4-choice questions mixed, the three places every question has stay within one."""

    def question(qid: str, n: int) -> Question:
        choices = [Choice(id=f"c{i}", text=f"choice {i}", correct=i == 0) for i in range(n)]
        return Question(id=qid, text="Q?", section="s", choices=choices, explanation="E.")

    questions = [question(f"q{i}", 3 if i % 3 else 4) for i in range(23)]
    for student in range(300):
        orders = balanced_orders(questions, f"s{student}")
        served = [[c.id for c in orders[q.id]].index("c0") for q in questions]
        counts = [served.count(p) for p in range(4)]
        assert max(counts[:3]) - min(counts[:3]) <= 1 and counts[3] >= min(counts[:3]) - 1, counts
        assert orders == balanced_orders(questions, f"s{student}")  # deterministic


def test_choice_order_is_stable_per_student_and_differs_between_students() -> None:
    def order(seed: str) -> list[list[str]]:
        return [[c.id for c in q.choices] for q in lessons.public_quiz(SLUG, seed).questions]

    assert order("alice-key") == order("alice-key")
    assert order("alice-key") != order("bob-key-1")
    right = right_answers()
    assert lessons.grade(SLUG, right).score == len(right)  # grading goes by id, whatever the order


def test_figure_questions_are_answered_by_their_widget() -> None:
    """At least four questions are read off a figure; each answer is recomputed here from the data the
    widget draws, and is not given away by the question's own text."""
    quiz = {q.id: q for q in lessons.get_quiz(SLUG).questions}
    placed = {w for s in lessons.get_lesson(SLUG).sections for w in s.widgets}
    figure_questions = [q for q in quiz.values() if q.figure]
    assert len(figure_questions) >= 4
    for q in figure_questions:
        right = next(c.text for c in q.choices if c.correct)
        assert q.figure in placed and right not in q.text, q.id

    def right(qid: str) -> str:
        return next(c.text for c in quiz[qid].choices if c.correct)

    for qid, key, method in (("figure-memory-13b", "13", "lora"), ("figure-memory-70b", "70", "qlora")):
        est = calc.training_memory(calc.preset(key), "bf16", method, rank=16, seq_len=512, checkpointing=True)
        assert gb(right(qid)) == pytest.approx(est.total, rel=0.01), qid
        others = [gb(c.text.replace(",", "")) for c in quiz[qid].choices if not c.correct]
        assert all(abs(o - est.total) > 0.1 * est.total for o in others), qid  # far enough apart to read
    steps = recorded_runs()["lora"].steps
    line = float(re.search(r"below (\d+\.\d+)", quiz["figure-lora-curve"].text).group(1))
    first = next(s["step"] for s in steps if s["loss"] < line)
    assert right("figure-lora-curve") == f"Step {first}"
    for choice in quiz["figure-lora-curve"].choices:
        step = int(choice.text.split()[1])
        assert choice.correct or steps[step - 1]["loss"] >= line + 0.1 or step > first  # readable
    runs = recorded_runs()
    peak = max(LM_METHODS, key=lambda m: runs[m].summary["peak_memory_bytes"])
    assert right("figure-compare-memory") == METHOD_LABELS[peak]


def test_quiz_asks_about_the_recorded_runs_and_about_choosing() -> None:
    raw = yaml.safe_load((FOLDER / "quiz.yaml").read_text())["questions"]
    about_runs = [q["id"] for q in raw if "{{run_" in q["text"].replace(" ", "")]
    assert len(about_runs) >= 5, about_runs
    scenarios = [q["id"] for q in raw if q["id"].startswith("scenario-")]
    assert len(scenarios) >= 3
    assert {q["section"] for q in raw if q["id"] in scenarios} == {"comparison"}
