"""`vae explore --web`: the explorer in a browser, served by textual-serve; each tab runs an explorer of its own.

textual-serve starts ``python -m vae_tui.web …`` for every browser tab, with Textual's web driver on its pipes: that
process (:func:`main`) runs the explorer in cells, since images written to the terminal would break the driver's
stream, and exports go to the browser's downloads.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys
from functools import partial
from pathlib import Path

from vae_core.errors import VaeError

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
UNSPECIFIED = {"0.0.0.0", "::", ""}


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def explorer_command(checkpoint: Path | None, data_dir: Path | None) -> str:
    """The shell command textual-serve runs for each tab (absolute paths: its working directory is not ours)."""
    command = [sys.executable, "-m", "vae_tui.web"]
    if checkpoint is not None:
        command += ["--checkpoint", str(Path(checkpoint).resolve())]
    if data_dir is not None:
        command += ["--data-dir", str(Path(data_dir).resolve())]
    return shlex.join(command)


def serve(checkpoint: Path | None, data_dir: Path | None, host: str, port: int) -> None:
    """Serve the explorer on http://host:port until interrupted; a host others can reach gets a warning."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise VaeError("vae explore --web needs textual-serve: pip install 'vae-explorer[web]'") from None
    if not 1 <= port <= 65535:
        raise VaeError(f"--port must be between 1 and 65535, got {port}")
    # The page connects back to this address: a wildcard one would send every browser to its own machine.
    public_host = socket.gethostname() if host in UNSPECIFIED else host
    url = f"http://{f'[{public_host}]' if ':' in public_host else public_host}:{port}"
    if not is_loopback(host):
        print(f"warning: serving on {host}: anyone who can reach port {port} can use the explorer", file=sys.stderr)
    print(f"vae explore: open {url} in a browser (ctrl+c stops the server)", flush=True)
    Server(explorer_command(checkpoint, data_dir), host=host, port=port, title="vae explore", public_url=url).serve()


def main(argv: list[str] | None = None) -> None:
    """One browser tab's explorer (textual-serve runs this with the web driver)."""
    from vae_tui.app import ExplorerApp, open_for_exploring

    parser = argparse.ArgumentParser(prog="python -m vae_tui.web", description=main.__doc__)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    arguments = parser.parse_args(argv)
    app = ExplorerApp(partial(open_for_exploring, arguments.checkpoint, arguments.data_dir))
    app.run()
    if app.load_error is not None:
        sys.exit(f"error: {app.load_error}")


if __name__ == "__main__":
    main()
