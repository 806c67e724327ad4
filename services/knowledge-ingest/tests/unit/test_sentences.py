import pytest

from afo_knowledge_ingest.domain.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Dr. Smith joined Acme Inc. in 2020. She sells.", ["Dr. Smith joined Acme Inc. in 2020.", "She sells."]),
        ("Offices in the U.S. and the U.K. are open. Call.", ["Offices in the U.S. and the U.K. are open.", "Call."]),
        ("Use a tool, e.g. Python. Or not, i.e. Go.", ["Use a tool, e.g. Python.", "Or not, i.e. Go."]),
        ("It costs $1.5 per seat. Version 2.10 is out.", ["It costs $1.5 per seat.", "Version 2.10 is out."]),
        ("See No. 5 and Fig. 3 on p. 12 first. The answer is no. We left.",
         ["See No. 5 and Fig. 3 on p. 12 first.", "The answer is no.", "We left."]),
        ("He paused... Then spoke. Wait… what? Ok.", ["He paused...", "Then spoke.", "Wait… what?", "Ok."]),
        ('She said "Stop." Then left. (It was late.) Next.',
         ['She said "Stop."', "Then left.", "(It was late.)", "Next."]),
        ("J. R. R. Tolkien wrote it. Ph.D. holders apply.", ["J. R. R. Tolkien wrote it.", "Ph.D. holders apply."]),
        ("Ask a Ph.D. Student or Prof. Lee.", ["Ask a Ph.D. Student or Prof. Lee."]),
        ("Meet at 5 p.m. Bring snacks, fruit, etc. Then go home at 9 p.m. on Friday.",
         ["Meet at 5 p.m.", "Bring snacks, fruit, etc.", "Then go home at 9 p.m. on Friday."]),
        ("lower case after a period. still one sentence.", ["lower case after a period. still one sentence."]),
        ("Wrapped   line\nof text.\n\nNew paragraph", ["Wrapped line of text.", "New paragraph"]),
        ("He sat. Then he left. A sales rep. Called us.", ["He sat.", "Then he left.", "A sales rep.", "Called us."]),
        ("", []),
        ("  \n \n", []),
    ],
)
def test_split(text, sentences):
    assert split_sentences(text) == sentences


def test_list_lines_stay_separate_and_their_markers_end_nothing():
    text = "Plans:\n- Starter\n- Pro, for teams\n  that grow\n2. Numbered item\nb) Lettered item\nAfter the list."

    assert split_sentences(text) == [
        "Plans:", "- Starter", "- Pro, for teams that grow", "2. Numbered item", "b) Lettered item", "After the list.",
    ]


def test_sentences_rebuild_the_text():
    text = "Dr. Who met Mr. Smith at 3 p.m. today. They talked... A lot! Was it fun? Yes. It cost $2.50, i.e. cheap."

    assert " ".join(split_sentences(text)) == text
