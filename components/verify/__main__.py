"""`python -m components.verify ...` (`make verify`): components/verify/cli.py."""
import sys

from .cli import main

sys.exit(main())
