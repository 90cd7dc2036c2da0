"""A realistic prompt collection, generated deterministically, for tests of import, placeholders and display.

The API is small:

- ``prompts(count, seed)``: a list of dicts with ``title``, ``body``, ``description``,
  ``tags`` (a list) and ``visibility``, shaped like public collections (prompts.chat's
  "Act as ..." prompts): bodies from a line to over 30,000 characters, Markdown (headings,
  lists, code fences), code, JSON, Chinese text, and placeholders of every style people
  write (``{{name}}``, ``{{ name }}``, ``{{two words}}``, ``${name}``,
  ``${Position:Software Developer}``) next to text that only looks like one (GitHub
  Actions' ``${{ secrets.X }}``, template code inside code fences).
- ``write_csv(items, path_or_file, style)``: CSV with an ``act,prompt`` or a
  ``title,body`` header (plus ``description``, ``tags``, ``visibility``).
- ``export_document(items)``: the items as the site's JSON export format.

Titles are unique within one call, so that an import matches each prompt to itself.
"""

# Chinese text has its own full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

ROLES = (
    "Linux terminal", "English translator and improver", "job interviewer", "JavaScript console",
    "travel guide", "storyteller", "football commentator", "stand-up comedian", "motivational coach",
    "screenwriter", "novelist", "movie critic", "relationship coach", "poet", "rapper",
    "motivational speaker", "philosophy teacher", "math teacher", "AI writing tutor", "UX/UI developer",
    "cyber security specialist", "recruiter", "life coach", "etymologist", "commentariat",
    "magician", "career counselor", "pet behaviorist", "personal trainer", "mental health adviser",
    "real estate agent", "logistician", "dentist", "web design consultant", "AI assisted doctor",
    "accountant", "chef", "automobile mechanic", "artist advisor", "financial analyst",
    "investment manager", "tea-taster", "interior decorator", "florist", "self-help book",
    "gnomist", "aphorism book", "text based adventure game", "fancy title generator", "statistician",
    "prompt generator", "Midjourney prompt generator", "dream interpreter",
    "fill in the blank worksheets generator",
    "software quality assurance tester", "tic-tac-toe game", "password generator", "new language creator",
    "web browser", "senior frontend developer", "Solr search engine", "startup idea generator",
    "spongebob's magic conch shell", "language detector", "salesperson", "commit message generator",
    "chief executive officer", "diagram generator", "life coach", "speech-language pathologist",
    "startup tech lawyer", "title generator for written pieces", "product manager", "drunk person",
    "mathematical history teacher", "song recommender", "cover letter writer", "technology transferer",
    "unconstrained AI model", "gomoku player", "proofreader", "Buddha", "muslim imam", "chemical reactor",
    "friend", "Python interpreter", "ChatGPT prompt generator", "Wikipedia page",
    "Japanese kanji quiz machine",
    "note-taking assistant", "literary critic", "cheap travel ticket advisor", "data scientist",
    "league of legends player", "restaurant owner", "architectural expert", "LLM researcher",
    "unit test writer", "SQL terminal", "regex generator", "time travel guide", "DevOps engineer",
    "Kubernetes expert", "GitHub Actions reviewer", "Jinja template debugger", "中文翻译",
)  # fmt: skip
TOPICS = (
    "the history of the printing press", "renewable energy in small towns", "a bakery's first year",
    "onboarding new engineers", "the water cycle", "a product launch in Berlin", "quantum computing",
    "household budgeting", "learning the violin as an adult", "a museum audio guide",
    "migrating a monolith to services", "customer churn", "the French Revolution", "sleep hygiene",
)  # fmt: skip
TAGS = (
    "writing", "coding", "education", "business", "marketing", "fun", "health", "travel", "career",
    "productivity", "games", "translation", "language-learning", "devops", "data", "design", "music",
    "finance", "legal", "chinese", "roleplay", "interview", "shell", "python", "javascript", "sql",
)  # fmt: skip
SENTENCES = (
    "I want you to act as {role}.",
    "I will type commands and you will reply with what the {role} should show.",
    "Only reply inside one unique code block, and nothing else.",
    "Do not write explanations unless I instruct you to do so.",
    "When I need to tell you something in English, I will put the text inside curly brackets.",
    "Your answers should be concise, accurate and friendly, and they should cite sources when possible.",
    "Keep the tone {tone} and the audience in mind: {audience}.",
    "My first request is about {topic}.",
    "Ask me clarifying questions before you start, one at a time, and wait for my answers.",
    "Use bullet points for lists, and bold for the key terms the reader must remember.",
    "If something is ambiguous, state your assumptions explicitly before answering.",
    "Correct my grammar mistakes, typos and factual errors as we go.",
)  # fmt: skip
TONES = ("formal", "casual", "playful", "neutral", "encouraging")
AUDIENCES = ("beginners", "senior engineers", "children aged 8-10", "executives", "students")
CHINESE = (
    "我希望你充当中文翻译员、拼写纠正员和改进员。我会用任何语言与你交谈，你会检测语言，翻译它并用更为优美和精炼的中文回答我。",
    "请保持原意不变，但使它们更具文学性。请仅回复更正和改进的部分，不要写解释。",
    "我的第一句话是“{{句子}}”。请用简体中文回答，并在最后给出三个同义词。",
)  # fmt: skip

# Placeholders in every style people write, each with the name and default a parser should find.
PLACEHOLDERS = (
    "{{name}}", "{{ topic }}", "{{target language}}", "${language}", "${Position:Software Developer}",
    "${Tone:friendly and concise}", "{{code here}}", "${Company Name:Acme Corp}", "{{ audience }}",
)  # fmt: skip
# Text that looks like a placeholder and is not one (outside code it is GitHub Actions syntax).
NOT_PLACEHOLDERS = ("${{ secrets.DEPLOY_TOKEN }}", "${{ github.ref_name }}")

CODE_BLOCKS = (
    "```python\ndef greet(name: str) -> str:\n    return f\"Hello, {name}!\"\n\n"
    "print(greet(\"{{name}}\"))\n```",
    "```jinja\n{% for item in items %}\n  <li>{{ item.title }}</li>\n{% endfor %}\n```",
    "```yaml\nname: deploy\non: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - run: ./deploy.sh\n        env:\n          TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n"
    "          BRANCH: ${{ github.ref_name }}\n```",
    "```sql\nSELECT customer_id, count(*) AS orders\nFROM orders\n"
    "WHERE created_at > now() - INTERVAL 30 DAY\n"
    "GROUP BY customer_id\nORDER BY orders DESC\nLIMIT 10;\n```",
    "```bash\n$ ls -la ~/projects\n$ grep -rn \"TODO\" src/ | wc -l\n```",
    "```javascript\nconst total = items.reduce((sum, item) => sum + item.price * item.qty, 0);\n"
    "console.log(`Total: ${total}`);\n```",
)  # fmt: skip


def prompts(count: int = 1500, seed: int = 14) -> list[dict[str, Any]]:
    """``count`` realistic prompts, the same ones for the same seed."""
    rng = random.Random(seed)
    items = []
    uses: dict[str, int] = {}
    for index in range(count):
        role = rng.choice(ROLES)
        uses[role] = uses.get(role, 0) + 1
        body = SHAPES[index % len(SHAPES)](rng, role, rng.choice(PLACEHOLDERS))
        items.append(
            {
                "title": _title(role, uses[role]),
                "body": body,
                "description": f"Makes the model act as {_article(role)} {role}."[:500] if index % 3 else "",
                "tags": rng.sample(TAGS, rng.randrange(0, 4)),
                "visibility": "public" if index % 4 else "private",
            }
        )
    return items


def write_csv(
    items: Sequence[dict[str, Any]], target: Path | TextIO, style: Literal["act", "title"] = "act"
) -> None:
    """Write the items as CSV: ``act,prompt`` (the prompts.chat layout) or ``title,body`` columns."""
    first, second = ("act", "prompt") if style == "act" else ("title", "body")
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8", newline="") as out:
            write_csv(items, out, style)
        return
    writer = csv.writer(target)
    writer.writerow([first, second, "description", "tags", "visibility"])
    for item in items:
        tags = ", ".join(item.get("tags", []))
        description, visibility = item.get("description", ""), item.get("visibility", "")
        writer.writerow([item["title"], item["body"], description, tags, visibility])


def csv_bytes(items: Sequence[dict[str, Any]], style: Literal["act", "title"] = "act") -> bytes:
    """The items as a CSV file's bytes (UTF-8)."""
    out = io.StringIO(newline="")
    write_csv(items, out, style)
    return out.getvalue().encode()


def export_document(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The items as an export document, as ``GET /api/export`` answers (without uids: all new)."""
    return {"format": "allucanget-prompts", "version": 1, "owner": "corpus", "prompts": list(items)}


def export_bytes(items: Sequence[dict[str, Any]]) -> bytes:
    """The export document as a JSON file's bytes."""
    return json.dumps(export_document(items), ensure_ascii=False).encode()


def _title(role: str, use: int) -> str:
    # Numbered past the first use of a role, as collections number their variants.
    return f"Act as {_article(role)} {role}" + (f" ({use})" if use > 1 else "")


def _article(role: str) -> str:
    return "an" if role[0].lower() in "aeiou" else "a"


def _sentences(rng: random.Random, role: str, count: int) -> str:
    fills = {"role": role, "tone": rng.choice(TONES), "audience": rng.choice(AUDIENCES)}
    chosen = [rng.choice(SENTENCES).format(topic=rng.choice(TOPICS), **fills) for _ in range(count)]
    return " ".join(chosen)


def _paragraph(rng: random.Random, role: str, placeholder: str) -> str:
    """One paragraph, as most public prompts are."""
    return f"{_sentences(rng, role, rng.randrange(4, 14))} My first request is {placeholder}."


def _markdown(rng: random.Random, role: str, placeholder: str) -> str:
    """Headings, a numbered and a bulleted list, a code fence."""
    steps = "\n".join(f"{n}. {_sentences(rng, role, 1)}" for n in range(1, rng.randrange(3, 7)))
    bullets = "\n".join(f"- **{rng.choice(TAGS)}**: {_sentences(rng, role, 1)}" for _ in range(3))
    return (
        f"# {role.title()}\n\n{_sentences(rng, role, 2)}\n\n## Steps\n\n{steps}\n\n"
        f"## Rules\n\n{bullets}\n\n{rng.choice(CODE_BLOCKS)}\n\nInput: {placeholder}\n"
    )


def _code(rng: random.Random, role: str, placeholder: str) -> str:
    """Code with template syntax, and GitHub Actions expressions that are not placeholders."""
    return (
        f"{_sentences(rng, role, 2)}\n\n{rng.choice(CODE_BLOCKS)}\n\n{CODE_BLOCKS[2]}\n\n"
        f"Review the code above for {placeholder}."
        f" Note that {NOT_PLACEHOLDERS[0]} is a secret, not input."
    )


def _json(rng: random.Random, role: str, placeholder: str) -> str:
    """A JSON template to answer in."""
    data = {
        "role": role,
        "temperature": round(rng.random(), 2),
        "instructions": [_sentences(rng, role, 1) for _ in range(3)],
        "input": "${input}",
    }
    return f"Answer only with JSON shaped like this:\n\n```json\n{json.dumps(data, indent=2)}\n```\n"


def _chinese(rng: random.Random, role: str, placeholder: str) -> str:
    """Chinese text with a Chinese placeholder name."""
    return "\n\n".join(CHINESE) + f"\n\n{placeholder}"


def _form(rng: random.Random, role: str, placeholder: str) -> str:
    """Many placeholders, on their own lines and inline, one with a long default."""
    return (
        f"{_sentences(rng, role, 2)}\n\nPosition: ${{Position:Software Developer}}\n"
        "Company: ${Company Name:Acme Corp}\nTone: {{ tone }}\n\n{{two words}}\n\n"
        "${Background:I have ten years of experience building distributed systems in Go and Python,"
        " and I led a team of six engineers through two product launches.}\n"
    )


def _long(rng: random.Random, role: str, placeholder: str) -> str:
    """Very long, as system prompts and worksheets are: 10,000 to 30,000 characters."""
    sections: list[str] = []
    length = rng.randrange(10_500, 30_000)
    while sum(map(len, sections)) < length:
        sections.append(f"## {rng.choice(TOPICS).capitalize()}\n\n{_sentences(rng, role, 12)}\n")
    return f"{_sentences(rng, role, 2)}\n\n" + "\n".join(sections) + f"\nFinally: {placeholder}\n"


# One prompt in ten of each shape, except paragraphs: four in ten.
SHAPES = (_paragraph, _paragraph, _paragraph, _paragraph, _markdown, _code, _json, _chinese, _form, _long)
