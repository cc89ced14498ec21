"""vae_core is a library: importing it (and using it) brings no terminal framework along."""

import subprocess
import sys


def printed_by(code: str) -> str:
    """What ``code`` prints in a fresh interpreter: the modules loaded there are the ones it imported itself."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_vae_core_imports_no_terminal_code():
    code = (
        "import sys, vae_core, vae_core.training, vae_core.images, vae_core.atlas, vae_core.evaluation; "
        "print(sorted(m for m in ('textual', 'rich', 'typer') if m in sys.modules))"
    )
    assert printed_by(code) == "[]"


def test_importing_the_recipes_does_not_load_torch():
    code = "import sys, vae_core.recipes; print('torch' in sys.modules)"
    assert printed_by(code) == "False"


def test_evaluation_does_not_depend_on_the_training_loop():
    code = "import sys, vae_core.evaluation; print('vae_core.training' in sys.modules)"
    assert printed_by(code) == "False"


def test_importing_vae_core_alone_does_not_load_torch():
    code = "import sys, vae_core, vae_core.paths; print('torch' in sys.modules)"
    assert printed_by(code) == "False"


def test_the_explorer_draws_its_first_frame_before_importing_torch():
    # The app module and everything it imports at the top stay torch-free: torch (~1.5 s) loads in a worker.
    code = "import sys, vae_tui.app; print('torch' in sys.modules)"
    assert printed_by(code) == "False"
