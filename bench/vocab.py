"""Words for generated prompts: real words at the head of a Zipf curve, invented ones in the tail."""

from __future__ import annotations

import itertools

# Function words come first: real prompts are full of them (most are stop words).
COMMON = (
    "the a to and of you your in for is this that with as be it on are or an by from at into not if"
    " all each then what which will should must can use make write give list answer explain"
).split()

DOMAIN = (
    "code review summary summarise text document email draft reply customer support product"
    " marketing sales copy blog post article outline essay story poem haiku translate translation"
    " language english french german spanish japanese sql query database schema table python"
    " javascript typescript rust golang function class test tests unit bug bugs error fix refactor"
    " performance security api endpoint json yaml csv data analysis chart report insight metric"
    " business plan strategy meeting notes agenda minutes action items tasks project manager team"
    " engineer developer senior junior interview question questions answers quiz lesson teacher"
    " student learn learning explain concept example examples analogy step steps reasoning logic"
    " math proof equation physics chemistry biology history economics legal contract clause policy"
    " privacy compliance risk audit finance budget invoice forecast spreadsheet formula regex shell"
    " bash linux docker kubernetes cloud deploy pipeline release changelog commit message pull"
    " request diff patch style tone formal casual friendly concise detailed bullet points paragraph"
    " headline title slogan tagline brand voice audience persona character dialogue scene plot"
    " novel fiction poetry lyrics song recipe cooking travel itinerary fitness workout health"
    " nutrition diet medical symptom research paper abstract citation literature hypothesis"
    " experiment survey feedback sentiment classify classification extract entities keywords tags"
    " label labels rewrite improve shorten expand simplify clarity grammar spelling proofread edit"
    " editor critique evaluate score rubric compare contrast pros cons decision options brainstorm"
    " ideas creative generate image prompt description caption alt accessibility design ux ui"
    " wireframe component react css html frontend backend server client cache latency scale"
    " architecture diagram documentation readme tutorial guide onboarding faq support ticket"
    " escalation apology refund complaint negotiation salary resume cover letter linkedin profile"
    " job description hiring candidate"
).split()

TAGS = (
    "writing code review summary email marketing sql data analysis python javascript learning"
    " education translation creative fiction poetry business strategy product support customer"
    " legal finance research academic health fitness cooking travel productivity career hiring"
    " design ux frontend backend devops security testing debugging documentation api database"
    " interview feedback sales copywriting seo social-media blog storytelling roleplay game"
    " brainstorming planning meetings notes reasoning math science history language grammar"
    " editing proofreading summarisation classification extraction chatbot agent system-prompt"
    " image-generation music lyrics kids parenting"
).split()

MODEL_HINTS = ("", "", "any chat model", "a code model", "gpt-4o", "claude", "llama-3", "mistral")

_ONSETS = ("b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
_CODAS = ("", "n", "r", "l", "s", "t", "x", "nd")


def invented_words(count: int) -> list[str]:
    """Pronounceable made-up words: the long tail of rare terms a large corpus has."""
    syllables = [o + v + c for o, v, c in itertools.product(_ONSETS, _VOWELS, _CODAS)]
    words: list[str] = []
    for first, second in itertools.product(syllables, repeat=2):
        words.append(first + second)
        if len(words) == count:
            break
    return words


def vocabulary(tail: int = 30_000) -> list[str]:
    """Every word the generator may use, most frequent first."""
    seen = dict.fromkeys(COMMON + DOMAIN + invented_words(tail))
    return list(seen)
