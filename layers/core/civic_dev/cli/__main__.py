import sys

from civic_dev.cli import main

sys.exit(main())
