"""Kept prompt cards: rendered once, and never shown after what they show has changed."""

from __future__ import annotations

import re

from composite.library.frontend.cards import CardCache
from tests.library.frontend.conftest import AuthActions


def card_of(html: str, prompt_id: int) -> str:
    """The card linking to a prompt, as the page shows it."""
    match = re.search(
        rf'<article class="card">\s*<h\d class="card-title">\s*<a href="/prompts/{prompt_id}">.*?</article>',
        html,
        re.S,
    )
    assert match, f"no card for prompt {prompt_id}"
    return match.group(0)


def test_listing_cards_follow_every_change_they_show(alice: AuthActions, bob: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Walrus facts", body="All about walruses", tags="animals")
    cards: CardCache = alice.client.application.extensions["composite.cards"]
    pages = ("/search", "/search?q=walrus", "/users/alice")
    first = [card_of(alice.client.get(page).text, prompt_id) for page in pages]
    assert [card_of(alice.client.get(page).text, prompt_id) for page in pages] == first
    assert cards.hits >= 2  # the second views reused the cards

    alice.edit_prompt(prompt_id, title="Walrus tusks", tags="animals, arctic")
    for page in pages:
        card = card_of(alice.client.get(page).text, prompt_id)
        assert "Walrus facts" not in card
        assert "tusks" in card.lower()
        assert "arctic" in card
        assert "v2" in card
    assert "★ 0" in card_of(bob.client.get("/search").text, prompt_id)
    assert bob.post(f"/prompts/{prompt_id}/star").status_code in (302, 303)
    for page in pages:
        assert "★ 1" in card_of(bob.client.get(page).text, prompt_id)
    alice.edit_prompt(prompt_id, visibility="private")
    assert 'class="badge">Private' in card_of(alice.client.get("/users/alice").text, prompt_id)


def test_the_kept_cards_are_bounded(alice: AuthActions) -> None:
    cards: CardCache = alice.client.application.extensions["composite.cards"]
    cards.kept = 3
    for n in range(5):
        alice.create_prompt(title=f"Card {n}", body="text")
    assert alice.client.get("/search").text.count('<article class="card">') == 5
    assert len(cards._cards) == 3
