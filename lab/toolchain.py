"""Where the real Pulumi binaries are, and the environment that keeps every run local.

`make pulumi` (tools/build-pulumi.sh) builds them into a cache outside the repository, unless a
`pulumi` is already on PATH. Every run the lab makes uses:

- PULUMI_BACKEND_URL=file://<dir>: state on local disk, no Pulumi Cloud;
- PULUMI_CONFIG_PASSPHRASE: the passphrase secrets provider (secrets encrypted in state and config);
- PULUMI_SKIP_UPDATE_CHECK, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: no call out, and a
  missing plugin is an immediate error instead of a download;
- PULUMI_HOME=<dir>: the plugin cache; the command provider is installed there with
  `pulumi plugin install resource command 1.2.1 --file ...`, so the CLI finds it at the version the
  SDK asks for, without the "using pulumi-resource-command from $PATH" warning;
- PULUMI_PYTHON_CMD=<repo>/tools/pulumi-python: the language host built here (sdk v3.68.0)
  takes the virtualenv as a command-line flag this CLI no longer passes, so it is told the
  interpreter: a wrapper that runs <repo>/.venv/bin/python.
  The wrapper also starts policy packs (`--policy-pack`): this CLI runs a Python pack through the
  language host's RunPlugin and names the pack only in ProgramInfo, a field the old host does not
  know, so the old host runs `python "" <engine address>`: the empty program is the project folder,
  i.e. the program's own __main__.py, not the pack. For that call (first argument empty, which no
  other call of the host makes) the wrapper runs the SDK's analyzer entry instead,
  `python -u -m pulumi.policy <engine address> <pack>`, from the pack's folder, as the CLI's
  fallback plugin `pulumi-analyzer-policy-python` would. The pack is ELMA365_POLICY_PACK when set,
  else the one `--policy-pack` of the `pulumi` command that started the host (read from /proc);
  with none or several it stops with an error rather than guess.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
COMMAND_VERSION = "1.2.1"
STAND_IN_PROVIDER = ROOT / "lab" / "bin" / "pulumi-resource-command"
PYTHON_WRAPPER = ROOT / "tools" / "pulumi-python"


class ToolchainMissing(RuntimeError):
    pass


@functools.lru_cache(maxsize=None)
def bin_dir() -> Path:
    """The folder of the `pulumi` binary: the one on PATH, else the cache `make pulumi` fills
    (asked once per process: every stack and check of a test run uses it)."""
    done = subprocess.run(["bash", str(ROOT / "tools" / "build-pulumi.sh"), "--bin-dir"],
                          capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def missing() -> Optional[str]:
    """Why the real engine cannot run here (None when it can)."""
    folder = bin_dir()
    if not (folder / "pulumi").exists():
        return f"no pulumi CLI in {folder} (run `make pulumi`)"
    if not ((folder / "pulumi-language-python").exists() or shutil.which("pulumi-language-python")):
        return f"no pulumi-language-python beside {folder / 'pulumi'} (run `make pulumi`)"
    return None


def real_provider() -> Optional[Path]:
    """pulumi-command's own plugin binary, when one was built or installed."""
    for candidate in (bin_dir() / "pulumi-resource-command", shutil.which("pulumi-resource-command")):
        if candidate and Path(candidate).exists() and Path(candidate).resolve() != STAND_IN_PROVIDER.resolve():
            return Path(candidate)
    return None


def environment(home: Path, backend: Path, passphrase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_") and k != "ELMA365_POLICY_PACK"}
    env.update({
        "PATH": f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}",
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": str(PYTHON_WRAPPER),
        "PULUMI_DEBUG_COMMANDS": "true",  # enables `--event-log`, which the lab reads its report from
        "NO_COLOR": "1",
    })
    return env


def install_provider(home: Path, env: dict[str, str]) -> str:
    """Put the command provider into PULUMI_HOME at the SDK's version; returns which one it is."""
    target = home / "plugins" / f"resource-command-v{COMMAND_VERSION}" / "pulumi-resource-command"
    real = real_provider()
    if real is not None:
        source, kind = real, f"pulumi-command {COMMAND_VERSION} ({real})"
    else:
        # the plugin cache keeps a copy of the file, so the copy must name the repository absolutely
        source = home / "stand-in-pulumi-resource-command"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"#!/bin/sh\nexec {STAND_IN_PROVIDER} \"$@\"\n")
        source.chmod(0o755)
        kind = "the lab's stand-in (lab/command_provider.py)"
    if not target.exists():
        subprocess.run(["pulumi", "plugin", "install", "resource", "command", COMMAND_VERSION, "--file", str(source)],
                       env=env, check=True, capture_output=True, text=True)
    return kind
