"""``python -m deidengine.schemas``: regenerate docs/schemas/."""

import sys

from deidengine.schemas.generate import main

sys.exit(main())
