import sys

from localctl.cli import main

sys.exit(main())
