"""``chatpkg doctor``'s checks: is this machine ready to run chatpkg, and if not, what to do.

Each check is a small function of a ``DoctorContext`` that yields
``CheckResult``s (a provider check yields one per provider). ``CHECKS`` is the
list ``run_checks`` runs, in order; a new check plugs in with one line there.
A check that raises is reported as a failed check, never as a traceback.

Side effects a test needs to steer are in the context: where the embedded
model's parts are looked up, where the assembled model is, the timeout of the
one network call per provider, and whether to make it at all (``offline``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from chatpkg.core.engine import config
from chatpkg.core.models import embedded, ollama
from chatpkg.core.runner.confine import choose

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"
MIN_PYTHON = (3, 11)
LOW_DISK = 2_000_000_000  # bytes: the embedded model alone is 1.1 GB
# The identity chatpkg commits with when git has none (FALLBACK_ACTOR in workspace/repository.py);
# not imported from there: GitPython refuses to import without git on PATH, the very case to report.
FALLBACK_IDENTITY = "chatpkg <chatpkg@localhost>"
# The variable that holds each provider's key; ``None`` for providers that need none.
KEY_VARIABLES: dict[str, str | None] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "ollama": None,
    "ollama_chat": None,
}
DOCS = "docs/models.md"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # ok | warn | fail | skipped
    detail: str
    fix: str = ""  # what to do, for warn and fail

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class DoctorContext:
    root: Path = Path(".")
    offline: bool = False  # no network calls: reachability checks are skipped
    deep: bool = False  # re-verify the assembled model's sha256 (reads 1.1 GB)
    models: tuple[str, ...] = ()  # models to check besides the configured ones
    timeout: float = 5.0  # seconds, per network call
    part_path: Callable[[int], Path] = field(default=lambda n: embedded.part_path(n))  # raises when not installed
    model_file: Path = field(default_factory=embedded.cache_path)
    model_size: int = embedded.SIZE
    model_sha256: str = embedded.SHA256
    sandbox: str = "on"  # the sandbox setting to check ("off" reports it turned off)


Check = Callable[[DoctorContext], Iterable[CheckResult]]


def run_checks(context: DoctorContext, checks: Iterable[Check] | None = None) -> list[CheckResult]:
    """Every check's results, in order; a check that raises becomes one failed result."""
    results: list[CheckResult] = []
    for check in CHECKS if checks is None else checks:
        try:
            results.extend(check(context))
        except Exception as exc:  # a broken check must not hide the others
            name = getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")
            results.append(CheckResult(name, FAIL, f"the check itself failed: {exc!r}", "report this as a bug"))
    return results


def failed(results: Iterable[CheckResult]) -> bool:
    return any(result.status == FAIL for result in results)


# ----------------------------------------------------------------- python


def check_python(context: DoctorContext) -> Iterator[CheckResult]:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MIN_PYTHON:
        yield CheckResult("python", OK, f"{version} ({sys.executable})")
    else:
        need = ".".join(map(str, MIN_PYTHON))
        yield CheckResult("python", FAIL, f"{version}; chatpkg needs {need} or newer", f"install Python {need}+")


# -------------------------------------------------------------------- git


def _git(*args: str, cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def check_git(context: DoctorContext) -> Iterator[CheckResult]:
    if shutil.which("git") is None:
        yield CheckResult("git", FAIL, "git is not on PATH", "install git (e.g. apt install git, brew install git)")
        return
    version = (_git("--version") or "git, version unknown").removeprefix("git version ")
    cwd = context.root if context.root.is_dir() else None
    name, email = _git("config", "user.name", cwd=cwd), _git("config", "user.email", cwd=cwd)
    if name and email:
        yield CheckResult("git", OK, f"{version}; commits as {name} <{email}>")
    else:
        yield CheckResult(
            "git", WARN, f"{version}; no user.name/user.email: turns are committed as {FALLBACK_IDENTITY}",
            'git config --global user.name "Your Name" && git config --global user.email you@example.com',
        )


# ----------------------------------------------------------------- config


def check_config_files(context: DoctorContext) -> Iterator[CheckResult]:
    user = config.config_path()
    yield _config_file_result("user config", user, lambda: config.user_settings(user))
    project = config.project_config_path(context.root)
    yield _config_file_result("project config", project, lambda: config.project_settings(context.root))
    env_files = [p for p in ([context.root / ".env"] + [config.user_env_path()]) if p.is_file()]
    looked = f"none ({context.root / '.env'}, {config.user_env_path()})"
    detail = ", ".join(map(str, env_files)) if env_files else looked
    yield CheckResult(".env files", OK, detail)


def _config_file_result(name: str, path: Path, read: Callable[[], dict]) -> CheckResult:
    if not path.is_file():
        return CheckResult(name, OK, f"{path} (absent)")
    try:
        settings = read()
    except ValueError as exc:
        return CheckResult(name, FAIL, str(exc), f"fix {path} (keys: {DOCS})")
    keys = ", ".join(sorted(settings)) or "no chatpkg settings"
    return CheckResult(name, OK, f"{path}: {keys}")


# ------------------------------------------------------------------ model


def _default_model(context: DoctorContext) -> tuple[str | None, str]:
    """(model, where it was said); ValueError when a config file is broken."""
    spec, source = config.configured_model(context.root)
    if spec:
        return spec, source
    return (embedded.EMBEDDED_MODEL, "") if embedded.status().installed else (None, "")


def check_default_model(context: DoctorContext) -> Iterator[CheckResult]:
    try:
        spec, source = _default_model(context)
    except ValueError as exc:
        yield CheckResult("default model", SKIPPED, f"unknown: {exc}")
        return
    if spec:
        where = f"from {source}" if source else "the embedded model: no other is configured"
        yield CheckResult("default model", OK, f"{spec} ({where})")
    else:
        yield CheckResult(
            "default model", FAIL,
            "none: no --model, $CHATPKG_MODEL or config, and the embedded model is not installed",
            f"set CHATPKG_MODEL (e.g. openai/gpt-4o-mini) or install chatpkg[local]; see {DOCS}",
        )


def _embedded_needed(context: DoctorContext) -> bool:
    try:
        spec, _ = config.configured_model(context.root)
    except ValueError:
        return True
    return spec in (None, embedded.EMBEDDED_MODEL) or embedded.EMBEDDED_MODEL in context.models


def _engine_version() -> tuple[str | None, str]:
    """(llama-cpp-python's version, why not) after really importing it: a broken build fails here."""
    try:
        import llama_cpp
    except ImportError as exc:
        return None, f"not importable ({exc})"
    except Exception as exc:  # a broken shared library raises OSError and friends
        return None, f"fails to load ({exc!r})"
    return str(getattr(llama_cpp, "__version__", "unknown version")), ""


def check_llama_cpp(context: DoctorContext) -> Iterator[CheckResult]:
    version, problem = _engine_version()
    if version:
        yield CheckResult("llama-cpp-python", OK, version)
    elif _embedded_needed(context):
        yield CheckResult("llama-cpp-python", FAIL, problem, 'install chatpkg[local] with the command in README.md')
    else:
        yield CheckResult("llama-cpp-python", SKIPPED, f"{problem}; only the embedded model needs it")


def _missing_parts(context: DoctorContext) -> list[int]:
    missing = []
    for n in range(1, embedded.PARTS + 1):
        try:
            if not context.part_path(n).is_file():
                missing.append(n)
        except embedded.EmbeddedModelError:
            missing.append(n)
    return missing


def check_embedded_model(context: DoctorContext) -> Iterator[CheckResult]:
    missing = _missing_parts(context)
    found = embedded.PARTS - len(missing)
    needed = _embedded_needed(context)
    if found == 0 and not needed:
        yield CheckResult("embedded model", SKIPPED, "not installed (chatpkg[local]); not the default model")
        return
    if missing:
        names = ", ".join(str(n) for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
        yield CheckResult(
            "embedded model", FAIL if needed else WARN,
            f"{found}/{embedded.PARTS} parts found; missing part {names}", embedded.INSTALL_HINT,
        )
        return
    yield _assembled_result(context)


def _assembled_result(context: DoctorContext) -> CheckResult:
    path = context.model_file
    parts = f"{embedded.PARTS}/{embedded.PARTS} parts"
    if not (path.is_file() and path.stat().st_size == context.model_size):
        return CheckResult("embedded model", OK, f"{parts}; not assembled yet (the first start writes {path})")
    if not context.deep:
        return CheckResult("embedded model", OK, f"{parts}; assembled at {path} (sha256 not re-checked; --deep)")
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(embedded.CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != context.model_sha256:
        return CheckResult(
            "embedded model", FAIL, f"{path} is damaged (sha256 {digest.hexdigest()[:16]}...)",
            f"delete {path}; the next start assembles it again",
        )
    return CheckResult("embedded model", OK, f"{parts}; assembled at {path}, sha256 verified")


# -------------------------------------------------------------- providers


def _configured_models(context: DoctorContext) -> list[str]:
    models = list(context.models)
    try:
        spec, _ = config.configured_model(context.root)
        models += [spec] if spec else []
        models += list(config.merged_settings(context.root).get("models", {}))
    except ValueError:
        pass  # check_config_files reports it
    remote = [m for m in models if not m.startswith(("local/", "local:", "scripted:"))]
    return list(dict.fromkeys(remote))


def provider_of(model: str) -> str:
    """``openai/gpt-4o-mini`` -> ``openai``; a bare name (``gpt-4o-mini``) is asked of litellm."""
    if "/" in model:
        return model.split("/", 1)[0]
    from chatpkg.core.models.litellm_backend import litellm_provider

    return litellm_provider(model)[0]


def check_providers(context: DoctorContext) -> Iterator[CheckResult]:
    by_provider: dict[str, list[str]] = {}
    for model in _configured_models(context):
        by_provider.setdefault(provider_of(model), []).append(model)
    for provider, models in by_provider.items():
        yield _provider_result(context, provider, models)


def _provider_result(context: DoctorContext, provider: str, models: list[str]) -> CheckResult:
    name = f"provider {provider}"
    listed = ", ".join(models)
    missing = _missing_keys(provider, models[0])
    if missing:
        return CheckResult(
            name, FAIL, f"{' or '.join(missing)} is not set (for {listed})",
            f"export {missing[0]}=... or put it in {context.root / '.env'} or {config.user_env_path()}",
        )
    url = _probe_url(context, provider, models[0])
    if url is None:
        return CheckResult(name, OK, f"{listed}; key set; reachability not checked for this provider")
    if context.offline:
        return CheckResult(name, SKIPPED, f"{listed}; key set; not contacted (--offline)")
    return _reach(context, name, provider, models, url)


def _missing_keys(provider: str, model: str) -> list[str]:
    if provider in KEY_VARIABLES:
        variable = KEY_VARIABLES[provider]
        return [variable] if variable and not os.environ.get(variable) else []
    from chatpkg.core.models.litellm_backend import litellm_provider

    return litellm_provider(model)[1]


def _probe_url(context: DoctorContext, provider: str, model: str) -> str | None:
    """The one cheap GET that says the provider answers (it lists models, free of charge)."""
    try:
        api_base = config.model_config(model, context.root).get("api_base")
    except ValueError:
        api_base = None
    if provider == "openai":
        base = api_base or os.environ.get("OPENAI_API_BASE") or os.environ.get("OPENAI_BASE_URL")
        return f"{(base or 'https://api.openai.com/v1').rstrip('/')}/models"
    if provider == "anthropic":
        base = api_base or os.environ.get("ANTHROPIC_API_BASE") or os.environ.get("ANTHROPIC_BASE_URL")
        return f"{(base or 'https://api.anthropic.com').rstrip('/')}/v1/models"
    if ollama.is_ollama(f"{provider}/"):
        return f"{ollama.server_base(api_base)}/api/tags"
    return None


def _headers(provider: str) -> dict[str, str]:
    """The key, so that a wrong one shows up here rather than at the first turn."""
    if provider == "openai" and os.environ.get("OPENAI_API_KEY"):
        return {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    if provider == "anthropic" and os.environ.get("ANTHROPIC_API_KEY"):
        return {"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01"}
    return {}


def _reach(context: DoctorContext, name: str, provider: str, models: list[str], url: str) -> CheckResult:
    import httpx

    listed = ", ".join(models)
    try:
        response = httpx.get(url, headers=_headers(provider), timeout=context.timeout)
    except httpx.HTTPError as exc:
        return CheckResult(
            name, FAIL, f"cannot reach {url}: {exc or type(exc).__name__}",
            "start Ollama (ollama serve), or point OLLAMA_API_BASE or the model's api_base at it"
            if provider.startswith("ollama")
            else f"check your network, or the api_base for {models[0]} ({DOCS})",
        )
    if response.status_code in (401, 403):
        variable = KEY_VARIABLES.get(provider) or "the API key"
        return CheckResult(name, FAIL, f"{url} rejected the key ({response.status_code})", f"check {variable}")
    if provider.startswith("ollama"):
        return _ollama_models_result(name, response, models, url)
    return CheckResult(name, OK, f"{listed}; {url} answers")


def _ollama_models_result(name: str, response: Any, models: list[str], url: str) -> CheckResult:
    """Reachable; and are the models pulled? (``/api/tags`` lists them.)"""
    try:
        tags = {m.get("name") for m in response.json().get("models", [])}
    except (ValueError, AttributeError, TypeError):
        tags = set()
    wanted = [ollama.model_tag(m) for m in models]
    missing = [t for t in wanted if t not in tags and f"{t}:latest" not in tags]
    if missing:
        return CheckResult(name, WARN, f"{url} answers; not pulled: {', '.join(missing)}", f"ollama pull {missing[0]}")
    return CheckResult(name, OK, f"{', '.join(models)}; {url} answers")


# ------------------------------------------------------------------- disk


def _size(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for file in files:
            try:
                total += os.lstat(os.path.join(folder, file)).st_size
            except OSError:
                pass
    return total


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def human(size: float) -> str:
    """Decimal units, as the rest of the docs ("the model is 1.1 GB")."""
    for unit in ("B", "kB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def check_disk(context: DoctorContext) -> Iterator[CheckResult]:
    cache = platformdirs.user_cache_path("chatpkg")
    state = context.root / ".chatpkg"
    free = shutil.disk_usage(_existing(cache)).free
    detail = f"model cache {human(_size(cache))} ({cache}); {state} {human(_size(state))}; {human(free)} free"
    if free < LOW_DISK:
        fix = f"free some space: below {human(LOW_DISK)}, models and test runs may not fit"
        yield CheckResult("disk", WARN, detail, fix)
    else:
        yield CheckResult("disk", OK, detail)


def check_sandbox(context: DoctorContext) -> Iterator[CheckResult]:
    """Whether model-written code runs in bubblewrap here, and where bwrap comes from."""
    confinement = choose(context.sandbox)
    if confinement.active:
        yield CheckResult("sandbox", OK, confinement.describe())
    elif context.sandbox == "off":
        yield CheckResult("sandbox", WARN, confinement.describe(), "drop --sandbox off to run tests in the sandbox")
    else:
        fix = ("on Linux, allow unprivileged user namespaces (e.g. sysctl kernel.unprivileged_userns_clone=1, or "
               "an AppArmor profile for bwrap on Ubuntu 24.04) or install the system's bubblewrap; "
               "README.md says what the sandbox protects")
        yield CheckResult("sandbox", WARN, confinement.describe(), fix)


CHECKS: list[Check] = [
    check_python,
    check_git,
    check_config_files,
    check_default_model,
    check_llama_cpp,
    check_embedded_model,
    check_providers,
    check_sandbox,
    check_disk,
]
