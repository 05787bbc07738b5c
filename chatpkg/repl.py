"""The prompt-toolkit REPL: a plain-terminal front end over the session engine.

Interactive terminals get prompt-toolkit (history, slash-command completion,
multi-line input: Enter sends, Esc Enter inserts a newline). Piped stdin is
read line by line, so scripts can drive a session; a line ending in a
backslash continues on the next one. A turn runs in a worker thread that only
produces events; the main thread hands them to a view (text for people, JSON
lines for scripts with ``--events jsonl``) and turns Ctrl-C into a clean
cancel of that turn. The exit status is 0 only when every turn ended green.
"""

from __future__ import annotations

import json
import os
import queue
import select
import sys
import termios
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output, create_output

from chatpkg.core.cancel import CancelToken
from chatpkg.core.engine.catalog import GREEN, turn_verdict
from chatpkg.core.engine.commands import COMMANDS, HELP, CommandResult, Commands
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

    def __init__(self, stream: TextIO, echo: TextIO | None) -> None:
        self.stream = stream
        self.echo = echo  # None: not echoed (stdout carries JSON lines)

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
        if self.echo is not None:
            self.echo.write(PROMPT + text.replace("\n", "\n. ") + "\n")
        return text


class TextView:
    """What a person reads: the banner, replies streamed as they come, a line or two per event."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.streaming = False

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def banner(self, session: Session) -> None:
        self.say(
            f"chatpkg on {session.workspace.root} with {session.model.name}; session {session.session_id}; "
            f"transcript {transcript_path(session)}; /help for commands"
        )
        if session.confinement is not None and not session.confinement.active:
            self.say(f"warning: {session.confinement.describe()}")

    def show(self, event: Event) -> None:
        if isinstance(event, ModelDelta):
            self.out.write(event.text)
            self.out.flush()
            self.streaming = True
            return
        self.end_stream()
        line = describe_event(event)
        if line:
            self.say(line)

    def end_stream(self) -> None:
        if self.streaming:
            self.out.write("\n")
            self.streaming = False

    def cancelling(self) -> None:
        self.say("\n  cancelling the turn ...")

    def command(self, line: str, result: CommandResult) -> None:
        self.say("\n".join("  " + text for text in result.text.splitlines()))

    def end(self, code: int, verdicts: list[str]) -> None:
        """Nothing more to say: the exit status and each turn's lines said it."""


class JsonLinesView:
    """``--events jsonl``: one JSON object per line, for scripts; nothing else on the stream.

    Events are their ``to_dict()``; streamed pieces (``delta``) are left out
    because the ``reply`` event carries the whole text. The banner, slash
    commands and the end of the run get objects of their own.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, data: dict[str, Any]) -> None:
        self.out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.out.flush()

    def banner(self, session: Session) -> None:
        self.write({
            "kind": "session", "session_id": session.session_id, "workspace": str(session.workspace.root),
            "model": session.model.name, "transcript": str(session.transcript.path),
        })

    def show(self, event: Event) -> None:
        if not isinstance(event, ModelDelta):
            self.write(event.to_dict())

    def end_stream(self) -> None:
        pass

    def cancelling(self) -> None:
        self.write(Notice("cancelling the turn ...").to_dict())

    def command(self, line: str, result: CommandResult) -> None:
        data: dict[str, Any] = {"kind": "command", "command": line.strip(), "text": result.text}
        if result.report is not None:
            data["report"] = result.report
        if result.event is not None:
            data["event"] = result.event.to_dict()
        self.write(data)

    def end(self, code: int, verdicts: list[str]) -> None:
        green = sum(v == GREEN for v in verdicts)
        self.write({"kind": "exit", "code": code, "turns": len(verdicts), "green": green, "verdicts": verdicts})


View = TextView | JsonLinesView
VIEWS: dict[str, Callable[[TextIO], View]] = {"text": TextView, "jsonl": JsonLinesView}


def transcript_path(session: Session) -> Path:
    """The transcript, relative to the workspace when inside it (as `chatpkg replay` takes it from there)."""
    path = session.transcript.path
    try:
        return path.relative_to(session.workspace.root)
    except ValueError:
        return path


class Repl:
    def __init__(
        self,
        session: Session,
        *,
        reader: Reader,
        out: TextIO,
        resolve_model: Callable[[str], Model],
        keys: TextIO | None = None,
        events: str = "text",
    ) -> None:
        self.session = session
        self.keys = keys  # the terminal to read Ctrl-C from during a turn
        self.reader = reader
        self.view: View = VIEWS[events](out)
        self.commands = Commands(session, resolve_model)
        self.verdicts: list[str] = []  # each turn of this run: green, red, no_edits, cancelled or error

    @property
    def exit_code(self) -> int:
        """0 when every turn of this run ended green (a run without turns too), else 1."""
        return 0 if all(v == GREEN for v in self.verdicts) else 1

    def run(self) -> int:
        """Read and answer messages until /quit or end of input; the exit status."""
        self.view.banner(self.session)
        _prepare_in_background(self.session.model)
        while True:
            try:
                text = self.reader.read()
            except EOFError:
                break
            if not text.strip():
                continue
            if text.strip().startswith("/"):
                result = self.commands.run(text)
                self.view.command(text, result)
                if result.quit:
                    break
                continue
            self.turn(text)
        self.view.end(self.exit_code, self.verdicts)
        return self.exit_code

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
                        self.view.cancelling()
        self.view.end_stream()

    def show(self, event: Event) -> None:
        self.view.show(event)
        if isinstance(event, TurnEnded):
            record = self.session.state.turns.get(event.turn)
            self.verdicts.append(turn_verdict(event.outcome, record.report if record else None))


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


def make_reader(history: Path | None, *, echo: bool = True) -> Reader:
    """prompt-toolkit on a terminal, lines from a pipe; ``echo=False`` keeps stdout for JSON lines.

    Without echo the prompt is drawn on stderr and piped messages are not
    echoed (their ``turn`` events carry the text).
    """
    if sys.stdin.isatty():
        return PromptReader(history, output=None if echo else create_output(stdout=sys.stderr))
    return LineReader(sys.stdin, sys.stdout if echo else None)
