"""What search makes of a text: stems, programming names, compounds, CJK bigrams, folded accents."""

from __future__ import annotations

from composite.library.tokens import fold, only_stop_words, query_words, terms


def test_a_snowball_stemmer_reaches_the_base_word() -> None:
    pairs = [("coding", "code"), ("writing", "write"), ("running", "run"), ("classes", "class")]
    pairs += [("generating", "generate"), ("interviewer", "interview"), ("translator", "translation")]
    for word, base in pairs:
        assert terms(word) == terms(base), word


def test_programming_names_keep_their_punctuation() -> None:
    assert terms("C++ and C# on .NET with node.js") == ["c++", "c#", ".net", "net", "node.js", "node", "js"]
    assert [term for term, _ in query_words("node.js c++")] == ["node.js", "c++"]
    assert terms("end of sentence. Next one") == ["end", "sentenc", "next", "one"]


def test_hyphenated_words_are_joined_and_split() -> None:
    assert terms("e-mail") == ["email", "e", "mail"]
    assert [term for term, _ in query_words("e-mail")] == ["email"]


def test_chinese_and_japanese_become_character_bigrams() -> None:
    assert terms("请翻译") == ["请翻", "翻译"]
    assert terms("翻") == ["翻"]
    assert "翻訳" in terms("英語に翻訳してください")


def test_accents_are_folded_but_kana_marks_kept() -> None:
    assert fold("Café RÉSUMÉ naïve") == "cafe resume naive"
    assert fold("が") == "が"
    assert terms("ｃ＋＋") == ["c++"]  # noqa: RUF001 - full-width letters are the same word


def test_a_query_of_stop_words_only_is_told_apart_from_punctuation() -> None:
    assert only_stop_words("The a of")
    assert not only_stop_words("!!!")
    assert not only_stop_words("the owl")
