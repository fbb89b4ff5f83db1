"""Where the real Pulumi binaries are, and the environment that keeps every run local.

`make pulumi` (tools/build-pulumi.sh) builds them into a cache outside the repository, unless a
`pulumi` is already on PATH. Two variables put other pieces in (docs/dev/lab.md, "Which toolchain"):

- ELMA365_COMMAND_PROVIDER=<binary>: this `pulumi-resource-command` (pulumi-command's own plugin) is
  installed into every lab PULUMI_HOME instead of the lab's stand-in (lab/command_provider.py);
- ELMA365_LANGUAGE_HOST_DIR=<dir>: the folder of a current `pulumi-language-python` (with its
  `pulumi-language-python-exec`): the CLI finds it bundled beside itself, as in a user's install
  (a folder that holds a link of the CLI and of those two; see host_bin_dir()), and no
  PULUMI_PYTHON_CMD is set.

Every run the lab makes uses:

- PULUMI_BACKEND_URL=file://<dir>: state on local disk, no Pulumi Cloud;
- PULUMI_CONFIG_PASSPHRASE: the passphrase secrets provider (secrets encrypted in state and config);
- PULUMI_SKIP_UPDATE_CHECK, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: no call out, and a
  missing plugin is an immediate error instead of a download;
- PULUMI_HOME=<dir>: the plugin cache; the command provider is installed there with
  `pulumi plugin install resource command 1.2.1 --file ...`, so the CLI finds it at the version the
  SDK asks for, without the "using pulumi-resource-command from $PATH" warning;
- with the language host `make pulumi` builds (sdk v3.68.0, CI's) only:
  PULUMI_PYTHON_CMD=<repo>/tools/pulumi-python. That host takes the virtualenv as a command-line
  flag this CLI no longer passes, so it is told the interpreter: a wrapper that runs
  <repo>/.venv/bin/python.
  The wrapper also starts policy packs (`--policy-pack`): this CLI runs a Python pack through the
  language host's RunPlugin and names the pack only in ProgramInfo, a field the old host does not
  know, so the old host runs `python "" <engine address>`: the empty program is the project folder,
  i.e. the program's own __main__.py, not the pack. For that call (first argument empty, which no
  other call of the host makes) the wrapper runs the SDK's analyzer entry instead,
  `python -u -m pulumi.policy <engine address> <pack>`, from the pack's folder, as the CLI's
  fallback plugin `pulumi-analyzer-policy-python` would. The pack is ELMA365_POLICY_PACK when set,
  else the one `--policy-pack` of the `pulumi` command that started the host (read from /proc);
  with none or several it stops with an error rather than guess. A current host needs none of
  this: it reads the virtualenv from Pulumi.yaml / PulumiPolicy.yaml.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
COMMAND_VERSION = "1.2.1"
STAND_IN_PROVIDER = ROOT / "lab" / "bin" / "pulumi-resource-command"
PYTHON_WRAPPER = ROOT / "tools" / "pulumi-python"
PROVIDER_VARIABLE = "ELMA365_COMMAND_PROVIDER"
HOST_VARIABLE = "ELMA365_LANGUAGE_HOST_DIR"
HOST = "pulumi-language-python"
HOST_EXEC = "pulumi-language-python-exec"


class ToolchainMissing(RuntimeError):
    pass


@functools.lru_cache(maxsize=None)
def bin_dir() -> Path:
    """The folder of the `pulumi` binary: the one on PATH, else the cache `make pulumi` fills
    (asked once per process: every stack and check of a test run uses it)."""
    done = subprocess.run(["bash", str(ROOT / "tools" / "build-pulumi.sh"), "--bin-dir"],
                          capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def cache_dir() -> Path:
    """The cache tools/build-pulumi.sh builds into (outside the repository)."""
    if os.environ.get("ELMA365_CACHE"):
        return Path(os.environ["ELMA365_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "elma365-cluster"


def _given(variable: str) -> Optional[Path]:
    value = os.environ.get(variable, "")
    return Path(value).expanduser().resolve() if value else None


def given_provider() -> Optional[Path]:
    """ELMA365_COMMAND_PROVIDER: the pulumi-resource-command to test with (None: not set)."""
    return _given(PROVIDER_VARIABLE)


def given_host_dir() -> Optional[Path]:
    """ELMA365_LANGUAGE_HOST_DIR: the folder of the language host to test with (None: not set)."""
    return _given(HOST_VARIABLE)


def missing() -> Optional[str]:
    """Why the real engine cannot run here (None when it can)."""
    folder = bin_dir()
    if not (folder / "pulumi").exists():
        return f"no pulumi CLI in {folder} (run `make pulumi`)"
    provider, host_dir = given_provider(), given_host_dir()
    if provider is not None and not os.access(provider, os.X_OK):
        return f"{PROVIDER_VARIABLE}={provider} is not an executable file"
    if host_dir is not None:
        for name in (HOST, HOST_EXEC):
            if not os.access(host_dir / name, os.X_OK):
                return f"{HOST_VARIABLE}={host_dir} has no executable {name}"
    elif not ((folder / HOST).exists() or shutil.which(HOST)):
        return f"no {HOST} beside {folder / 'pulumi'} (run `make pulumi`)"
    return None


def real_provider() -> Optional[Path]:
    """pulumi-command's own plugin binary: ELMA365_COMMAND_PROVIDER, else one `make pulumi` built
    or one on PATH; None means the lab's stand-in."""
    given = given_provider()
    if given is not None:
        return given
    for candidate in (bin_dir() / "pulumi-resource-command", shutil.which("pulumi-resource-command")):
        if candidate and Path(candidate).exists() and Path(candidate).resolve() != STAND_IN_PROVIDER.resolve():
            return Path(candidate)
    return None


def uses_wrapper() -> bool:
    """True with CI's old language host, which needs tools/pulumi-python (see the docstring)."""
    return given_host_dir() is None


@functools.lru_cache(maxsize=None)
def cli_dir() -> Path:
    """The folder whose `pulumi` every run starts, with the language host the CLI finds bundled
    beside it. Without ELMA365_LANGUAGE_HOST_DIR that is bin_dir(). With it, a folder of
    its own (in the cache beside bin_dir's) holding a hard link (else a copy) of the CLI and links
    to the host and its executor: the CLI looks for a bundled host next to its own resolved
    executable (sdk/go/common/workspace/plugins.go, getPluginInfoAndPath), so a symbolic link of
    `pulumi` would lead it back to bin_dir's old host; and with this folder alone on PATH the
    host found on PATH is that same file, so the CLI prints no "using ... from $PATH" warning."""
    host_dir = given_host_dir()
    if host_dir is None:
        return bin_dir()
    cli = (bin_dir() / "pulumi").resolve()
    stat = cli.stat()
    key = hashlib.sha256(f"{cli}:{stat.st_size}:{stat.st_mtime_ns}:{host_dir}".encode()).hexdigest()[:16]
    folder = cache_dir() / "toolchains" / key
    if (folder / "pulumi").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
    work.chmod(0o755)
    try:
        try:
            os.link(cli, work / "pulumi")
        except OSError:
            shutil.copy2(cli, work / "pulumi")
        for name in (HOST, HOST_EXEC):
            (work / name).symlink_to(host_dir / name)
        os.rename(work, folder)  # whole or not at all; a parallel run may have made it first
    except OSError:
        if not (folder / "pulumi").exists():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _host_version(host: Path) -> str:
    done = subprocess.run([str(host), "--version"], capture_output=True, text=True)
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    stamp = host.parent / f".{HOST}.stamp"  # tools/build-pulumi.sh records its -ldflags
    found = re.search(r"Version=(\S+)", stamp.read_text()) if stamp.exists() else None
    return found.group(1) if found else "version unknown"


@functools.lru_cache(maxsize=None)
def describe() -> str:
    """One line: which CLI, command provider and language host the lab's runs use."""
    cli = cli_dir() / "pulumi"
    version = subprocess.run([str(cli), "version"], capture_output=True, text=True).stdout.strip()
    provider = real_provider()
    provider_text = (f"pulumi-command's {provider}" if provider is not None
                     else "the lab's stand-in (lab/command_provider.py)")
    host = cli_dir() / HOST
    host_text = f"{host.resolve()} {_host_version(host.resolve())}"
    how = f" through PULUMI_PYTHON_CMD={PYTHON_WRAPPER.relative_to(ROOT)}" if uses_wrapper() else ", bundled beside the CLI"
    return (f"pulumi CLI {version} ({bin_dir() / 'pulumi'}); command provider {COMMAND_VERSION}: {provider_text}; "
            f"language host: {host_text}{how}")


def environment(home: Path, backend: Path, passphrase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_") and k != "ELMA365_POLICY_PACK"}
    env.update({
        "PATH": f"{cli_dir()}{os.pathsep}{env.get('PATH', '')}",
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_DEBUG_COMMANDS": "true",  # enables `--event-log`, which the lab reads its report from
        "NO_COLOR": "1",
    })
    if uses_wrapper():
        env["PULUMI_PYTHON_CMD"] = str(PYTHON_WRAPPER)
    return env


def install_provider(home: Path, env: dict[str, str], provider: Optional[Path] = None) -> str:
    """Put the command provider into PULUMI_HOME at the SDK's version; returns which one it is.
    `provider`: a pulumi-resource-command, or STAND_IN_PROVIDER; None: real_provider(), else the
    stand-in. A PULUMI_HOME used before with another provider gets this one instead."""
    target = home / "plugins" / f"resource-command-v{COMMAND_VERSION}" / "pulumi-resource-command"
    real = real_provider() if provider is None else provider
    if real is not None and Path(real).resolve() == STAND_IN_PROVIDER.resolve():
        real = None
    if real is not None:
        source, kind = real, f"pulumi-command {COMMAND_VERSION} ({real})"
    else:
        # the plugin cache keeps a copy of the file, so the copy must name the repository absolutely
        source = home / "stand-in-pulumi-resource-command"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"#!/bin/sh\nexec {STAND_IN_PROVIDER} \"$@\"\n")
        source.chmod(0o755)
        kind = "the lab's stand-in (lab/command_provider.py)"
    marker = home / ".elma365-command-provider"
    if not target.exists() or not marker.exists() or marker.read_text() != str(source):
        subprocess.run(["pulumi", "plugin", "install", "resource", "command", COMMAND_VERSION, "--file", str(source),
                        "--reinstall"], env=env, check=True, capture_output=True, text=True)
        marker.write_text(str(source))
    return kind
