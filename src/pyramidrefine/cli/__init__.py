"""The ``pyramidrefine`` command line: :mod:`.parser` builds the top-level parser and
dispatches to one module per command (:mod:`.train`, :mod:`.evaluate`, :mod:`.export`,
:mod:`.colorize`, :mod:`.predict`, :mod:`.models`, :mod:`.demo`); :mod:`.arguments` holds
what their parsers share and :mod:`.options` the options of every command. Building the
parser imports no torch: the commands import it when they run.
"""

from .parser import build_parser, main

__all__ = ["build_parser", "main"]
