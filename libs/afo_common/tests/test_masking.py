from afo_common import masking


def test_a_phone_number_keeps_its_country_code_and_last_four_digits() -> None:
    assert masking.phone("+33612345678") == "+33•••••5678"
    assert masking.phone("+14155550199") == "+14•••••0199"


def test_a_number_too_short_to_keep_both_is_hidden_whole() -> None:
    assert masking.phone("+3361") == "•••••"
    assert masking.phone("1234567") == "•••••••"


def test_an_email_address_keeps_its_first_letter_and_domain() -> None:
    assert masking.email("lee@example.com") == "l•••@example.com"
    assert masking.email("not-an-address") == "not•••••••ress"
