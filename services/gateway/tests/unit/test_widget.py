"""The widget's configuration and embed code as plain functions: gaps filled from the agent, a stored template
read leniently, and a snippet that stays one well-formed tag whatever the address."""

from afo_gateway.domain.widget import KEY_PLACEHOLDER, phone_setup, snippet, template_of, widget_config


def test_the_template_fills_its_gaps_from_the_agent_then_the_platform() -> None:
    spec = {"name": "Ava", "greeting": "Hello!", "channels": {"web": {"colour": "#112233"}}}

    config = widget_config("agt_1", spec)

    assert (config.title, config.greeting, config.colour, config.position, config.voice) == (
        "Ava", "Hello!", "#112233", "bottom-right", False)
    assert widget_config("agt_1", {"name": "Bo"}).greeting == "Hi! How can I help you today?"


def test_a_stored_template_is_read_leniently() -> None:
    newer = {"channels": {"web": {"title": "Ask us", "bubble_shape": "round"}}}  # a field from a newer version
    broken = {"channels": {"web": {"colour": "not a colour"}}}                 # stored before it was checked

    assert template_of(newer).title == "Ask us"
    assert template_of(broken).colour == "#2563eb"
    assert template_of({"channels": {"web": "yes"}}).title is None
    assert template_of({}).position == "bottom-right"


def test_the_snippet_is_one_tag_with_the_address_and_key_escaped() -> None:
    assert snippet("https://afo.example.com/") == (
        f'<script src="https://afo.example.com/widget.js" data-afo-key="{KEY_PLACEHOLDER}" async></script>')
    assert snippet('https://x.example/"><b', 'pk_"1') == (
        '<script src="https://x.example/&quot;&gt;&lt;b/widget.js" data-afo-key="pk_&quot;1" async></script>')


def test_phone_setup_only_for_an_agent_with_numbers() -> None:
    assert phone_setup("https://afo.example.com", []) is None
    setup = phone_setup("https://afo.example.com/", ["+14155550100"])
    assert setup is not None and setup.sms_webhook_url == "https://afo.example.com/twilio/sms"
