"""The commands' progress bar."""

from __future__ import annotations

import sys


class ProgressBar:
    """A one-line progress bar on stderr that never shares a line with a log line.

    On a terminal it is drawn on the last line: anything written to stderr meanwhile (log lines) replaces it and
    it is drawn again below. Elsewhere (a pipe, a file, a CI log) it writes only its final state, as one line,
    when it finishes, so every other line of stderr stays whole (JSON log lines stay parseable)."""

    def __init__(self, total: int, label: str, width: int = 30) -> None:
        self._total, self._label, self._width, self._done = total, label, width, 0
        self._stream = sys.stderr
        self._live = self._stream.isatty()
        self._finished = False
        self._shown = False  # the bar is the terminal's last line now
        self._mid_line = False  # something wrote part of a line: the bar waits for its end
        if self._live:
            sys.stderr = _Above(self)  # type: ignore[assignment]
            self._draw()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def update(self, done: int) -> None:
        self._done = done
        if self._live and not self._finished:
            self._draw()

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._live:
            sys.stderr = self._stream
            self._stream.write(("\n" if self._mid_line else "") + "\r\x1b[K" + self._line() + "\n")
        else:
            self._stream.write(self._line() + "\n")
        self._stream.flush()

    def _line(self) -> str:
        filled = self._width * self._done // self._total if self._total else self._width
        return f"{self._label} [{'#' * filled}{'.' * (self._width - filled)}] {self._done}/{self._total}"

    def _draw(self) -> None:
        if not self._mid_line:
            self._stream.write("\r\x1b[K" + self._line())
            self._stream.flush()
            self._shown = True

    def _write_above(self, text: str) -> int:
        if self._shown:
            self._stream.write("\r\x1b[K")  # the bar makes way
            self._shown = False
        written = self._stream.write(text)
        self._mid_line = bool(text) and not text.endswith("\n")
        self._draw()
        return written


class _Above:
    """stderr while a progress bar is on the terminal: what is written goes above the bar."""

    def __init__(self, bar: ProgressBar) -> None:
        self._bar = bar

    def write(self, text: str) -> int:
        return self._bar._write_above(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._bar._stream, name)  # flush, isatty, fileno, encoding, ...
