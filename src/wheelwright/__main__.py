import sys

from wheelwright.cli import main

sys.exit(main())
