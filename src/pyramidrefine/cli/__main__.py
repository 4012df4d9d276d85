"""``python -m pyramidrefine.cli``: the ``pyramidrefine`` command (for launchers such as
``accelerate launch -m`` and ``torchrun -m``)."""

import sys

from .parser import main

sys.exit(main())
