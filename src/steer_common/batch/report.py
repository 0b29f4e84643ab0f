"""A batch's running totals: the progress line and the end-of-batch summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from steer_common.batch.items import BatchResult

__all__ = ["BatchSummary"]


@dataclass(slots=True)
class BatchSummary:
    """The running totals of a batch (what the progress display and the summary show)."""

    total: int | None = None
    done: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    attempts: int = 0
    requeues: int = 0
    rate_limited: int = 0  # 429 answers seen, on every attempt
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    def add(self, result: BatchResult) -> None:
        """Count a finished item."""
        self.done += 1
        self.attempts += result.attempts
        self.requeues += result.requeues
        if result.skipped:
            self.skipped += 1
        elif result.ok:
            self.succeeded += 1
        else:
            self.failed += 1
        if result.error is not None:
            self.errors[type(result.error).__name__] += 1
        response = result.usage_response
        if response is not None:
            usage = response.usage or {}
            self.input_tokens += usage.get("prompt_tokens") or 0
            self.output_tokens += usage.get("completion_tokens") or 0
            self.cost_usd += response.cost_usd or 0.0

    @property
    def tokens_per_second(self) -> float:
        """Tokens (in and out) per second of the batch so far."""
        return (self.input_tokens + self.output_tokens) / self.elapsed if self.elapsed else 0.0

    def line(self) -> str:
        """One line of progress: ``120/1000 done, 2 errors, 3,400 tok/s, $0.0123``."""
        total = "?" if self.total is None else f"{self.total:,}"
        parts = [f"{self.done:,}/{total} done", f"{self.failed:,} errors"]
        if self.skipped:
            parts.append(f"{self.skipped:,} not started (cost cap)")
        parts.append(f"{self.tokens_per_second:,.0f} tok/s")
        parts.append(f"${self.cost_usd:.4f}")
        if self.total and self.done and self.elapsed:
            left = (self.total - self.done) * self.elapsed / self.done
            parts.append(f"ETA {_clock(left)}")
        return ", ".join(parts)

    def report(self) -> str:
        """The end-of-batch summary: totals of usage and cost, errors by type."""
        lines = [
            f"{self.done:,} items in {_clock(self.elapsed)}: {self.succeeded:,} succeeded, "
            f"{self.failed:,} failed, {self.skipped:,} not started",
            f"usage: {self.input_tokens:,} input + {self.output_tokens:,} output tokens; "
            f"cost ${self.cost_usd:.6f}",
            f"attempts: {self.attempts:,} ({self.rate_limited:,} answered 429, "
            f"{self.requeues:,} requeued)",
        ]
        if self.errors:
            by_type = ", ".join(f"{name} {count:,}" for name, count in self.errors.most_common())
            lines.append(f"errors: {by_type}")
        return "\n".join(lines)


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
