import sys

from showattend.cli import main

sys.exit(main())
