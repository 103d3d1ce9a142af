"""``python -m tenant_entrypoints.cli``, as the tests and the bench run it."""

import sys

from tenant_entrypoints.cli import main

sys.exit(main())
