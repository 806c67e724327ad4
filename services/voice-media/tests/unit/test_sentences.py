from afo_voice_media.domain.sentences import SentenceSplitter


def test_sentences_come_out_as_soon_as_they_end() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there") == []
    assert splitter.feed("! How can I") == ["Hello there!"]
    assert splitter.feed(" help? Our") == ["How can I help?"]
    assert splitter.flush() == ["Our"]
    assert splitter.flush() == []


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Dr. Lee and J. Smith meet at 3 p.m. on Tuesday. Next ") == [
        "Dr. Lee and J. Smith meet at 3 p.m. on Tuesday."]


def test_a_long_run_without_a_full_stop_is_cut_at_a_comma() -> None:
    splitter = SentenceSplitter()
    out = splitter.feed(("we have plans for teams, " * 10).strip())
    assert out and all(len(s) <= 161 for s in out) and out[0].endswith(",")
