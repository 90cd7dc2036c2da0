# ruff: noqa: E501, RUF001 - the corpus is prose, with the full-width punctuation Chinese uses
"""Relevance: a few hundred realistic prompts and the results a person expects for each query.

The corpus mixes act-as prompts, Markdown, code, JSON, Chinese and Japanese, and filler on
unrelated topics, in the shape of public prompt collections. Each query names the prompts
that must come first (in order, or as a set), covering every row of the issue's table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from composite.db import Database
from composite.library import catalog, prompts
from composite.library.accounts import create_user
from composite.library.migrations import MIGRATIONS_DIR

# (title, body, tags)
PROMPTS = [
    (
        "Linux Terminal",
        "I want you to act as a linux terminal. I will type commands and you will reply with what the terminal should show, inside one unique code block.",
        ["shell"],
    ),
    (
        "JavaScript Console",
        "I want you to act as a javascript console. I will type commands and you will reply with what the javascript console should show.",
        ["javascript"],
    ),
    (
        "SQL terminal",
        "Act as a SQL terminal in front of an example database with tables Products, Users and Orders. Reply with the query results as a table.",
        ["sql"],
    ),
    (
        "English Translator and Improver",
        "I want you to act as an English translator, spelling corrector and improver. Detect the language, translate it and answer in English.",
        ["language"],
    ),
    (
        "Translate to French",
        "Translate the following text into French, keeping the tone: {{text}}",
        ["language"],
    ),
    (
        "Translation reviewer",
        "Check this translation against the original and list every mistranslated phrase.",
        ["language"],
    ),
    (
        "Job Interviewer",
        "I want you to act as an interviewer. I will be the candidate and you will ask me the interview questions for the position.",
        ["career"],
    ),
    (
        "Questions for a senior engineer",
        "Write ten interview questions for a senior backend engineer, with what a strong answer covers.",
        ["career"],
    ),
    ("Mock interview coach", "Run a mock interview with me and grade each answer I give.", ["career"]),
    ("Coding assistant", "Help me with coding tasks: explain the error, then propose a fix.", ["code"]),
    ("Code reviewer", "Review my code for bugs, naming and missing tests.", ["code", "review"]),
    ("Writing coach", "Give feedback on my writing: structure, clarity and rhythm.", ["writing"]),
    ("Blog post writer", "Write a blog post about {{topic}} in a friendly voice.", ["writing"]),
    ("Running coach", "Plan my runs for the week: distance, pace and rest days before a race.", ["fitness"]),
    (
        "Python classes explained",
        "Explain how a class, its methods and inheritance work in Python, with examples.",
        ["python"],
    ),
    (
        "Unit test generator",
        "Generate unit tests with pytest for the function below, covering edge cases.\n\n```python\ndef add(a, b):\n    return a + b\n```",
        ["python", "testing"],
    ),
    ("Professional e-mail writer", "Write a professional e-mail to a client explaining a delay.", ["email"]),
    ("Email summariser", "Summarise this email thread in three bullet points.", ["email"]),
    ("C++ code reviewer", "Review this C++ code for undefined behaviour, leaks and missing RAII.", ["cpp"]),
    ("C# developer", "Act as a senior C# developer and answer questions about LINQ and async.", ["csharp"]),
    ("Node.js backend guide", "Help me build a REST API with node.js and Express.", ["javascript"]),
    (".NET migration advisor", "Plan the migration of an old .NET Framework app to .NET 8.", ["dotnet"]),
    ("C programming tutor", "Teach me C: pointers, arrays and memory, one lesson at a time.", ["c"]),
    ("中英翻译", "请把下面的中文翻译成英文，保持原意：{{text}}", ["language"]),
    ("写作助手", "帮我写一篇关于春天的文章，语言优美。", ["writing"]),
    ("日本語の翻訳", "次の文章を英語に翻訳してください。", ["language"]),
    ("Kubernetes expert", "Answer my questions about clusters.", ["devops"]),
    (
        "DevOps handbook",
        "A long guide. "
        + "Deploy services, roll them back and watch them on kubernetes clusters, with kubernetes namespaces, kubernetes secrets and kubernetes autoscaling. "
        * 12,
        ["devops"],
    ),
    (
        "Cloud runbook",
        "Steps for incidents: check kubernetes pods, check kubernetes nodes, check kubernetes events, page the on-call engineer. "
        * 6,
        ["devops"],
    ),
    ("Café menu writer", "Write a short menu for a café: coffee, pastries and a soup of the day.", ["food"]),
    ("Résumé reviewer", "Review my résumé and suggest stronger verbs.", ["career"]),
    (
        "README generator",
        "# README generator\n\nWrite a README with:\n\n- **Install** steps\n- Usage:\n\n```bash\npip install {{package}}\n```",
        ["docs"],
    ),
    (
        "JSON extractor",
        'Extract the fields as JSON: {"name": "...", "email": "...", "company": "..."}',
        ["data"],
    ),
    (
        "Machine learning tutor",
        "Teach me machine learning from linear regression to neural networks.",
        ["learning"],
    ),
    ("Sewing basics", "Learning to use a sewing machine: threading, tension and the first seam.", ["craft"]),
    ("Regex builder", "Write a regex that matches ISO dates and explain each part.", ["code"]),
    ("Haiku poet", "Write a haiku about the sea at dawn.", ["poetry"]),
    ("Marketing copy", "Write marketing copy for a new running shoe.", ["marketing"]),
    ("Customer support reply", "Draft a kind reply to a customer whose order arrived late.", ["support"]),
    ("Shell one-liners", "Give me a bash one-liner to find the largest files in a directory.", ["shell"]),
    ("Script sanitiser", "Explain why <script>alert(1)</script> in a comment is dangerous.", ["security"]),
    ("Travel itinerary", "Plan a three-day trip to Lisbon with food and museums.", ["travel"]),
    ("Weekend city break", "Plan a weekend in Rome for a first-time visitor.", ["travel"]),
]
# The same prompt shared by many people: one copy belongs on the first page, not all of them.
DUPLICATE = (
    "Travel guide",
    "I want you to act as a travel guide. I will tell you my location and you will suggest places to visit.",
    ["travel"],
)
DUPLICATES = 6
FILLER_TOPICS = (
    "gardening astronomy knitting chess pottery birdwatching woodworking photography calligraphy"
    " beekeeping origami sailing fishing baking cycling climbing surfing skating painting sculpture"
    " violin piano guitar drums opera ballet cinema theatre comics podcasts aquarium houseplants"
    " composting mushrooms tea wine cheese bread chocolate perfume"
).split()
FILLER_TEMPLATES = (
    ("{topic} mentor", "Share three tips about {topic} for a beginner, then one common pitfall."),
    ("{topic} quiz", "Ask me five questions about {topic}; tell me after each one if I was right."),
    ("{topic} history", "Tell the story of {topic} in five short paragraphs."),
    ("{topic} glossary", "List twenty {topic} words with a one-line meaning each."),
    ("{topic} 每日一问", "关于{topic}，每天问我一个问题。"),
    ("{topic} planner", "Make a four-week {topic} plan with one small goal each week."),
)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One database with the whole corpus, shared by every query below."""
    path: Path = tmp_path_factory.mktemp("relevance") / "library.db"
    db = Database(path).open()
    db.migrate(MIGRATIONS_DIR)
    author = create_user(db, "curator", "password123")
    sharers = [create_user(db, f"sharer{i}", "password123") for i in range(DUPLICATES)]
    for title, body, tags in PROMPTS:
        prompts.create_prompt(db, author, title=title, body=body, tags=tags, visibility="public")
    for topic in FILLER_TOPICS:
        for title, body in FILLER_TEMPLATES:
            prompts.create_prompt(
                db,
                author,
                title=title.format(topic=topic).capitalize(),
                body=body.format(topic=topic),
                tags=["hobby"],
                visibility="public",
            )
    for sharer in sharers:
        title, body, tags = DUPLICATE
        prompts.create_prompt(db, sharer, title=title, body=body, tags=tags, visibility="public")
    yield db
    db.close()


def titles(db: Database, q: str, limit: int = 10) -> list[str]:
    return [p.title for p in catalog.list_prompts(db, None, q=q, limit=limit).items]


def test_the_corpus_is_a_few_hundred_prompts(library: Database) -> None:
    assert catalog.list_prompts(library, None).total >= 250


# The right prompt first: the query names it, or names what it does.
FIRST = [
    ("linux terminal", "Linux Terminal"),
    ("javascript console", "JavaScript Console"),
    ("sql", "SQL terminal"),
    ("sql terminal", "SQL terminal"),
    ("kubernetes", "Kubernetes expert"),
    ("kubernets", "Kubernetes expert"),
    ("c++", "C++ code reviewer"),
    ("c#", "C# developer"),
    ("node.js", "Node.js backend guide"),
    (".net", ".NET migration advisor"),
    ("NODE.JS express", "Node.js backend guide"),
    ("haiku", "Haiku poet"),
    ("regex", "Regex builder"),
    ("readme", "README generator"),
    ("json", "JSON extractor"),
    ("machine learning", "Machine learning tutor"),
    ("customer support", "Customer support reply"),
    ("marketing copy", "Marketing copy"),
    ("unit tests", "Unit test generator"),
    ("generating tests", "Unit test generator"),
    ("classes", "Python classes explained"),
    ("running", "Running coach"),
    ("cafe", "Café menu writer"),
    ("resume", "Résumé reviewer"),
    ("RÉSUMÉ", "Résumé reviewer"),
    ("翻译", "中英翻译"),
    ("写作", "写作助手"),
    ("翻訳", "日本語の翻訳"),
    ("interviewer", "Job Interviewer"),
    ("javascirpt console", "JavaScript Console"),
    ("pytest", "Unit test generator"),
    ("lisbon", "Travel itinerary"),
]


@pytest.mark.parametrize(("q", "first"), FIRST)
def test_the_right_prompt_comes_first(library: Database, q: str, first: str) -> None:
    assert titles(library, q)[:1] == [first], titles(library, q)


# Every one of these prompts is among the first results.
AMONG = [
    ("interviewer", {"Job Interviewer", "Questions for a senior engineer", "Mock interview coach"}, 3),
    ("interview", {"Job Interviewer", "Questions for a senior engineer", "Mock interview coach"}, 3),
    ("coding", {"Coding assistant", "Code reviewer"}, 4),
    ("code", {"Coding assistant", "Code reviewer", "C++ code reviewer"}, 5),
    ("writing", {"Writing coach", "Blog post writer"}, 6),
    ("write", {"Writing coach", "Blog post writer"}, 10),
    ("generate", {"Unit test generator", "README generator"}, 3),
    ("e-mail", {"Professional e-mail writer", "Email summariser"}, 2),
    ("email", {"Professional e-mail writer", "Email summariser"}, 3),
    ("mail", {"Professional e-mail writer"}, 3),
    ("transalte", {"Translate to French", "Translation reviewer", "English Translator and Improver"}, 3),
    ("translator", {"Translate to French", "Translation reviewer", "English Translator and Improver"}, 3),
    ("kubernetes", {"Kubernetes expert", "DevOps handbook", "Cloud runbook"}, 3),
    ("translate", {"Translate to French", "Translation reviewer"}, 3),
    ("node", {"Node.js backend guide"}, 3),
    ("travel", {"Travel itinerary", "Weekend city break", "Travel guide"}, 4),
]


@pytest.mark.parametrize(("q", "wanted", "within"), AMONG)
def test_these_prompts_are_among_the_first(library: Database, q: str, wanted: set[str], within: int) -> None:
    found = titles(library, q, limit=within)
    assert wanted <= set(found), found


def test_translator_and_translation_find_the_same_prompts(library: Database) -> None:
    results = {q: set(titles(library, q, limit=50)) for q in ("translator", "translation", "translate")}
    assert results["translator"] == results["translation"] == results["translate"]


def test_programming_names_are_not_single_letters(library: Database) -> None:
    assert "C# developer" not in titles(library, "c++")
    assert "C++ code reviewer" not in titles(library, "c#")
    assert "C programming tutor" not in titles(library, "c++")[:1]


def test_a_title_match_ranks_above_long_bodies(library: Database) -> None:
    found = titles(library, "kubernetes")
    assert found.index("Kubernetes expert") < found.index("DevOps handbook")


def test_the_exact_phrase_ranks_first(library: Database) -> None:
    found = titles(library, "machine learning")
    assert found.index("Machine learning tutor") < found.index("Sewing basics")


def test_duplicates_do_not_crowd_the_first_page(library: Database) -> None:
    found = titles(library, "travel guide", limit=4)
    assert found.count("Travel guide") == 1
    assert {"Travel itinerary", "Weekend city break"} <= set(found)
    page = catalog.list_prompts(library, None, q="travel guide", limit=20)
    assert [p.title for p in page.items].count("Travel guide") == DUPLICATES  # later, not gone
    assert page.total >= DUPLICATES + 2


def test_a_typo_says_what_was_searched_for(library: Database) -> None:
    page = catalog.list_prompts(library, None, q="transalte french")
    assert page.searched_for == "translate french"
    assert page.notice == "Showing results for translate french"
    assert page.items[0].title == "Translate to French"


def test_exact_matches_rank_above_typo_matches(library: Database) -> None:
    # 'sewing' exists; 'lerning' is corrected: the exact word's prompt comes first.
    page = catalog.list_prompts(library, None, q="sewing lerning")
    assert page.searched_for == "sewing learning"
    assert page.items[0].title == "Sewing basics"


def test_a_stop_word_query_says_so(library: Database) -> None:
    page = catalog.list_prompts(library, None, q="the")
    assert (page.items, page.total) == ((), 0)
    assert page.notice is not None
    assert "common" in page.notice
    plain = catalog.list_prompts(library, None, q="zebraquagga")
    assert (plain.total, plain.notice) == (0, None)


def test_markdown_and_code_are_searchable_as_words(library: Database) -> None:
    assert titles(library, "pip install")[:1] == ["README generator"]
    assert titles(library, "def add")[:1] == ["Unit test generator"]
    assert titles(library, "<script>")[:1] == ["Script sanitiser"]
