"""``steer``: stream a reply from the terminal (also ``python -m steer_sync``).

    steer "Tell me a story" -m gpt-4o-mini
    echo "Summarize this" | steer - -m claude-sonnet-4-5 --system "Be brief"
    steer "Say hi" --emulate          # no key, no network: the bundled loopback emulator
    steer batch prompts.jsonl -o results.jsonl   # many prompts, resumable (docs/batch.md)

Without a key for the model's provider (and no ``--base-url``), ``steer`` says so and
answers from the emulator; ``--no-emulate`` makes a missing key an error instead.
The reply streams to stdout; usage, cost (when the price is known) and time to first
token go to stderr (``--verbose`` adds the request id, each attempt and retry, and the
timings). It behaves like a Unix tool: a reader that stops early (``steer ... | head``)
ends it quietly, and Ctrl-C stops it without a traceback.

Exit codes: 0 done, 2 bad arguments (an empty prompt, a negative ``--max-tokens``),
3 configuration (a missing key, an unknown model), 4 the provider refused (an HTTP or
in-band error), 5 the stream was cut short, 6 a timeout or connection failure,
1 anything else, 130 interrupted (Ctrl-C), 141 the reader closed the pipe.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from steer_common._version import __version__
from steer_common.errors import (
    APIError,
    CallbackError,
    ConfigurationError,
    SteerError,
    StreamInterruptedError,
    TransportError,
)
from steer_common.options import StreamingOptions
from steer_common.routing import API_KEY_ENV, route_model
from steer_emulator.server import Emulator
from steer_sync.client import SteerLLMClient

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_PROVIDER = 4
EXIT_INTERRUPTED = 5
EXIT_TRANSPORT = 6
EXIT_INTERRUPTED_BY_USER = 130  # 128 + SIGINT, as shells report Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a Unix tool whose reader left


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of tokens, not {number}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steer",
        description="Stream a reply from OpenAI, Anthropic, Google Gemini, Vertex AI, Azure "
        "OpenAI, AWS Bedrock, xAI or an OpenAI-compatible server (the model's name or prefix "
        "picks it: gpt-4o-mini, claude-sonnet-5, gemini-2.5-flash, bedrock/..., azure/...).",
        epilog="A batch of prompts, JSONL in and out, resumable: steer batch --help.",
    )
    parser.add_argument("prompt", help="the prompt, or - to read it from stdin")
    parser.add_argument("--version", action="version", version=f"steer {__version__}")
    parser.add_argument("-m", "--model", default="gpt-4o-mini", help="model (default: %(default)s)")
    parser.add_argument("--system", help="a system message")
    parser.add_argument("--json", action="store_true", help="ask for a JSON object")
    parser.add_argument("--base-url", help="base URL of the model's provider")
    parser.add_argument("--max-tokens", type=_positive, help="the most tokens to generate")
    parser.add_argument("--temperature", type=float, help="sampling temperature")
    parser.add_argument(
        "--openai-api", choices=["chat", "responses"], default="chat",
        help="OpenAI streaming API for OpenAI models (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="also print the request id, every attempt and retry, and the timings (stderr)",
    )  # fmt: skip
    emulation = parser.add_mutually_exclusive_group()
    emulation.add_argument(
        "--emulate", action="store_true",
        help="answer from the bundled loopback emulator: no key, no network",
    )  # fmt: skip
    emulation.add_argument(
        "--no-emulate", action="store_true",
        help="never fall back to the emulator when no API key is set",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [
        "batch"
    ]:  # `steer batch in.jsonl -o out.jsonl` (a prompt "batch": `steer -- batch`)
        from steer_sync.batch_cli import main as batch  # noqa: PLC0415 - only for batches

        return batch(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
        if not prompt.strip():
            parser.error("the prompt is empty: nothing to send")
        if args.verbose:
            _log_attempts()
        return _start(args, prompt)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED_BY_USER


def _start(args: argparse.Namespace, prompt: str) -> int:
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    try:
        provider, _ = route_model(args.model)
    except ConfigurationError as exc:
        return _fail(exc, EXIT_CONFIGURATION)
    key_missing = provider != "openai_compatible" and not os.environ.get(API_KEY_ENV[provider])
    if key_missing and not (args.emulate or args.no_emulate or args.base_url):
        sys.stderr.write(
            f"steer: {API_KEY_ENV[provider]} is not set: answering from the bundled "
            "loopback emulator (set the key for the real API; --no-emulate to refuse)\n"
        )
        args.emulate = True
    if args.emulate:
        with Emulator() as emulator:
            keys = dict.fromkeys(emulator.base_urls, "emulator-key")
            return _run(args, messages, keys, dict(emulator.base_urls))
    base_urls: dict[str, str] = {}
    if args.base_url:
        base_urls[provider] = args.base_url
    return _run(args, messages, None, base_urls)


def _log_attempts() -> None:
    """``--verbose``: the session's account of each attempt and retry, to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("steer: %(message)s"))
    logger = logging.getLogger("steer_common.session")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _run(
    args: argparse.Namespace,
    messages: list[dict[str, Any]],
    api_keys: dict[str, str] | None,
    base_urls: dict[str, str],
) -> int:
    response = None
    out = sys.stdout

    def on_delta(text: str) -> None:
        out.write(text)
        out.flush()

    options = StreamingOptions(on_delta=on_delta)
    with SteerLLMClient(api_keys, base_urls, openai_api=args.openai_api) as client:
        try:
            response = client.stream_with_usage(
                messages,
                model=args.model,
                streaming_options=options,
                response_format={"type": "json_object"} if args.json else None,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
            )
        except CallbackError as exc:
            if isinstance(exc.__cause__, BrokenPipeError):
                return _reader_left()
            return _fail(exc, EXIT_ERROR)
        except ConfigurationError as exc:
            return _fail(exc, EXIT_CONFIGURATION)
        except APIError as exc:
            return _fail(exc, EXIT_PROVIDER)
        except StreamInterruptedError as exc:
            return _fail(exc, EXIT_INTERRUPTED)
        except TransportError as exc:
            return _fail(exc, EXIT_TRANSPORT)
        except SteerError as exc:
            return _fail(exc, EXIT_ERROR)
    try:
        out.write("\n")
        out.flush()
    except BrokenPipeError:
        return _reader_left()
    usage = response.usage or {}
    metrics = response.metrics
    parts = [f"{response.provider} {response.model}"]
    if usage:
        parts.append(
            f"tokens: {usage.get('prompt_tokens')} in, {usage.get('completion_tokens')} out"
        )
    if response.cost_usd is not None:
        parts.append(f"cost: ${response.cost_usd:.6f}")
    if metrics.time_to_first_token is not None:
        parts.append(f"first token: {metrics.time_to_first_token * 1000:.0f} ms")
    sys.stderr.write(" | ".join(parts) + "\n")
    if args.verbose:
        sys.stderr.write(_details(response) + "\n")
    return EXIT_OK


def _details(response: Any) -> str:
    """``--verbose``: the request id, the attempts and the timings of a finished stream."""
    metrics = response.metrics
    lines = [
        f"request id: {response.request_id or '(none sent)'}",
        f"response id: {response.response_id or '(none sent)'}",
        f"attempts: {metrics.attempts} ({metrics.attempts - 1} retried)",
        f"finish: {response.finish_reason} ({response.native_finish_reason})",
    ]
    timings = [
        ("first byte", metrics.time_to_first_byte),
        ("first token", metrics.time_to_first_token),
        ("total", metrics.duration),
    ]
    lines.append(
        "timings: "
        + ", ".join(f"{name} {value * 1000:.0f} ms" for name, value in timings if value is not None)
    )
    lines.append(
        f"received: {metrics.bytes:,} bytes, {metrics.events} events, {metrics.deltas} deltas"
    )
    served = [
        f"model {response.model}" if response.model else "",
        f"service tier {response.service_tier}" if response.service_tier else "",
        f"fingerprint {response.system_fingerprint}" if response.system_fingerprint else "",
    ]
    if any(served):
        lines.append("served: " + ", ".join(part for part in served if part))
    limit = response.rate_limit
    if limit is not None:
        lines.append("rate limit: " + _limits(limit))
    for attempt in response.attempts:
        ended = attempt.error or f"HTTP {attempt.status}"
        wait = f", then waited {attempt.wait:.2f} s" if attempt.wait is not None else ""
        lines.append(f"attempt {attempt.number}: {ended} in {attempt.duration * 1000:.0f} ms{wait}")
    return "\n".join("steer: " + line for line in lines)


def _limits(limit: Any) -> str:
    """``requests 9999/10000 (reset 6 ms), tokens 29999950/30000000 (reset 0 ms)``."""
    parts = []
    for kind in ("requests", "tokens"):
        remaining, cap = getattr(limit, f"{kind}_remaining"), getattr(limit, f"{kind}_limit")
        if remaining is None and cap is None:
            continue
        reset = getattr(limit, f"{kind}_reset")
        when = f" (reset {reset * 1000:.0f} ms)" if reset is not None else ""
        parts.append(f"{kind} {remaining if remaining is not None else '?'}/{cap or '?'}{when}")
    return ", ".join(parts) or "(sent, not understood: see response.rate_limit.raw)"


def _reader_left() -> int:
    """The reader closed the pipe (``steer ... | head``): stop quietly, as Unix tools do."""
    # Point stdout at /dev/null so that the interpreter's last flush does not complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _fail(error: SteerError, code: int) -> int:
    sys.stdout.flush()
    sys.stderr.write(f"\nsteer: {type(error).__name__}: {error}\n")
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
