"""Settings: parsed once, validated, unknown names refused, values never echoed."""

from __future__ import annotations

import pytest

from authorizers.core.config import CoreConfig, HttpResponseFormat, Settings
from authorizers.core.exceptions import ConfigurationError, Reason

SECRET = "s3cr3t-value-never-echoed"


def test_readers_parse_and_default():
    env = {
        "GATEHOUSE_A": " text ",
        "GATEHOUSE_N": "42",
        "GATEHOUSE_F": "1.5",
        "GATEHOUSE_B": "Yes",
        "GATEHOUSE_L": "a, b ,c",
        "GATEHOUSE_HTTP_RESPONSE_FORMAT": "SIMPLE",
    }
    settings = Settings(env)
    assert settings.text("GATEHOUSE_A", hint="x") == "text"
    assert settings.integer("GATEHOUSE_N", minimum=0, maximum=100) == 42
    assert settings.number("GATEHOUSE_F", minimum=0, maximum=2) == 1.5
    assert settings.boolean("GATEHOUSE_B", default=False) is True
    assert settings.items("GATEHOUSE_L", hint="x") == ("a", "b", "c")
    assert settings.integer("GATEHOUSE_MISSING", default=7, minimum=0, maximum=9) == 7
    assert settings.optional_text("GATEHOUSE_NONE") is None
    core = CoreConfig.read(settings)
    assert core.http_response_format is HttpResponseFormat.SIMPLE
    assert core.tracing is False  # opt-in: the X-Ray SDK costs ~250 ms of cold start
    settings.finish()


@pytest.mark.parametrize(
    ("read", "fragment"),
    [
        (
            lambda s: s.text("GATEHOUSE_X", hint="the issuer URL"),
            "required and not set; the issuer URL",
        ),
        (lambda s: s.integer("GATEHOUSE_X", minimum=1, maximum=5), "required and not set"),
        (lambda s: s.items("GATEHOUSE_X", hint="RS256,ES256"), "required and not set; RS256,ES256"),
    ],
)
def test_missing_required_settings_name_the_variable_and_the_fix(read, fragment):
    with pytest.raises(ConfigurationError) as caught:
        read(Settings({}))
    assert caught.value.setting == "GATEHOUSE_X"
    assert fragment in str(caught.value)
    assert caught.value.reason is Reason.CONFIGURATION


@pytest.mark.parametrize(
    ("read", "fragment"),
    [
        (lambda s: s.integer("GATEHOUSE_X", minimum=1, maximum=5), "whole number"),
        (lambda s: s.number("GATEHOUSE_X", minimum=1, maximum=5), "must be a number"),
        (lambda s: s.boolean("GATEHOUSE_X", default=True), "true or false"),
        (lambda s: s.choice("GATEHOUSE_X", HttpResponseFormat), "one of iam, simple"),
        (lambda s: s.items("GATEHOUSE_X", hint="h"), "lists an item twice"),
    ],
)
def test_malformed_values_are_errors_that_never_echo_the_value(read, fragment):
    value = f"{SECRET},{SECRET}"
    with pytest.raises(ConfigurationError) as caught:
        read(Settings({"GATEHOUSE_X": value}))
    assert fragment in str(caught.value)
    assert SECRET not in str(caught.value)


def test_out_of_range_and_empty_items_are_errors():
    with pytest.raises(ConfigurationError, match="out of range"):
        Settings({"GATEHOUSE_X": "9"}).integer("GATEHOUSE_X", minimum=1, maximum=5)
    with pytest.raises(ConfigurationError, match="empty item"):
        Settings({"GATEHOUSE_X": "a,,b"}).items("GATEHOUSE_X", hint="h")
    with pytest.raises(ConfigurationError):
        Settings({"GATEHOUSE_X": "nan"}).number("GATEHOUSE_X", minimum=0, maximum=1)


def test_unknown_settings_are_errors_with_a_suggestion():
    # A misspelt security setting must not be silently ignored.
    settings = Settings({"GATEHOUSE_JWT_ISSEUR": "x", "OTHER": "y"})
    settings.optional_text("GATEHOUSE_JWT_ISSUER")
    with pytest.raises(ConfigurationError) as caught:
        settings.finish()
    assert caught.value.setting == "GATEHOUSE_JWT_ISSEUR"
    assert "did you mean GATEHOUSE_JWT_ISSUER?" in str(caught.value)


def test_settings_read_elsewhere_can_be_declared_known():
    settings = Settings({"GATEHOUSE_A": "1", "GATEHOUSE_B": "2"})
    settings.text("GATEHOUSE_A", hint="x")
    settings.finish(also_known=["GATEHOUSE_B"])


def test_blank_values_count_as_unset():
    assert Settings({"GATEHOUSE_X": "   "}).boolean("GATEHOUSE_X", default=True) is True
    with pytest.raises(ValueError, match="start with"):
        Settings({}).text("OTHER", hint="x")


def test_items_also_take_a_json_list_of_strings_with_the_same_checks():
    assert Settings({"GATEHOUSE_X": '["a", " b"]'}).items("GATEHOUSE_X", hint="h") == ("a", "b")
    for bad, problem in (
        ('["a", 1]', "JSON list of strings"),
        ('["a", "a"]', "twice"),
        ('["a", ""]', "empty item"),
        ("[a", "JSON list of strings"),
    ):
        with pytest.raises(ConfigurationError, match=problem):
            Settings({"GATEHOUSE_X": bad}).items("GATEHOUSE_X", hint="h")


def test_ranges_print_whole_numbers_in_full():
    # The attack run saw "between 1024 and 1.04858e+06" for the JWKS max bytes.
    with pytest.raises(ConfigurationError) as error:
        Settings({"GATEHOUSE_X": "5"}).integer("GATEHOUSE_X", minimum=1024, maximum=1_048_576)
    assert str(error.value).endswith("between 1024 and 1048576")
    with pytest.raises(ConfigurationError, match=r"between 0\.1 and 10"):
        Settings({"GATEHOUSE_X": "50"}).number("GATEHOUSE_X", minimum=0.1, maximum=10)
