"""``steer batch in.jsonl -o out.jsonl``: a batch from the terminal, resumable (docs/batch.md).

Each input line is a JSON object ``{"id": ..., "prompt": ... | "messages": [...],
"model"?: ..., <call arguments>}`` (an item without an id gets its line number). Each
output line is one item's :meth:`~steer_common.batch.BatchResult.record`, written with one
``write(2)`` as the item finishes and ``fsync``\\ ed every ``--fsync-every`` seconds, so:

- killing the process (even with SIGKILL) loses at most the items running, never a
  finished one, and never leaves half a line (a torn last line, from a machine that
  crashed mid-write, is cut off by the next run);
- running it again skips the ids already in the output and does the rest
  (``--retry-errors`` also redoes the items whose line holds an error).

Progress goes to stderr: a live bar on a terminal (done/total, errors, tokens per second,
cost so far, ETA), plain lines every ``--progress-every`` seconds otherwise, and a summary
at the end (usage and cost totals, errors by type).

Exit codes, of the output as it stands (an error line an earlier run left counts until
``--retry-errors`` redoes it): 0 every item succeeded, 4 some failed (their errors are in
the output), 9 the cost cap stopped the batch before every item started (run again with a
higher cap to go on), 2 bad arguments, 3 configuration (a missing key, an unreadable
file), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from steer_common.batch import BatchResult, BatchSummary, InvalidItemError
from steer_common.errors import ConfigurationError
from steer_common.extras import install
from steer_common.routing import API_KEY_ENV, route_model
from steer_emulator.server import Emulator
from steer_sync.client import SteerLLMClient

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_FAILURES = 4
EXIT_COST_CAP = 9
EXIT_INTERRUPTED_BY_USER = 130


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steer batch",
        description="Run every prompt of a JSONL file; write one JSON line per item.",
    )
    parser.add_argument("input", help="the JSONL file of items, or - for stdin")
    parser.add_argument("-o", "--output", required=True, help="the JSONL file of results")
    parser.add_argument("-m", "--model", default="gpt-4o-mini", help="model of items naming none")
    parser.add_argument(
        "-c", "--concurrency", type=_positive_int, default=8, help="calls at once (default 8)"
    )
    parser.add_argument("--rpm", type=_positive_float, help="requests per minute, at most")
    parser.add_argument("--tpm", type=_positive_float, help="tokens per minute, at most")
    parser.add_argument("--max-cost", type=float, help="start no item past this cost, in USD")
    parser.add_argument("--max-tokens", type=_positive_int, help="max_tokens of every item")
    parser.add_argument("--temperature", type=float, help="temperature of every item")
    parser.add_argument("--base-url", help="base URL of the model's provider")
    parser.add_argument(
        "--retry-errors", action="store_true", help="also redo the items whose line has an error"
    )
    parser.add_argument(
        "--fsync-every", type=float, default=1.0, metavar="S",
        help="fsync the output at most every S seconds (0: after every line; default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--progress-every", type=_positive_float, default=10.0, metavar="S",
        help="when stderr is not a terminal, a progress line every S seconds (default 10)",
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    parser.add_argument(
        "--emulate", action="store_true", help="answer from the bundled loopback emulator"
    )
    parser.add_argument(
        "--engine", choices=["local", "ray"], default="local",
        help=f"local threads (default) or a Ray cluster ({install('ray')})",
    )  # fmt: skip
    parser.add_argument(
        "--ray-address", help="the Ray cluster to join (default: start a local one)"
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=2, help="Ray actors (default 2), each one client"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _start(args)
    except KeyboardInterrupt:  # pragma: no cover - _run handles it while the batch runs
        return EXIT_INTERRUPTED_BY_USER


def _start(args: argparse.Namespace) -> int:
    try:
        provider, _ = route_model(args.model)
    except ConfigurationError as exc:
        return _fail(exc)
    if args.emulate:
        with Emulator() as emulator:
            keys = dict.fromkeys(emulator.base_urls, "emulator-key")
            return _run(args, keys, dict(emulator.base_urls))
    env = API_KEY_ENV.get(provider)
    if provider != "openai_compatible" and env and not os.environ.get(env) and not args.base_url:
        # Unlike `steer PROMPT`, a batch never falls back to the emulator by itself: an
        # output file of emulated replies is never what a real job meant.
        sys.stderr.write(f"steer batch: {env} is not set (or pass --emulate to try it out)\n")
        return EXIT_CONFIGURATION
    return _run(args, None, {provider: args.base_url} if args.base_url else {})


def _run(args: argparse.Namespace, keys: dict[str, str] | None, base_urls: dict[str, str]) -> int:
    try:
        done_ids, failed_before = _resume(args.output, retry_errors=args.retry_errors)
        source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"steer batch: {exc}\n")
        return EXIT_CONFIGURATION
    total = None if args.input == "-" else _count_left(args.input, done_ids)
    defaults: dict[str, Any] = {"model": args.model}
    if args.max_tokens is not None:
        defaults["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        defaults["temperature"] = args.temperature
    settings = {
        "max_concurrency": args.concurrency,
        "requests_per_minute": args.rpm,
        "tokens_per_minute": args.tpm,
        "max_cost_usd": args.max_cost,
        "total": total,
        **defaults,
    }
    items = _items(source, done_ids)
    progress = None if args.quiet else _Progress(total, args.progress_every)
    writer = _Writer(args.output, args.fsync_every)
    code = EXIT_OK
    summary: BatchSummary | None = None
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(writer.close)
            stack.callback(source.close)
            if args.engine == "ray":
                from steer_sync.ray_batch import ray_batch  # noqa: PLC0415 - the [ray] extra

                batch: Any = ray_batch(
                    items, workers=args.workers, address=args.ray_address,
                    client_settings={"api_keys": keys, "base_urls": base_urls}, **settings,
                )  # fmt: skip
            else:
                client = stack.enter_context(SteerLLMClient(api_keys=keys, base_urls=base_urls))
                batch = client.batch(items, **settings)
            stack.enter_context(contextlib.closing(batch))
            summary = batch.summary
            for result in batch:
                if not result.skipped:
                    writer.write(result)
                if progress is not None:
                    progress.update(result, batch.summary)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED_BY_USER
    except ConfigurationError as exc:
        return _fail(exc)
    finally:
        if progress is not None:
            progress.close()
    # The output file as it stands: what this run wrote, and what earlier runs left there
    # (an error line left by an earlier run is a failed item still, until --retry-errors).
    failed = len(failed_before) + (summary.failed if summary is not None else 0)
    succeeded = len(done_ids) - len(failed_before)
    succeeded += summary.succeeded if summary is not None else 0
    undone = summary.skipped if summary is not None else 0
    if summary is not None and not args.quiet:
        sys.stderr.write(summary.report() + "\n")
        already = f" ({len(done_ids):,} were there already)" if done_ids else ""
        sys.stderr.write(f"wrote {writer.lines:,} lines to {args.output}{already}\n")
        sys.stderr.write(_standing(args.output, succeeded, failed, len(failed_before), undone))
    if code == EXIT_OK:
        if undone:
            code = EXIT_COST_CAP
        elif failed:
            code = EXIT_FAILURES
    return code


def _standing(path: str, succeeded: int, failed: int, earlier: int, undone: int) -> str:
    """What the output holds now, earlier runs' lines included."""
    line = f"{path} holds {succeeded + failed:,} items: {succeeded:,} succeeded, {failed:,} failed"
    if earlier:
        line += f" ({earlier:,} in an earlier run: --retry-errors runs them again)"
    if undone:
        line += f"; {undone:,} not started (cost cap)"
    if not failed and not undone:
        line += ": every item succeeded"
    return line + "\n"


def _resume(path: str, *, retry_errors: bool) -> tuple[set[Any], set[Any]]:
    """The ids already in the output, and those of them whose line holds an error; a
    torn last line is cut off first (and, with ``retry_errors``, the lines holding errors
    are dropped, so those items run again)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return set(), set()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # the last line has no newline: it is incomplete
        with open(path, "r+b") as f:
            f.truncate(end)
            os.fsync(f.fileno())
    done: set[Any] = set()
    failed: set[Any] = set()
    kept: list[bytes] = []
    dropped = 0
    for number, line in enumerate(data[:end].splitlines(keepends=True), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            item_id = record["id"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}, line {number}: not a line this command wrote") from None
        if record.get("error") is not None:
            if retry_errors:
                dropped += 1
                continue
            failed.add(item_id)
        done.add(item_id)
        kept.append(line)
    if dropped:
        _replace(path, b"".join(kept))
    return done, failed


def _replace(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, fsynced, renamed)."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def _items(source: IO[str], done: set[Any]) -> Iterator[Any]:
    """The items of the input not done yet, one line at a time."""
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            item_id = f"line {number}"
            if item_id not in done:
                yield InvalidItemError(f"line {number} is not JSON: {exc}", item_id=item_id)
            continue
        if isinstance(item, dict):
            item.setdefault("id", number)  # stable across runs, so resume finds it
            if item["id"] in done:
                continue
        yield item


def _count_left(path: str, done: set[Any]) -> int:
    """How many items of the input file are not done yet (for the progress's total)."""
    left = 0
    with open(path, encoding="utf-8") as f:
        if not done:  # a first run: no line needs reading
            return sum(1 for line in f if line.strip())
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                item_id = item.get("id", number) if isinstance(item, dict) else None
            except ValueError:
                item_id = f"line {number}"
            left += item_id not in done
    return left


class _Writer:
    """Appends one line per result with a single ``write(2)``; fsyncs at most every
    ``every`` seconds, and at the end."""

    def __init__(self, path: str, every: float) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._every = every
        self._synced = time.monotonic()
        self.lines = 0

    def write(self, result: BatchResult) -> None:
        line = json.dumps(result.record(), ensure_ascii=False, default=str) + "\n"
        data = line.encode()
        while data:  # a regular file takes it whole; a pipe may not
            data = data[os.write(self._fd, data) :]
        self.lines += 1
        now = time.monotonic()
        if now - self._synced >= self._every:
            os.fsync(self._fd)
            self._synced = now

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


class _Progress:
    """A tqdm bar on a terminal, plain lines every ``every`` seconds otherwise.

    tqdm rather than rich: one small dependency-free package that draws a bar with rate
    and ETA on any terminal and writes nothing else; rich would bring a whole rendering
    stack (markdown, syntax highlighting) for one line.
    """

    def __init__(self, total: int | None, every: float) -> None:
        self._bar: Any = None
        self._every = every
        self._next = time.monotonic() + every
        if sys.stderr.isatty():
            from tqdm import tqdm  # noqa: PLC0415 - only on a terminal

            self._bar = tqdm(total=total, unit="item", file=sys.stderr, dynamic_ncols=True)

    def update(self, result: BatchResult, summary: BatchSummary) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(
                f"errors {summary.failed:,}, {summary.tokens_per_second:,.0f} tok/s, "
                f"${summary.cost_usd:.4f}",
                refresh=False,
            )
            return
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._every
            sys.stderr.write(f"steer batch: {summary.line()}\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _fail(error: BaseException) -> int:
    sys.stderr.write(f"steer batch: {type(error).__name__}: {error}\n")
    return EXIT_CONFIGURATION
