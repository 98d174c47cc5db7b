"""``python -m harcopa_cli``: the ``harcopa`` command line."""

import sys

from harcopa_cli.main import main

sys.exit(main())
