"""The ``steer_emulator`` fixture, as a user's project gets it: registered through the
package's pytest11 entry point, in a separate pytest run."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_the_fixture_points_every_client_at_the_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app="""
        import os

        import steer_sync


        def answer(question):  # the user's app: a client built from the environment
            return "".join(steer_sync.SteerLLMClient().stream(question, model="gpt-4o-mini"))


        def test_answer(steer_emulator):
            assert answer("Say hi") == "Echo: Say hi"
            assert steer_emulator.requests[-1].body["model"] == "gpt-4o-mini"
            assert os.environ["ANTHROPIC_BASE_URL"] == steer_emulator.base_urls["anthropic"]


        def test_scripted(steer_emulator):
            steer_emulator.enqueue({"text": "forced"})
            client = steer_sync.SteerLLMClient()
            assert client.stream_with_usage("x", model="claude-sonnet-4-5").text == "forced"


        def test_environment_restored():
            assert os.environ.get("OPENAI_API_KEY") != "steer-emulator-key"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
