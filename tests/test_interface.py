"""The interface a request states (which names, in which module) becomes checks, and a name written as
a method where the request states a module-level function gets a precise repair hint."""

from __future__ import annotations

from pathlib import Path

from chatpkg.core.engine.checks import vet
from chatpkg.core.engine.events import CandidateChosen, CandidateTried, ChecksWritten, TurnEnded
from chatpkg.core.engine.examples import as_tests as examples_as_tests
from chatpkg.core.engine.examples import stated_in
from chatpkg.core.engine.interface import as_tests, command_test, stated_names
from chatpkg.core.prompts.repair import repair_hints
from tests.helpers import make_session, run, whole


def named(request: str) -> list[tuple[str, str, str]]:
    return [(s.module, s.name, s.kind) for s in stated_names(request)]


def test_the_ways_a_request_states_a_name_and_its_module() -> None:
    assert named("Add shop/stock.py with a function restock(item, n) that adds n.") == [
        ("shop.stock", "restock", "callable")]
    assert named("Create shop/goods.py with a dataclass Good(name: str, price: float).") == [
        ("shop.goods", "Good", "class")]
    assert named("Add a class Stock in shop/stock.py that holds goods: put(good) adds one.") == [
        ("shop.stock", "Stock", "class")]
    assert named("Add read_prices(path) to src/shop/prices.py; test it in tests/test_prices.py.") == [
        ("shop.prices", "read_prices", "callable")]
    assert named("Add shop/rates.py with a dict RATES of each currency. Add exchange(value, code) too.") == [
        ("shop.rates", "RATES", "name"), ("shop.rates", "exchange", "callable")]
    assert named("Make `from shop import restock, Good` work; `from shop import *` too.") == [
        ("shop", "restock", "name"), ("shop", "Good", "name")]


def test_prose_tests_methods_and_requests_without_a_module_state_nothing() -> None:
    assert named("Add shop/prices.py with the header name,price read from a file.") == []
    assert named("Add Stock.value() returning the sum of the goods. Test it in tests/test_stock.py.") == []
    assert named("Add exchange(value, code) that converts a price.") == []  # no module named
    assert named("Add a(x) to shop/a.py and b(x) to shop/b.py. Add c(x) too.") == [
        ("shop.a", "a", "callable"), ("shop.b", "b", "callable")]  # two modules: c's home is not stated


def test_a_stated_name_is_one_check_that_imports_it_inside_the_test() -> None:
    source = as_tests(stated_names("Add read_prices(path) in shop/prices.py, and a class Price in shop/prices.py."))

    assert vet(source).tests == ("test_request_states_shop_prices_read_prices", "test_request_states_shop_prices_Price")
    assert "    from shop.prices import read_prices\n    assert callable(read_prices)" in source
    assert "assert isinstance(Price, type)" in source and "the request states: read_prices(path) in shop/prices.py" in source


METHOD = ("class Store:\n    def __init__(self):\n        self.items = {}\n\n"
          "    def load(self, path):\n        return Store()\n")
FUNCTION = METHOD + "\n\ndef load(path):\n    return Store()\n"
OWN_TEST = "from pkg.store import Store\n\n\ndef test_load():\n    assert isinstance(Store().load('x'), Store)\n"


def test_a_candidate_that_defines_the_stated_function_wins_over_a_method(root: Path) -> None:
    as_method = whole({"pkg/store.py": METHOD, "tests/test_store.py": OWN_TEST})  # its own test passes
    as_function = whole({"pkg/store.py": FUNCTION, "tests/test_store.py": OWN_TEST})
    session, _ = make_session(root, [as_method, as_function], team="coder", candidates=1, max_repairs=0)

    events = run(session, "Add load(path) in pkg/store.py that reads a Store from a file.")

    written = next(e for e in events if isinstance(e, ChecksWritten))
    assert written.path == "tests/test_turn1_examples.py" and written.tests == ["test_request_states_pkg_store_load"]
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert next(e for e in events if isinstance(e, TurnEnded)).tests == "3 passed"
    assert "\ndef load(path):" in (root / "pkg" / "store.py").read_text()


def test_a_stated_function_written_as_a_method_gets_a_hint_that_says_so() -> None:
    problem = ("FAILED tests/test_turn1_examples.py::test_request_states_pkg_store_load - ImportError: "
               "cannot import name 'load' from 'pkg.store' (/w/pkg/store.py)")
    files = {"pkg/__init__.py": "", "pkg/store.py": METHOD}

    hints = repair_hints(problem, files)

    assert hints == ["load is a method of class Store in pkg/store.py, so `from pkg.store import load` cannot find "
                     "it. Define load at the top level of pkg/store.py, outside the class (not indented), as a "
                     "function that may create and return a Store."]
    assert repair_hints(problem, {"pkg/__init__.py": "", "pkg/store.py": "X = 1\n"}) == [
        "pkg.store has no load: define load in pkg/store.py in this reply."]


def test_the_repair_after_a_method_is_told_where_the_function_goes(root: Path) -> None:
    as_method = whole({"pkg/store.py": METHOD, "tests/test_store.py": OWN_TEST})
    as_function = whole({"pkg/store.py": FUNCTION, "tests/test_store.py": OWN_TEST})
    session, model = make_session(root, [as_method, as_method, as_function], candidates=1, max_repairs=1)

    events = run(session, "Add load(path) in pkg/store.py that reads a Store from a file.")

    told = model.asked[2][-1]["content"]
    assert "cannot import name 'load' from 'pkg.store'" in told
    assert "load is a method of class Store in pkg/store.py" in told
    assert next(e for e in events if isinstance(e, TurnEnded)).tests == "3 passed"


def test_a_quoted_input_stated_with_its_result_is_an_example_of_the_one_function_asked_for() -> None:
    request = ('Add pkg/lex.py with split_words(text) returning the words. "a b" gives `["a", "b"]`, and '
               "'' gives []. A number such as 3 gives nothing to check.")
    code = {"pkg/lex.py": "def split_words(text):\n    return text.split()\n"}

    found = [(e.expr, e.want) for e in stated_in(request, code)]

    assert found == [('split_words("a b")', '["a", "b"]'), ("split_words('')", "[]")]
    two = request.replace("returning the words.", "returning the words, and join_words(words) to pkg/lex.py.")
    assert stated_in(two, code | {"pkg/lex.py": code["pkg/lex.py"] + "\n\ndef join_words(w):\n    pass\n"}) == []


def test_the_inputs_a_request_says_the_function_takes_must_give_a_result() -> None:
    # units on the package benchmark: parse took float() of the whole string, every turn went green, and
    # the acceptance tests' parse("3.5 km") raised.
    request = 'Add parse(text) to units/length.py that reads strings like "3.5 km", "12in" or " 7 ft " into a tuple.'
    output = 'Add convert_text(text, to_unit) that parses the text and returns a string such as "3500.0 m".'
    code = {"units/length.py": "def parse(text):\n    return float(text)\n"}

    found = stated_in(request, code)

    assert [(e.expr, e.want) for e in found] == [('parse("3.5 km")', ""), ('parse("12in")', ""), ('parse(" 7 ft ")', "")]
    source = examples_as_tests(found)
    assert vet(source).tests == ("test_request_input_parse_1", "test_request_input_parse_2", "test_request_input_parse_3")
    assert '    assert isinstance(parse("3.5 km"), tuple)\n' in source  # "into a tuple": the type it states
    untyped = examples_as_tests(stated_in(request.replace(" into a tuple", ""), code))
    assert '    assert parse("12in") is not None\n' in untyped  # no type stated: any result but None or an error
    returned = {"units/length.py": "def convert_text(text, to_unit):\n    return '1 m'\n"}
    assert stated_in(output, returned) == []  # "returns a string such as" is a result, not an input


LENGTH = "def convert_text(text, unit):\n    return text\n"
MAIN = "import sys\nfrom pkg{} import convert_text\n\n\ndef main(argv):\n    print(convert_text(*argv))\n"
GUARD = '\n\nif __name__ == "__main__":\n    main(sys.argv[1:])\n'
CLI_TEST = "from pkg.length import convert_text\n\n\ndef test_convert_text():\n    assert convert_text('1 m', 'm') == '1 m'\n"


def test_the_module_a_stated_python_m_runs_must_import(root: Path) -> None:
    # units on the package benchmark: units/__main__.py imported convert_text from units, which does not
    # export it; no test imported the module, the turn went green, and `python -m units` exited 1.
    broken = whole({"pkg/__main__.py": MAIN.format(""), "tests/test_cli.py": CLI_TEST})
    fixed = whole({"pkg/__main__.py": MAIN.format(".length"), "tests/test_cli.py": CLI_TEST})
    session, _ = make_session(root, [whole({"pkg/length.py": LENGTH}), broken, fixed], team="coder", candidates=1,
                              max_repairs=0)
    run(session, "Add pkg/length.py with convert_text(text, unit).")

    events = run(session, "Add a command line: `python -m pkg` that prints the result of convert_text.")

    written = next(e for e in events if isinstance(e, ChecksWritten))
    assert written.tests == ["test_request_runs_pkg___main__"]
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert next(e for e in events if isinstance(e, TurnEnded)).outcome == "committed"
    assert "from pkg.length import" in (root / "pkg" / "__main__.py").read_text()
    assert command_test("Run `python -m calc`.", {"calc.py": ""}) == ""  # a module: its own tests import it


def test_a_stated_command_line_that_prints_must_run_and_print(root: Path) -> None:
    # units again: the next __main__.py imported, but had no `if __name__ == "__main__":` call of main, so
    # `python -m units "3.5 km" m` printed nothing and exited 0; only running it shows that.
    unguarded = whole({"pkg/__main__.py": MAIN.format(".length"), "tests/test_cli.py": CLI_TEST})
    guarded = whole({"pkg/__main__.py": MAIN.format(".length") + GUARD, "tests/test_cli.py": CLI_TEST})
    session, _ = make_session(root, [whole({"pkg/length.py": LENGTH}), unguarded, guarded], team="coder",
                              candidates=1, max_repairs=0)
    run(session, "Add pkg/length.py with convert_text(text, unit).")

    events = run(session, 'Add a command line: `python -m pkg "3.5 km" m` prints the result of convert_text, '
                          "and prints an error with exit code 2 on bad input.")

    tried = [e for e in events if isinstance(e, CandidateTried)]
    assert tried[0].failed == ["tests/test_turn2_examples.py::test_request_runs_pkg___main__"]
    assert next(e for e in events if isinstance(e, CandidateChosen)).candidate == 1
    assert next(e for e in events if isinstance(e, TurnEnded)).tests == "4 passed"
    assert "subprocess.run([sys.executable, *['-m', 'pkg', '3.5 km', 'm']]" in (
        root / "tests" / "test_turn2_examples.py").read_text()
