from typing import Any

import pytest
from pydantic import ValidationError

from afo_agent_runtime.domain.agent import AgentPatch, AgentSpec, LlmConfig, apply_patch


def field(name: str, kind: str = "text") -> dict[str, Any]:
    return {"name": name, "kind": kind}


def test_a_patch_changes_only_the_fields_it_sends() -> None:
    spec = AgentSpec(name="Ava", persona="Friendly.", greeting="Hey!", timezone="Europe/Berlin")

    patched = apply_patch(spec, AgentPatch.model_validate({"name": "Ava 2", "goals": ["book"]}))

    assert patched.name == "Ava 2" and patched.goals == ["book"]
    assert patched.persona == "Friendly." and patched.greeting == "Hey!" and patched.timezone == "Europe/Berlin"
    assert spec.name == "Ava"


def test_an_explicit_null_in_a_patch_clears_an_optional_field() -> None:
    spec = AgentSpec(name="Ava", greeting="Hey!")

    patched = apply_patch(spec, AgentPatch.model_validate({"greeting": None}))

    assert patched.greeting is None


def test_a_patch_replaces_nested_objects_whole() -> None:
    spec = AgentSpec.model_validate(
        {"name": "Ava", "llm": {"provider": "openai", "model": "m", "base_url": "http://x", "temperature": 1.0}}
    )

    patched = apply_patch(spec, AgentPatch.model_validate({"llm": {"temperature": 0.5}}))

    assert patched.llm == LlmConfig(provider="embedded", temperature=0.5)


@pytest.mark.parametrize(
    ("patch", "location"),
    [
        ({"timezone": "Nowhere/Special"}, ("timezone",)),
        ({"name": None}, ("name",)),
        ({"qualification_fields": [field("a"), field("a")]}, ("qualification_fields",)),
    ],
)
def test_a_patch_that_would_make_the_spec_invalid_is_rejected(patch: dict[str, Any], location: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        apply_patch(AgentSpec(name="Ava"), AgentPatch.model_validate(patch))

    assert [e["loc"] for e in caught.value.errors()] == [location]


@pytest.mark.parametrize(
    "patch",
    [{"name": "x" * 81}, {"goals": ["g"] * 21}, {"unknown": 1}, {"llm": {"provider": "openai"}}],
)
def test_a_malformed_patch_is_rejected_before_it_is_applied(patch: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AgentPatch.model_validate(patch)


def test_the_idle_timeout_defaults_to_thirty_minutes_is_bounded_and_a_null_restores_the_default() -> None:
    spec = AgentSpec(name="Ava")
    assert spec.idle_timeout_minutes == 30

    shorter = apply_patch(spec, AgentPatch.model_validate({"idle_timeout_minutes": 5}))
    restored = apply_patch(shorter, AgentPatch.model_validate({"idle_timeout_minutes": None}))

    assert (shorter.idle_timeout_minutes, restored.idle_timeout_minutes) == (5, 30)
    for bad in (0, -1, 7 * 24 * 60 + 1, "soon"):
        with pytest.raises(ValidationError):
            AgentSpec.model_validate({"name": "Ava", "idle_timeout_minutes": bad})
    # A configuration stored before the setting existed reads with the default.
    assert AgentSpec.model_validate({"name": "Ava"}).idle_timeout_minutes == 30
