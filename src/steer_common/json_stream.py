"""Incremental JSON: validate a document as its text streams in, in linear time.

:class:`JSONStream` takes the text in pieces split anywhere (``feed``), validates every
character once, reports the first invalid character with its offset and the text around
it, bounds nesting depth and size, and can hand out a *partial value* at any moment:
closed containers complete, the open ones as far as they have arrived (a string being
received is included as far as it has arrived; a number only once it is complete, so a
partial value only ever grows toward the final one).

Why not re-parse: the official SDKs' helpers parse the whole accumulated text again on
every fragment (``jiter`` partial mode), which is quadratic in the document size. Here
each fragment is scanned once. Speed comes from the C scanner behind ``json.loads``: at
the start of every value the machine first asks it for the whole value; a value that
ends inside the text received so far (most of them) costs one C call, and only a value
that runs past the end of the text is descended into, token by token, by the state
machine below. Long strings are consumed with one compiled regular expression per run.

Python's cost is per step, not per character, and a piece of a streamed reply is short:
checking every piece as it arrives (the default) means walking most containers token by
token. With ``hold=True`` pieces are queued (one list append each) and parsed together
once ``hold_chars`` have arrived, so most values are complete when the scanner sees them,
and a short container that is not is held back for the next batch instead of walked:
several times faster (``benchmarks/json_stream.py``), for errors found up to
``hold_chars`` later. ``partial()`` parses what is held back first, so it always shows
everything fed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic_core import from_json

from steer_common.errors import JSONModeError

__all__ = ["DEFAULT_HOLD_CHARS", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_SIZE", "JSONStream"]

#: Deepest nesting accepted (the C parser's own recursion limit is far above this).
DEFAULT_MAX_DEPTH = 256
#: Most characters accepted in one document.
DEFAULT_MAX_SIZE = 64 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are not JSON: the C scanner must refuse them, not parse them.
_scan_once = json.JSONDecoder(parse_constant=_reject_constant).scan_once  # type: ignore[attr-defined]
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")
# A run of string content: plain characters and complete escapes.
_STRING_RUN = re.compile(r'(?:[^"\\\x00-\x1f]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUMBER_CHARS = re.compile(r"[-+0-9.eE]*")
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
# A number the text ends in (it may go on): where it starts, after a bracket, "," or ":".
_TRAILING_NUMBER = re.compile(r"(?<=[\[,:\s])-?[0-9][-+0-9.eE]*$|(?<=[\[,:\s])-$")
_NUMBER_CONTINUE = frozenset("-+.eE0123456789")
#: With ``hold``: characters held back before they are parsed together.
DEFAULT_HOLD_CHARS = 1024

# What the machine expects next.
_VALUE = 0  # a value (at the root, after ":" or ",")
_VALUE_OR_CLOSE = 1  # after "[": a value or "]"
_KEY_OR_CLOSE = 2  # after "{": a key or "}"
_KEY = 3  # after "," in an object
_COLON = 4  # after a key
_COMMA_OR_CLOSE = 5  # after a value in a container
_STRING = 6  # inside a string
_NUMBER_STATE = 7  # inside a number
_LITERAL = 8  # inside true / false / null
_DONE = 9  # the root value is complete

_MISSING = object()


class JSONStream:
    """Incremental JSON validation and parsing (see the module docstring).

    ``feed(text)`` returns the values completed by that text at depth one (each member
    of the root object and element of the root array, as ``(path, value)``) and, when
    the document ends, the root as ``((), value)``. ``close()`` checks the document is
    complete and returns the same kind of list.

    Args:
        max_depth: the deepest nesting accepted.
        max_size: the most characters accepted.
        hold: trade promptness for speed. ``False`` (the default) checks every character
            as it arrives, so an invalid one raises in the ``feed`` that brings it.
            ``True`` queues pieces and parses them together once ``hold_chars`` have
            arrived (and at ``partial()`` and ``close()``): several times faster, but an
            invalid character is reported (at its exact offset) up to ``hold_chars``
            characters later, and members are reported by the ``feed`` that parses them.
        hold_chars: with ``hold``, the most characters held back unparsed.

    Raises:
        JSONModeError: from ``feed`` at the first invalid character (``position`` is its
            offset in the whole text), from ``close`` when the document is incomplete.
    """

    __slots__ = (
        "_consumed",
        "_descend_only",
        "_failed",
        "_hold",
        "_hold_chars",
        "_literal",
        "_max_depth",
        "_max_size",
        "_number",
        "_number_start",
        "_pending",
        "_queue",
        "_queued",
        "_room",
        "_stack",
        "_state",
        "_string",
        "_string_is_key",
        "_string_text",
        "_tail",
        "_tipped",
        "_unreported",
        "value",
    )

    def __init__(
        self,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_size: int = DEFAULT_MAX_SIZE,
        hold: bool = False,
        hold_chars: int = DEFAULT_HOLD_CHARS,
    ):
        self._max_depth = max_depth
        self._max_size = max_size
        self._hold = hold
        self._hold_chars = hold_chars
        self._state = _VALUE
        # Open containers, outermost first: [container, key waiting for its value]. Each
        # is in its parent from the moment it opens (the last item of a list, the value
        # of the frame's key in an object), so the root is always the value so far.
        self._stack: list[list[Any]] = []
        self._tipped: list[Any] | None = None  # a list partial() appended its tip to
        # The open string: raw (still escaped) runs, after its start decoded already by
        # partial() (so that a partial after every piece decodes each run once).
        self._string: list[str] = []
        self._string_text = ""
        self._string_is_key = False
        self._number: list[str] = []
        self._number_start = 0
        self._literal = ""
        self._pending = ""  # text carried to the next parse (see _parse)
        self._queue: list[str] = []  # pieces held back, not parsed yet (hold)
        self._unreported: list[tuple[tuple[Any, ...], Any]] = []  # parsed by partial()
        self._queued = 0  # characters in _pending and _queue
        self._failed: JSONModeError | None = None  # latched: raised again by feed/close
        self._descend_only = False
        self._consumed = 0  # characters parsed before the current text
        self._tail = ""  # the last characters parsed, for error snippets
        self._room = self._queue_room()  # feed queues while _queued stays below this
        #: The root value once it is complete (``_MISSING`` before).
        self.value: Any = _MISSING

    @property
    def done(self) -> bool:
        """The root value is complete (only whitespace may follow)."""
        return self._state == _DONE

    @property
    def open_width(self) -> int:
        """Members of the containers still open: what a snapshot ``partial()`` copies."""
        return sum(len(frame[0]) for frame in self._stack)

    @property
    def open_string(self) -> int:
        """Characters of the string value being received that a ``partial()`` copies (as
        far as the last one decoded it; 0 when no string value is open)."""
        return len(self._string_text) if self._state == _STRING else 0

    @property
    def position(self) -> int:
        """Characters parsed so far (with ``hold``, queued text is not parsed yet)."""
        return self._consumed

    # -- feeding ------------------------------------------------------------------------

    def feed(self, text: str) -> list[tuple[tuple[Any, ...], Any]]:
        """Add text; return the values it completed (see the class docstring)."""
        queued = self._queued + len(text)
        if queued < self._room:  # hold: keep the piece for the next parse
            self._queue.append(text)
            self._queued = queued
            return []
        if self._failed is not None:
            raise _again(self._failed)
        if not text and not self._queue and not self._unreported:
            return []
        return self._parse(text)

    def _parse(self, text: str) -> list[tuple[tuple[Any, ...], Any]]:
        """Parse what was held back, then ``text``."""
        if self._tipped is not None:
            self._untip()
        # Text carried from the last parse (an escape cut in two, or a short container
        # held back in hold mode) is parsed again, from its start, with what follows.
        if self._queue:
            self._queue.append(text)
            text = "".join(self._queue)
            self._queue = []
        pending = self._pending
        if pending:
            if pending[0] in "{[" and self._hold_more(pending + text, text):
                return []
            text = pending + text
        self._pending = ""
        if self._consumed + len(text) > self._max_size:
            # At the first character past the limit.
            limit = self._max_size - self._consumed
            self._error(f"the JSON exceeds {self._max_size} characters", text, limit)
        out, self._unreported = self._unreported, []
        i = 0
        end = len(text)
        ws = _WS.match
        while i < end:
            state = self._state
            if state == _STRING:
                i = self._continue_string(text, i, out)
                continue
            if state == _NUMBER_STATE:
                i = self._continue_number(text, i, out)
                continue
            if state == _LITERAL:
                i = self._continue_literal(text, i, out)
                continue
            c = text[i]
            if c in " \t\n\r":  # the regex only when there is whitespace to skip
                i = ws(text, i).end()  # type: ignore[union-attr]  # '*' always matches
                if i == end:
                    break
                c = text[i]
            if state == _COMMA_OR_CLOSE:
                if c == ",":
                    self._state = _VALUE if type(self._stack[-1][0]) is list else _KEY
                    i += 1
                elif c in {"}", "]"}:
                    i = self._close_container(c, text, i, out)
                else:
                    self._error("expected ',' or a closing bracket", text, i)
            elif state in (_VALUE, _VALUE_OR_CLOSE):
                if c == "]" and state == _VALUE_OR_CLOSE:
                    i = self._close_container(c, text, i, out)
                else:
                    i = self._value(text, i, out)
            elif state in (_KEY_OR_CLOSE, _KEY):
                if c == '"':
                    i = self._key(text, i)
                elif c == "}" and state == _KEY_OR_CLOSE:
                    i = self._close_container(c, text, i, out)
                else:
                    self._error("expected a string key", text, i)
            elif state == _COLON:
                if c != ":":
                    self._error("expected ':'", text, i)
                self._state = _VALUE
                i += 1
            else:  # _DONE
                self._error("extra data after the JSON value", text, i)
        used = len(text) - len(self._pending)
        self._consumed += used
        self._queued = len(self._pending)
        if self._hold:
            self._room = self._queue_room()
        self._tail = (self._tail + text[:used])[-40:]
        return out

    def _hold_more(self, held: str, more: str) -> bool:
        """Keep holding a held container (``held``: it and what followed) when what
        followed (``more``) cannot close it: no closing bracket in it at all (the scanner
        would only fail at its end again). Checked for errors, like all held text, when it
        is parsed."""
        if "}" in more or "]" in more or self._descend_only:
            return False
        if 2 * len(held) > self._hold_chars or self._consumed + len(held) > self._max_size:
            return False
        if held.count("{") + held.count("[") > self._max_depth - len(self._stack):
            return False
        self._pending, self._queued = held, len(held)
        self._room = self._queue_room()
        return True

    def _queue_room(self) -> int:
        if not self._hold:
            return 0
        # Up to hold_chars, and never past max_size unparsed (the parse reports it).
        return min(self._hold_chars, self._max_size - self._consumed + 1)

    def close(self) -> list[tuple[tuple[Any, ...], Any]]:
        """End of the text: the document must be complete."""
        if self._failed is not None:
            raise _again(self._failed)
        if self._tipped is not None:
            self._untip()
        out, self._unreported = self._unreported, []
        if self._pending or self._queue:
            # Parse what was held back, holding nothing again: a container that never
            # completed is walked token by token, for the error.
            self._descend_only = True
            out += self._parse("")
        if self._state == _NUMBER_STATE:
            self._finish_number("", 0, out)
        if self._state != _DONE:
            what = (
                "no JSON value"
                if self._state == _VALUE and not self._stack
                else "the JSON ended early"
            )
            self._error(f"{what} (incomplete at the end of the text)", "", 0)
        return out

    # -- values ----------------------------------------------------------------------------

    def _value(self, text: str, i: int, out: list[tuple[tuple[Any, ...], Any]]) -> int:
        c = text[i]
        if (c == "{" and text.find("}", i) < 0) or (c == "[" and text.find("]", i) < 0):
            # Its closing bracket has not arrived: it cannot be complete yet. Hold it, or
            # walk into it; either way skip the scanner (a failed scan raises, and
            # exceptions cost more than the walk).
            if self._can_hold(text, i, len(text)):
                return len(text)
            return self._open_container(text, i)
        try:
            value, after = _scan_once(text, i)
        except StopIteration as exc:
            if self._can_hold(text, i, exc.value):
                return len(text)
        except json.JSONDecodeError as exc:
            # A string the text ends in (its content so far was checked), or a \u escape
            # cut by the end of the text (pos is at its "u"), only ran out of text.
            incomplete = exc.msg.startswith("Unterminated string") or (
                exc.msg.startswith("Invalid \\uXXXX") and _could_be_escape(text[exc.pos - 1 :])
            )
            if self._can_hold(text, i, len(text) if incomplete else exc.pos):
                return len(text)
        except (ValueError, RecursionError):
            pass  # NaN, Infinity or absurd nesting: the walk below reports it
        else:
            # Complete, unless it is a number whose digits may go on in the next piece.
            if text[i] in '"{[tfn' or (after < len(text) and text[after] not in _NUMBER_CONTINUE):
                allowed = self._max_depth - len(self._stack)
                # Nesting is at most the length: only a long value needs counting.
                if after - i <= allowed or (
                    text.count("[", i, after) + text.count("{", i, after) <= allowed
                ):
                    if not self._stack:  # the whole root at once: report its members too
                        if type(value) is dict:
                            out += [((key,), member) for key, member in value.items()]
                        elif type(value) is list:
                            out += [((k,), member) for k, member in enumerate(value)]
                    self._attach(value, out)
                    return int(after)
        c = text[i]
        if c in "{[":
            return self._open_container(text, i)
        if c == '"':
            self._string = []
            self._string_text = ""
            self._string_is_key = False
            self._state = _STRING
            return self._continue_string(text, i + 1, out)
        if c == "-" or "0" <= c <= "9":
            self._number = []
            self._number_start = self._consumed + i
            self._state = _NUMBER_STATE
            return self._continue_number(text, i, out)
        if c in _LITERALS:
            self._literal = ""
            self._state = _LITERAL
            return self._continue_literal(text, i, out)
        self._error("expected a JSON value", text, i)
        return i  # unreachable

    def _open_container(self, text: str, i: int) -> int:
        if len(self._stack) >= self._max_depth:
            self._error(f"the JSON nests deeper than {self._max_depth}", text, i)
        c = text[i]
        container: Any = {} if c == "{" else []
        stack = self._stack
        if stack:
            frame = stack[-1]
            if type(frame[0]) is list:
                frame[0].append(container)
            else:
                frame[0][frame[1]] = container  # the key stays in the frame until it closes
        stack.append([container, _MISSING])
        self._state = _KEY_OR_CLOSE if c == "{" else _VALUE_OR_CLOSE
        return i + 1

    def _can_hold(self, text: str, i: int, failed_at: int) -> bool:
        """Hold back a short container that only ran past the end of the text (hold).

        Descending into it token by token costs a Python step per token; holding it and
        asking the C scanner again at the next parse costs a C call. Only containers up
        to half of ``hold_chars`` long are held (the next parse brings at least as much
        new text, so the scans again stay linear), and not when the scanner stopped
        before the end (it may be invalid: the walk finds the exact character).
        """
        if (
            self._descend_only
            or not self._hold
            or text[i] not in "{["
            or failed_at < len(text) - 1
            or 2 * (len(text) - i) > self._hold_chars
        ):
            return False
        held = text[i:]
        if held.count("{") + held.count("[") > self._max_depth - len(self._stack):
            return False  # may nest too deep: the walk checks every level
        self._pending = held
        return True

    def _key(self, text: str, i: int) -> int:
        try:
            key, after = _scanstring(text, i + 1)
        except ValueError:
            self._string = []
            self._string_text = ""
            self._string_is_key = True
            self._state = _STRING
            return self._continue_string(text, i + 1, [])
        self._stack[-1][1] = key
        self._state = _COLON
        return int(after)

    def _continue_string(self, text: str, i: int, out: list[tuple[tuple[Any, ...], Any]]) -> int:
        run_end = _STRING_RUN.match(text, i).end()  # type: ignore[union-attr]
        if run_end > i:
            self._string.append(text[i:run_end])
        if run_end == len(text):
            return run_end
        c = text[run_end]
        if c == '"':
            value = self._string_text + _decode(self._string)
            self._string = []
            self._string_text = ""
            if self._string_is_key:
                self._stack[-1][1] = value
                self._state = _COLON
            else:
                self._attach(value, out)
            return run_end + 1
        if c == "\\" and len(text) - run_end < 6 and _could_be_escape(text[run_end:]):
            # An escape cut by the end of this piece: finish it with the next one.
            self._pending = text[run_end:]
            return len(text)
        if c != "\\":
            self._error("control character in a string", text, run_end)
        # The first character that no escape can have there: after the backslash, or the
        # first non-hex digit of a \\u escape.
        bad = run_end + 1
        if text[bad : bad + 1] == "u":
            bad += 1
            while bad < len(text) and text[bad] in "0123456789abcdefABCDEF":
                bad += 1
        self._error("invalid escape in a string", text, bad)
        return run_end  # unreachable

    def _continue_number(self, text: str, i: int, out: list[tuple[tuple[Any, ...], Any]]) -> int:
        run_end = _NUMBER_CHARS.match(text, i).end()  # type: ignore[union-attr]
        self._number.append(text[i:run_end])
        if run_end == len(text):
            return run_end  # the number may go on in the next piece
        return self._finish_number(text, run_end, out)

    def _finish_number(self, text: str, i: int, out: list[tuple[tuple[Any, ...], Any]]) -> int:
        raw = "".join(self._number)
        self._number = []
        if _NUMBER.fullmatch(raw) is None:
            bad = _first_bad_number_char(raw)
            self._error("invalid number", text, i, at=self._number_start + bad)
        value: Any = int(raw) if raw.lstrip("-").isdigit() else float(raw)
        self._attach(value, out)
        return i

    def _continue_literal(self, text: str, i: int, out: list[tuple[tuple[Any, ...], Any]]) -> int:
        word, value = _LITERALS[(self._literal or text[i])[0]]
        need = len(word) - len(self._literal)
        piece = text[i : i + need]
        if not word.startswith(self._literal + piece):
            for k, ch in enumerate(piece):
                if word[len(self._literal) + k] != ch:
                    self._error(f"invalid literal (expected {word!r})", text, i + k)
        self._literal += piece
        if len(self._literal) == len(word):
            self._literal = ""
            self._attach(value, out)
        return i + len(piece)

    # -- containers -----------------------------------------------------------------------

    def _attach(self, value: Any, out: list[tuple[tuple[Any, ...], Any]]) -> None:
        stack = self._stack
        if not stack:
            self.value = value
            self._state = _DONE
            out.append(((), value))
            return
        frame = stack[-1]
        container = frame[0]
        if type(container) is list:
            if len(stack) == 1:
                out.append(((len(container),), value))
            container.append(value)
        else:
            key = frame[1]
            container[key] = value
            frame[1] = _MISSING
            if len(stack) == 1:
                out.append(((key,), value))
        self._state = _COMMA_OR_CLOSE

    def _close_container(
        self, c: str, text: str, i: int, out: list[tuple[tuple[Any, ...], Any]]
    ) -> int:
        stack = self._stack
        container = stack[-1][0]
        if (c == "}") != (type(container) is dict):
            self._error(f"mismatched {c!r}", text, i)
        if self._state == _COMMA_OR_CLOSE or self._state in (_VALUE_OR_CLOSE, _KEY_OR_CLOSE):
            stack.pop()
            if not stack:
                self.value = container
                self._state = _DONE
                out.append(((), container))
                return i + 1
            frame = stack[-1]  # it is already in its parent (see _open_container)
            if type(frame[0]) is list:
                if len(stack) == 1:
                    out.append(((len(frame[0]) - 1,), container))
            else:
                if len(stack) == 1:
                    out.append(((frame[1],), container))
                frame[1] = _MISSING
            self._state = _COMMA_OR_CLOSE
            return i + 1
        self._error(f"unexpected {c!r}", text, i)
        return i  # unreachable

    # -- partial values and errors ----------------------------------------------------------

    def partial(self, *, live: bool = False) -> Any:
        """The value so far: closed containers complete, open ones as far as they arrived.

        ``None`` before anything arrived. Text held back (``hold``) is parsed first, so
        the value covers everything fed; a container still open is then walked, not held.

        By default the result is a snapshot that later feeds leave alone: the containers
        still open are copied (a pointer per member, so a call costs the width of the open
        containers: an array of records that grows with the reply makes a partial after
        every fragment quadratic, if with a small constant), the closed ones shared. With
        ``live=True`` it is the machine's own value instead: the same containers on every
        call, grown in place by later feeds, for a consumer that only looks at the latest
        value (a UI re-rendering). It costs the depth of the open containers, so a partial
        after every fragment stays linear in the document's length. Either way, do not
        mutate the result.

        A string being received is decoded once, run by run, but a str cannot grow in
        place: each partial holds a new copy of it as far as it came (a copy at memory
        speed). A partial after every fragment of one very long string value copies it
        that many times; a stream's partials can be spaced out where that matters
        (``StreamingOptions.partial_interval`` and ``partial_chars``).
        """
        self.parse_held()
        if self.value is not _MISSING:
            return self.value
        value = self._partial(live)
        return None if value is _MISSING else value

    def parse_held(self) -> None:
        """Parse the text held back (``hold``) now, as ``partial()`` does first: ``done``,
        ``open_width`` and ``position`` then cover everything fed. An error found is
        raised by the next ``feed`` or ``close``."""
        if (self._queue or self._pending) and self._failed is None:
            self._parse_held()

    def _parse_held(self, *, descend: bool = False) -> None:
        """Parse the text held back (for partial()). A short container still open stays
        held (its partial value is read from its text: :func:`_held_partial`) unless
        ``descend``, which walks into it."""
        # An error found here is latched: the next feed() or close() raises it, and the
        # partial value stops before it.
        descend_only = self._descend_only
        self._descend_only = descend or descend_only
        try:
            self._unreported = self._parse("")
        except JSONModeError:
            return
        finally:
            self._descend_only = descend_only
        if self._unreported:
            self._room = 0  # the next feed parses, to report them

    def _partial(self, live: bool) -> Any:
        if self._tipped is not None:
            self._untip()
        tip = self._tip()
        if self.value is not _MISSING:  # an invalid held container was walked to the end
            return self.value
        stack = self._stack
        if not stack:
            return tip
        container, key = stack[-1]
        if live:
            if tip is not _MISSING:
                if type(container) is list:
                    container.append(tip)
                    self._tipped = container  # taken off again before the next parse
                elif key is not _MISSING:
                    container[key] = tip  # the value that completes it will replace it
            return stack[0][0]
        # A copy of each open container, the innermost with the tip, each outer one
        # pointing at the copy of the container open in it.
        copy: Any = container.copy()
        if tip is not _MISSING:
            if type(copy) is list:
                copy.append(tip)
            elif key is not _MISSING:
                copy[key] = tip
        for outer, key in reversed(stack[:-1]):
            inner, copy = copy, outer.copy()
            if type(copy) is list:
                copy[-1] = inner
            else:
                copy[key] = inner
        return copy

    def _tip(self) -> Any:
        """The value being received (not in its container yet): a short container held
        back, or a string as far as it arrived; ``_MISSING`` when there is none."""
        held = self._pending
        if held and held[0] in "{[" and self._state in (_VALUE, _VALUE_OR_CLOSE):
            # A short container held back, complete but for its end: read by the C parser
            # of pydantic-core in its partial mode, not walked token by token.
            try:
                return _held_partial(held)
            except ValueError:  # invalid: the walk finds the first bad character
                self._parse_held(descend=True)
                return self._tip()
        if self._state == _STRING and not self._string_is_key:
            if not self._string:
                return self._string_text
            # Each run is decoded once (runs never end inside an escape); only the text
            # decoded so far is copied again, which a new str value cannot avoid.
            tip = self._string_text + _decode(self._string)
            if "\ud800" <= tip[-1] <= "\udbff":
                # Half of a surrogate pair: wait for the other half, decoding the runs
                # again with it (an escaped pair decodes to one character).
                return tip[:-1]
            self._string_text = tip
            self._string = []
            return tip
        return _MISSING

    def _untip(self) -> None:
        """Take the tip ``partial(live=True)`` appended off its list again: the parse
        appends the value itself. (In an object the value simply replaces the tip.)"""
        assert self._tipped is not None
        self._tipped.pop()
        self._tipped = None

    def _error(self, message: str, text: str, i: int, *, at: int | None = None) -> None:
        position = self._consumed + i if at is None else at
        before = (self._tail + text[:i])[-20:]
        snippet = before + text[i : i + 20]
        shown = repr(text[i]) if i < len(text) and at is None else "here"
        self._room = 0  # feed must not queue past the latched error
        self._failed = JSONModeError(
            f"invalid JSON at offset {position} ({shown}): {message}; near {snippet!r}",
            position=position,
            snippet=snippet,
        )
        raise _again(self._failed)


def _again(failed: JSONModeError) -> JSONModeError:
    """A new error saying what the latched ``failed`` says. The latched one is never
    raised: a raised error keeps its traceback, whose frames keep the stream that holds
    it, and that cycle would wait for the garbage collector."""
    return JSONModeError(failed.message, position=failed.position, snippet=failed.snippet)


def _held_partial(text: str) -> Any:
    """The partial value of a held container: ``text`` opens it and is valid JSON as far
    as it goes (the scanner ran to its end), as ``partial()`` shows it: a string being
    received as far as it came, a number only once it ended."""
    value = from_json(text, allow_partial="trailing-strings", allow_inf_nan=False)
    if text[-1] not in _NUMBER_CONTINUE:
        return value
    # It ends in a number, a string value or a key. A string value is the only one that
    # makes the two partial modes differ; a number is left out (it may go on); a key is
    # not shown either way.
    if from_json(text, allow_partial=True, allow_inf_nan=False) != value:
        return value
    number = _TRAILING_NUMBER.search(text)
    if number is None:
        return value
    return from_json(text[: number.start()], allow_partial="trailing-strings", allow_inf_nan=False)


def _decode(runs: list[str]) -> str:
    """The text of string content ``runs`` (each plain characters and whole escapes)."""
    if len(runs) == 1 and "\\" not in runs[0]:
        return runs[0]
    return _scanstring('"' + "".join(runs) + '"', 1)[0]  # type: ignore[no-any-return]


def _could_be_escape(text: str) -> bool:
    """``text`` (a backslash and what follows, cut by the end of a piece) may still be valid."""
    if len(text) == 1:
        return True
    if text[1] != "u":
        return False
    return all(c in "0123456789abcdefABCDEF" for c in text[2:])


def _first_bad_number_char(raw: str) -> int:
    """Index of the first character of ``raw`` that no valid JSON number can have there."""
    state = "start"
    for k, c in enumerate(raw):
        digit = "0" <= c <= "9"
        if state == "start":
            state = "minus" if c == "-" else "zero" if c == "0" else "int" if digit else ""
        elif state == "minus":
            state = "zero" if c == "0" else "int" if digit else ""
        elif state in ("zero", "int"):
            if c == ".":
                state = "dot"
            elif c in "eE":
                state = "exp"
            elif state == "int" and digit:
                state = "int"
            else:
                state = ""
        elif state in ("dot", "frac"):
            if digit:
                state = "frac"
            elif state == "frac" and c in "eE":
                state = "exp"
            else:
                state = ""
        elif state in ("exp", "sign"):
            state = "exp_digits" if digit else "sign" if state == "exp" and c in "+-" else ""
        elif state == "exp_digits":
            state = "exp_digits" if digit else ""
        if not state:
            return k
    return len(raw)  # every character fits: the number just ended too early
