"""The prompt-toolkit REPL: a plain-terminal front end over the session engine.

Interactive terminals get prompt-toolkit (history, slash-command completion,
multi-line input: Enter sends, Esc Enter inserts a newline). Piped stdin is
read line by line, so scripts can drive a session; a line ending in a
backslash continues on the next one. A turn runs in a worker thread that only
produces events; the main thread prints them and turns Ctrl-C into a clean
cancel of that turn.
"""

from __future__ import annotations

import os
import queue
import select
import sys
import termios
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.commands import COMMANDS, HELP, Commands
from chatpkg.core.engine.events import Event, ModelDelta, Notice, TurnEnded
from chatpkg.core.engine.render import describe_event
from chatpkg.core.engine.session import Session
from chatpkg.core.models import Model

PROMPT = "> "
PENDING = Notice("")  # "no event yet": lets the turn loop look at the keyboard


class Reader(Protocol):
    def read(self) -> str:
        """The next message; raises EOFError at the end of input."""
        ...


class SlashCompleter(Completer):
    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or " " in text:
            return
        for name in COMMANDS:
            if name.startswith(text):
                yield Completion(name, start_position=-len(text), display_meta=HELP[name])


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _send(event: KeyPressEvent) -> None:
        event.current_buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class PromptReader:
    """Interactive input through prompt-toolkit."""

    def __init__(self, history: Path | None = None, *, input: Input | None = None, output: Output | None = None):
        self.prompt = PromptSession[str](
            PROMPT,
            multiline=True,
            key_bindings=_key_bindings(),
            completer=SlashCompleter(),
            complete_while_typing=True,
            history=FileHistory(str(history)) if history else InMemoryHistory(),
            prompt_continuation=". ",
            input=input,
            output=output,
        )

    def read(self) -> str:
        while True:
            try:
                return self.prompt.prompt()
            except KeyboardInterrupt:  # Ctrl-C at the prompt clears the line
                continue


class LineReader:
    """Messages from a stream (piped stdin), echoed so the output reads like a session."""

    def __init__(self, stream: TextIO, echo: TextIO) -> None:
        self.stream = stream
        self.echo = echo

    def read(self) -> str:
        lines: list[str] = []
        while True:
            line = self.stream.readline()
            if not line:
                if lines:
                    break
                raise EOFError
            line = line.rstrip("\n")
            if line.endswith("\\"):
                lines.append(line[:-1])
                continue
            lines.append(line)
            break
        text = "\n".join(lines)
        self.echo.write(PROMPT + text.replace("\n", "\n. ") + "\n")
        return text


class Repl:
    def __init__(
        self,
        session: Session,
        *,
        reader: Reader,
        out: TextIO,
        resolve_model: Callable[[str], Model],
        keys: TextIO | None = None,
    ) -> None:
        self.session = session
        self.keys = keys  # the terminal to read Ctrl-C from during a turn
        self.reader = reader
        self.out = out
        self.commands = Commands(session, resolve_model)
        self.failed_turns = 0
        self.streaming = False

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def run(self) -> int:
        """Read and answer messages until /quit or end of input; the exit status."""
        self.say(f"chatpkg on {self.session.workspace.root} with {self.session.model.name}; /help for commands")
        _prepare_in_background(self.session.model)
        while True:
            try:
                text = self.reader.read()
            except EOFError:
                return 1 if self.failed_turns else 0
            if not text.strip():
                continue
            if text.strip().startswith("/"):
                result = self.commands.run(text)
                self.say("\n".join("  " + line for line in result.text.splitlines()))
                if result.quit:
                    return 1 if self.failed_turns else 0
                continue
            self.turn(text)

    def turn(self, text: str) -> None:
        cancel = CancelToken()
        worker = BackgroundTurn(self.session.run_turn(text, cancel))
        with CtrlCKey(self.keys) as keys:
            while True:
                try:
                    event = worker.next_event(timeout=0.1)
                    if event is None:
                        break
                    if event is not PENDING:
                        self.show(event)
                    if keys.pressed():
                        raise KeyboardInterrupt
                except KeyboardInterrupt:
                    if not cancel.cancelled:
                        cancel.cancel()
                        self.say("\n  cancelling the turn ...")
        if self.streaming:
            self.out.write("\n")
            self.streaming = False

    def show(self, event: Event) -> None:
        if isinstance(event, ModelDelta):
            self.out.write(event.text)
            self.out.flush()
            self.streaming = True
            return
        if self.streaming:
            self.out.write("\n")
            self.streaming = False
        line = describe_event(event)
        if line:
            self.say(line)
        if isinstance(event, TurnEnded) and event.outcome == "error":
            self.failed_turns += 1


class BackgroundTurn:
    """Runs a turn's event generator in a worker thread, handing events over one by one.

    The main thread stays free to receive Ctrl-C, which the caller turns into a
    cancel of the turn; the worker then finishes the turn cleanly.
    """

    def __init__(self, events: Iterator[Event]) -> None:
        self.box: queue.Queue[Event | BaseException | None] = queue.Queue()
        self.events = events
        self.thread = threading.Thread(target=self._work, name="chatpkg-turn", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            for event in self.events:
                self.box.put(event)
        except BaseException as exc:  # handed to the main thread, raised there
            self.box.put(exc)
        self.box.put(None)

    def next_event(self, timeout: float) -> Event | None:
        """The next event, PENDING if none came within ``timeout``, None when the turn is over."""
        try:
            item = self.box.get(timeout=timeout)
        except queue.Empty:
            return PENDING
        if item is None:
            self.thread.join()
            return None
        if isinstance(item, BaseException):
            raise item
        return item


class CtrlCKey:
    """While a turn runs, Ctrl-C on a terminal is read as a key, not sent as SIGINT.

    A terminal's SIGINT goes to the whole foreground process group: it would
    also kill the git processes GitPython keeps open, and the turn could not
    roll back cleanly. So the terminal's ISIG flag is turned off for the turn
    and Ctrl-C (byte 0x03) is read here; other keys typed meanwhile are dropped.
    """

    def __init__(self, stream: TextIO | None) -> None:
        self.fd = stream.fileno() if stream is not None and stream.isatty() else None
        self.saved: list | None = None  # type: ignore[type-arg]

    def __enter__(self) -> CtrlCKey:
        if self.fd is not None:
            self.saved = termios.tcgetattr(self.fd)
            quiet = termios.tcgetattr(self.fd)
            quiet[3] &= ~(termios.ISIG | termios.ICANON | termios.ECHO)
            termios.tcsetattr(self.fd, termios.TCSANOW, quiet)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None and self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def pressed(self) -> bool:
        if self.fd is None:
            return False
        pressed = False
        while select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 1024)
            if not data:
                break
            pressed = pressed or b"\x03" in data
        return pressed


def _prepare_in_background(model: Model) -> None:
    """Load the model while the user types the first message; a failure shows at the first turn."""

    def run() -> None:
        try:
            model.prepare()
        except Exception:  # the first turn reports it, with the model's own message
            pass

    threading.Thread(target=run, name="chatpkg-prepare", daemon=True).start()


def make_reader(history: Path | None) -> Reader:
    if sys.stdin.isatty():
        return PromptReader(history)
    return LineReader(sys.stdin, sys.stdout)
