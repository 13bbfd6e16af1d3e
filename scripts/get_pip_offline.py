# Offline stand-in for pip's get-pip bootstrap that ansible-test downloads (its host is not
# reachable here). Installs the bundled pip with ensurepip, then lets that pip install what
# get-pip was asked for, from the machine's configured index.
# ensurepip blanks pip's configuration (PIP_CONFIG_FILE=/dev/null) in os.environ; undo that.
# get-pip's own flags (--no-setuptools, --no-wheel) mean "don't add those"; pip install lacks them.
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_BREAK_SYSTEM_PACKAGES"}
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
